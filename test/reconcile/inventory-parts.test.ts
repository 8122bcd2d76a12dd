// Inventories beyond the ~15,000 entries one ConfigMap holds: stored in parts of a generation that a small
// head names, so a crash between part writes leaves the previous generation authoritative (and prune works
// from it), stale parts are emptied, and a part that is missing or not the one written fails the read.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { KubeObject, ObjectRef } from "../../src/cluster/client.js";
import { API_VERSION } from "../../src/config/types.js";
import { CrdStateStore } from "../../src/reconcile/cluster-config.js";
import {
  INVENTORY_PARTS_KEY,
  InventoryUnreadableError,
  inventoryFromConfigMap,
} from "../../src/reconcile/inventory.js";
import { GENERATION_ANNOTATION, PART_LABEL, partName } from "../../src/reconcile/inventory-parts.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { configMap, installCrds, startWorld, randomInventory, type World } from "./harness.js";

let w: World;
const NS = "gitward-system";

const cmRef = (name: string, namespace = NS): ObjectRef => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace,
  name,
});

/** The parts in `namespace` that hold data, by name. */
async function liveParts(namespace = NS): Promise<string[]> {
  const all = await w.admin.list("v1", "ConfigMap", { namespace, labelSelector: `${PART_LABEL}=true` });
  return all
    .filter((cm) => Object.keys((cm["binaryData"] as object | undefined) ?? {}).length > 0)
    .map((cm) => cm.metadata.name)
    .sort();
}

/** Makes the operator's apply of the `nth` part ConfigMap (1-based) from now on fail, as a crash would. */
function failPartWrite(nth: number): { restore: () => void } {
  const original = w.operator.apply.bind(w.operator);
  let writes = 0;
  const spy = vi.spyOn(w.operator, "apply").mockImplementation(async (obj, opts) => {
    if (obj.kind === "ConfigMap" && obj.metadata.labels?.[PART_LABEL] === "true" && obj["binaryData"]) {
      writes++;
      if (writes === nth) throw new Error(`injected: the operator died writing ${obj.metadata.name}`);
    }
    return original(obj, opts);
  });
  return {
    restore: () => {
      spy.mockRestore();
    },
  };
}

beforeAll(async () => {
  w = await startWorld();
  await installCrds(w.admin);
});

afterAll(async () => {
  await w.stop();
});

describe("an inventory of more than 15,000 entries", () => {
  it("round-trips in parts, in both state stores, and shrinks back to one ConfigMap", async () => {
    const id = { namespace: NS, name: "huge" };
    const big = randomInventory(40_000);
    const status = { lastAppliedRevision: "b".repeat(40), objectsApplied: big.length };
    await new ConfigMapStateStore(w.operator).save(id, { status, inventory: big });
    const loaded = await new ConfigMapStateStore(w.operator).load(id);
    expect(loaded?.inventory).toEqual(big);
    expect(loaded?.status).toEqual(status);
    const head = (await w.admin.get(cmRef("gitward-app-huge"))) as KubeObject;
    expect(head["binaryData"]).toBeUndefined();
    const pointer = JSON.parse((head["data"] as Record<string, string>)[INVENTORY_PARTS_KEY] ?? "") as {
      generation: number;
      parts: string[];
    };
    expect(pointer.parts.length).toBeGreaterThanOrEqual(2);
    expect(() => inventoryFromConfigMap(head)).toThrow(InventoryUnreadableError);
    const slot = pointer.generation % 2;
    expect(await liveParts()).toEqual(
      pointer.parts.map((_, i) => partName("gitward-app-huge", slot, i)).sort(),
    );

    // The next generation goes to the other slot; the previous one's parts are emptied after.
    const bigger = [...big, ...randomInventory(10_000, { from: 40_000 })];
    await new ConfigMapStateStore(w.operator).save(id, { status, inventory: bigger });
    expect((await new ConfigMapStateStore(w.operator).load(id))?.inventory).toEqual(bigger);
    expect((await liveParts()).every((n) => n.startsWith(`gitward-app-huge-part-${1 - slot}-`))).toBe(true);

    // Small again: inline in the head, no part holds anything.
    const small = randomInventory(10);
    await new ConfigMapStateStore(w.operator).save(id, { status, inventory: small });
    expect((await new ConfigMapStateStore(w.operator).load(id))?.inventory).toEqual(small);
    expect(await liveParts()).toEqual([]);

    // The CRD store: parts owned by the Application, so they go with it.
    await w.admin.apply({
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "huge", namespace: NS },
      spec: w.app().spec,
    });
    const crd = new CrdStateStore(w.operator, NS);
    await crd.save(id, { status, inventory: big });
    expect((await new CrdStateStore(w.operator, NS).load(id))?.inventory).toEqual(big);
    expect((await crd.load(id))?.inventory).toEqual(big);
    const parts = await w.admin.list("v1", "ConfigMap", {
      namespace: NS,
      labelSelector: `${PART_LABEL}=true`,
    });
    const owned = parts.filter((p) => p.metadata.name.startsWith("gitward-inventory-huge-part-"));
    expect(owned.length).toBeGreaterThanOrEqual(2);
    for (const p of owned) expect(p.metadata.ownerReferences).toMatchObject([{ name: "huge" }]);
  }, 60_000);

  it("a crash between part writes leaves the previous generation authoritative", async () => {
    const id = { namespace: NS, name: "crash" };
    const store = () => new ConfigMapStateStore(w.operator, { partBytes: 64 * 1024 });
    const first = randomInventory(8_000);
    await store().save(id, { status: { objectsApplied: 1 }, inventory: first });
    const before = await w.admin.get(cmRef("gitward-app-crash"));
    const partsBefore = await liveParts();
    expect(partsBefore.length).toBeGreaterThan(2);

    for (const nth of [1, 2, 3]) {
      const fault = failPartWrite(nth);
      try {
        await expect(
          store().save(id, { status: {}, inventory: randomInventory(9_000, { from: 100 }) }),
        ).rejects.toThrow(/injected/);
      } finally {
        fault.restore();
      }
      // The head was not touched and still names the first generation, whose parts are whole.
      const head = await w.admin.get(cmRef("gitward-app-crash"));
      expect(head?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
      expect((await store().load(id))?.inventory).toEqual(first);
    }

    // The next write that completes wins, and what the crashed ones left is emptied.
    const next = randomInventory(5_000, { from: 20_000 });
    await store().save(id, { status: {}, inventory: next });
    expect((await store().load(id))?.inventory).toEqual(next);
    const nextHead = await w.admin.get(cmRef("gitward-app-crash"));
    const parts = Number(nextHead?.metadata.annotations?.["gitward.dev/inventory-parts"]);
    const generation = Number(nextHead?.metadata.annotations?.[GENERATION_ANNOTATION]);
    expect((await liveParts()).filter((n) => n.startsWith("gitward-app-crash-"))).toEqual(
      Array.from({ length: parts }, (_, i) => partName("gitward-app-crash", generation % 2, i)).sort(),
    );
  }, 60_000);

  it("a part that is missing or not the one written fails the read, never a shorter inventory", async () => {
    const id = { namespace: NS, name: "tampered" };
    const store = () => new ConfigMapStateStore(w.operator, { partBytes: 32 * 1024 });
    await store().save(id, { status: {}, inventory: randomInventory(3_000) });
    const head = await w.admin.get(cmRef("gitward-app-tampered"));
    const slot = Number(head?.metadata.annotations?.[GENERATION_ANNOTATION]) % 2;
    const victim = partName("gitward-app-tampered", slot, 1);
    await w.admin.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: victim, namespace: NS },
        binaryData: { part: Buffer.from("not the part").toString("base64") },
      },
      { force: true },
    );
    await expect(store().load(id)).rejects.toThrow(
      new RegExp(`part ${victim} of generation \\d+ is not the one written`),
    );
    await w.admin.delete(cmRef(victim));
    await expect(store().load(id)).rejects.toThrow(InventoryUnreadableError);
  });
});

describe("a reconcile whose inventory is in parts", () => {
  it("a crash writing the parts prunes nothing wrongly, and the next reconcile converges", async () => {
    // Small parts, so 150 objects need several of them.
    const state = new ConfigMapStateStore(w.operator, { partBytes: 2048 });
    const files = (from: number, to: number) =>
      Object.fromEntries(
        Array.from({ length: to - from }, (_, i) => [
          `apps/shop/cm-${from + i}.yaml`,
          configMap(`cm-${from + i}`, { n: String(from + i) }),
        ]),
      );
    const id = { namespace: NS, name: "shop" };
    await w.commit(files(0, 150));
    const r1 = await w.reconcile(w.app(), { state });
    expect(r1.result, r1.message).toBe("applied");
    expect((await state.load(id))?.inventory).toHaveLength(150);
    const head1 = await w.admin.get(cmRef("gitward-app-shop"));
    expect(Number(head1?.metadata.annotations?.["gitward.dev/inventory-parts"])).toBeGreaterThan(1);

    // The next revision drops 0..49 and adds 150..199; the operator dies in the write-ahead inventory.
    const next = files(50, 200);
    const removed = Object.fromEntries(Object.keys(files(0, 50)).map((f) => [f, null]));
    await w.commit({ ...next, ...removed });
    const live = async () =>
      (await w.admin.list("v1", "ConfigMap", { namespace: "shop" }))
        .map((c) => c.metadata.name)
        .filter((n) => n.startsWith("cm-"))
        .sort();
    const fault = failPartWrite(2);
    try {
      const r2 = await w.reconcile(w.app(), {
        state: new ConfigMapStateStore(w.operator, { partBytes: 2048 }),
      });
      expect(r2.result).toBe("failed");
      expect(r2.pruned).toEqual([]);
    } finally {
      fault.restore();
    }
    const names = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `cm-${from + i}`).sort();
    expect(await live()).toEqual(names(0, 150));
    // The inventory lists at least every object there is (it may list, ahead, some not applied yet).
    const listed = new Set((await state.load(id))?.inventory.map((e) => e.name));
    expect(names(0, 150).filter((n) => !listed.has(n))).toEqual([]);

    // The same revision again, with no fault: it converges; what the failed run applied is kept, the
    // dropped objects (in the old inventory) are pruned.
    const r3 = await w.reconcile(w.app(), {
      state: new ConfigMapStateStore(w.operator, { partBytes: 2048 }),
    });
    expect(r3.result, r3.message).toBe("applied");
    expect(await live()).toEqual(names(50, 200));
    expect([...r3.pruned].sort()).toHaveLength(50);

    // Dying in the last inventory write (after the apply; nothing new, so no write-ahead one).
    await w.commit({ "apps/shop/cm-199.yaml": configMap("cm-199", { n: "changed" }) });
    const fault2 = failPartWrite(1);
    try {
      const r4 = await w
        .reconcile(w.app(), { state: new ConfigMapStateStore(w.operator, { partBytes: 2048 }) })
        .catch((e: unknown) => ({ result: "failed", message: String(e), pruned: [] }));
      expect(r4.result).toBe("failed");
      expect(r4.pruned).toEqual([]);
    } finally {
      fault2.restore();
    }
    expect(await live()).toEqual(names(50, 200));
    const r5 = await w.reconcile(w.app(), { state });
    expect(r5.result, r5.message).toMatch(/applied|unchanged/);
    expect(r5.pruned).toEqual([]);
    expect(await live()).toEqual(names(50, 200));
    expect((await state.load(id))?.inventory.map((e) => e.name).sort()).toEqual(names(50, 200));
  }, 60_000);
});
