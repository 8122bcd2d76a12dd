// Inventories of many objects against the 1 MiB a ConfigMap holds (kube-apiserver's limit, enforced by
// the sandbox): stored packed (gzip in binaryData) so 12,000 entries fit, earlier unpacked ones still read,
// a gzip bomb refused, and a revision whose inventory would not fit (even in parts, inventory-parts.ts)
// refused before anything is written.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { KubeObject } from "../../src/cluster/client.js";
import { ClusterError } from "../../src/cluster/errors.js";
import { API_VERSION } from "../../src/config/types.js";
import { CrdStateStore } from "../../src/reconcile/cluster-config.js";
import {
  inventoryFromConfigMap,
  InventoryTooLargeError,
  packInventory,
  PACKED_INVENTORY_KEY,
} from "../../src/reconcile/inventory.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { installCrds, startWorld, randomInventory, type World } from "./harness.js";

let w: World;
const NS = "gitward-system";

/** Entries as the reconcile records them: random uids and sha256 hashes, names of `nameLength`. */
const cmRef = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name });

beforeAll(async () => {
  w = await startWorld();
  await installCrds(w.admin);
});

afterAll(async () => {
  await w.stop();
});

describe("the 1 MiB a ConfigMap holds", () => {
  it("is enforced: 12,000 entries unpacked are refused by the API server, as kube-apiserver does", async () => {
    const big: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "unpacked", namespace: NS },
      data: { "inventory.json": JSON.stringify(randomInventory(12_000)) },
    };
    const err = (await w.admin.apply(big).catch((e: unknown) => e)) as ClusterError;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.status).toBe(422);
    expect(err.message).toContain("Too long: must have at most 1048576 bytes");
    expect(await w.admin.get(cmRef("unpacked"))).toBeUndefined();
    // Exactly 1 MiB of values is allowed; binaryData counts decoded.
    const edge: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "edge", namespace: NS },
      data: { a: "x".repeat(512 * 1024) },
      binaryData: { b: Buffer.alloc(512 * 1024).toString("base64") },
    };
    await expect(w.admin.apply(edge)).resolves.toMatchObject({ metadata: { name: "edge" } });
    const over = { ...edge, data: { a: "x".repeat(512 * 1024 + 1) } };
    await expect(w.admin.apply(over)).rejects.toMatchObject({ status: 422 });
  });

  it("a 12,000-entry inventory fits packed, in both state stores, and reads back the same", async () => {
    const inventory = randomInventory(12_000);
    const status = { lastAppliedRevision: "a".repeat(40), objectsApplied: inventory.length };
    const plain = new ConfigMapStateStore(w.operator);
    const id = { namespace: NS, name: "many" };
    await plain.save(id, { status, inventory });
    expect((await new ConfigMapStateStore(w.admin).load(id))?.inventory).toEqual(inventory);
    const cm = await w.admin.get(cmRef("gitward-app-many"));
    expect(Object.keys(cm?.["binaryData"] as object)).toEqual([PACKED_INVENTORY_KEY]);
    expect(Object.keys(cm?.["data"] as object)).toEqual(["status.json"]);

    await w.admin.apply({
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "many", namespace: NS },
      spec: w.app().spec,
    });
    const crd = new CrdStateStore(w.operator, NS);
    await crd.save(id, { status, inventory });
    expect((await crd.load(id))?.inventory).toEqual(inventory);

    // Read again by version: the inventory ConfigMap only by a metadata-only read while nobody wrote it.
    const get = vi.spyOn(w.operator, "get");
    try {
      expect((await new CrdStateStore(w.operator, NS).load(id))?.inventory).toEqual(inventory);
      get.mockClear();
      expect((await crd.load(id))?.inventory).toEqual(inventory);
      const inventoryReads = () =>
        get.mock.calls.filter(([r]) => r.kind === "ConfigMap").map(([, o]) => o?.metadataOnly === true);
      expect(inventoryReads()).toEqual([true]);
      // Someone else writes it: read in full again, and what they wrote is what is loaded.
      await w.admin.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "gitward-inventory-many", namespace: NS },
        binaryData: { [PACKED_INVENTORY_KEY]: packInventory(inventory.slice(0, 5)) },
      });
      get.mockClear();
      expect((await crd.load(id))?.inventory).toEqual(inventory.slice(0, 5));
      expect(inventoryReads()).toEqual([true, false]);
    } finally {
      get.mockRestore();
    }
  });

  it("reads an inventory an earlier version wrote unpacked, and drops that key on the next save", async () => {
    const old = randomInventory(3);
    await w.admin.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "gitward-app-legacy", namespace: NS, labels: { "gitward.dev/state": "true" } },
        data: { "status.json": "{}", "inventory.json": JSON.stringify(old) },
      },
      { force: true },
    );
    // Written by the same field manager as gitward's own saves, as the earlier version did.
    const store = new ConfigMapStateStore(w.operator);
    const id = { namespace: NS, name: "legacy" };
    expect((await store.load(id))?.inventory).toEqual(old);
    await store.save(id, { status: {}, inventory: old.slice(0, 2) });
    const cm = await w.admin.get(cmRef("gitward-app-legacy"));
    expect(cm?.["data"]).toEqual({ "status.json": "{}" });
    expect(inventoryFromConfigMap(cm)).toEqual(old.slice(0, 2));
  });

  it("refuses to pack what would not fit, and unpacks no gzip bomb", () => {
    expect(() => packInventory(randomInventory(20_000, { nameLength: 200 }))).toThrow(InventoryTooLargeError);
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024)).toString("base64");
    expect(inventoryFromConfigMap({ binaryData: { [PACKED_INVENTORY_KEY]: bomb } })).toEqual([]);
    expect(inventoryFromConfigMap({ binaryData: { [PACKED_INVENTORY_KEY]: "not gzip" } })).toEqual([]);
  });
});

describe("a revision whose inventory would not fit", () => {
  it("is refused before anything is written, naming the limit", async () => {
    const before = await w.snapshot();
    // Parts of 4 KiB (16 of them at most) and long random names, about 200 bytes an entry packed: 600
    // objects need more than the 64 KiB those parts hold (with the default parts, ~15 MiB).
    const docs = randomInventory(600, { nameLength: 200 }).map(
      (e) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${e.name}\ndata:\n  a: "1"\n`,
    );
    await w.commit({ "apps/shop/many.yaml": docs.join("---\n") });
    const r = await w.reconcile(w.app(), { state: new ConfigMapStateStore(w.operator, { partBytes: 4096 }) });
    expect(r.result, r.message).toBe("refused");
    expect(r.reason, r.message).toBe("INVENTORY_TOO_LARGE");
    expect(r.message).toMatch(
      /the inventory of 600 objects takes \d+ bytes packed, more than its parts hold \(64224\)/,
    );
    expect(r.message).toContain("nothing was applied");
    expect(r.applied).toEqual([]);
    expect(await w.snapshot()).toBe(before);
  }, 60_000);
});
