// The operator's no-op plan: objects whose uid and resourceVersion are those last seen holding what git
// says are known unchanged from a metadata-only list. What must still be caught, over HTTPS against the
// sandbox: a change by another manager, a recreated object (new uid), many changed objects at once (one
// full list instead of a read each), and a change that does not touch what git sets.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { KubeObject } from "../../src/cluster/client.js";
import { LiveVersions, noteVersion, type SeenVersion } from "../../src/reconcile/apply.js";
import { OWNER_LABEL } from "../../src/reconcile/inventory.js";
import type { ReconcileEnv } from "../../src/reconcile/reconcile.js";
import { RevisionCache } from "../../src/reconcile/revision-cache.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { CredentialsCache, SealingKeyCache } from "../../src/reconcile/run-config.js";
import { ConfigError } from "../../src/config/errors.js";
import { generateSealingKey, sealingKeyToSecret, type SealingKeyRing } from "../../src/secrets/keys.js";
import type { SourceCredentials } from "../../src/source/fetch.js";
import { configMap, startWorld, type World } from "./harness.js";

const N = 30;
let w: World;
let env: Partial<ReconcileEnv>;
let versions: LiveVersions;

const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name });
const names = Array.from({ length: N }, (_, i) => `cm-${i}`);
const app = () => w.app({ drift: "revert" });

/** The plan's reads during one reconcile: lists (full or metadata only) and single reads. */
async function reads(run: () => Promise<unknown>) {
  const list = vi.spyOn(w.operator, "list");
  const get = vi.spyOn(w.operator, "get");
  try {
    await run();
    const configMapLists = list.mock.calls.filter(([, kind]) => kind === "ConfigMap");
    return {
      metadataLists: configMapLists.filter(([, , o]) => o?.metadataOnly === true).length,
      fullLists: configMapLists.filter(([, , o]) => o?.metadataOnly !== true).length,
      gets: get.mock.calls.filter(([r]) => r.kind === "ConfigMap" && r.namespace === "shop").length,
    };
  } finally {
    list.mockRestore();
    get.mockRestore();
  }
}

beforeAll(async () => {
  w = await startWorld();
  const files: Record<string, string> = {};
  for (const n of names) files[`apps/shop/${n}.yaml`] = configMap(n, { value: n });
  await w.commit(files);
  versions = new LiveVersions();
  env = { liveVersions: versions, revisionCache: new RevisionCache() };
  const first = await w.reconcile(app(), env);
  expect(first.result).toBe("applied");
  expect(first.applied).toHaveLength(N);
});

afterAll(async () => {
  await w.stop();
});

describe("remembered resourceVersions", () => {
  it("a no-op after the apply reads metadata only: no object content", async () => {
    const seen = versions.forApp({ namespace: "gitward-system", name: "shop" });
    expect(seen.size).toBe(N);
    let r: Awaited<ReturnType<World["reconcile"]>> | undefined;
    const counted = await reads(async () => {
      r = await w.reconcile(app(), env);
    });
    expect(r?.result).toBe("unchanged");
    expect(r?.unchanged).toBe(N);
    expect(counted).toEqual({ metadataLists: 1, fullLists: 0, gets: 0 });
  });

  it("a change by another manager is found and put back, though its old version was remembered", async () => {
    await w.admin.mergePatch(ref("cm-3"), { data: { value: "tampered" } });
    let r: Awaited<ReturnType<World["reconcile"]>> | undefined;
    const counted = await reads(async () => {
      r = await w.reconcile(app(), env);
    });
    expect(r?.result).toBe("applied");
    expect(r?.applied).toEqual(["ConfigMap shop/cm-3"]);
    expect(r?.drift.map((d) => [d.object.name, d.fields])).toEqual([["cm-3", ["data.value"]]]);
    // One object's version moved: it alone is read in full.
    expect(counted).toEqual({ metadataLists: 1, fullLists: 0, gets: 1 });
    expect((await w.admin.get(ref("cm-3")))?.["data"]).toEqual({ value: "cm-3" });
  });

  it("an object deleted and made again with the same content and label is re-applied (new uid)", async () => {
    const old = (await w.admin.get(ref("cm-5"))) as KubeObject;
    await w.admin.delete(ref("cm-5"));
    await w.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm-5", namespace: "shop", labels: { ...old.metadata.labels } },
      data: { value: "cm-5" },
    });
    const r = await w.reconcile(app(), env);
    expect(r.result).toBe("applied");
    expect(r.applied).toEqual(["ConfigMap shop/cm-5"]);
    const now = await w.admin.get(ref("cm-5"));
    const managers = (now?.metadata["managedFields"] as { manager: string }[]).map((m) => m.manager);
    expect(managers).toContain("gitward");
  });

  it("many objects with new versions: one full list, and unchanged when what git sets still holds", async () => {
    for (const n of names) await w.admin.mergePatch(ref(n), { metadata: { labels: { touched: "yes" } } });
    let r: Awaited<ReturnType<World["reconcile"]>> | undefined;
    const counted = await reads(async () => {
      r = await w.reconcile(app(), env);
    });
    expect(r?.result).toBe("unchanged");
    expect(counted).toEqual({ metadataLists: 1, fullLists: 1, gets: 0 });
    // The new versions are remembered: the next pass is metadata only again.
    const again = await reads(async () => {
      expect((await w.reconcile(app(), env)).result).toBe("unchanged");
    });
    expect(again).toEqual({ metadataLists: 1, fullLists: 0, gets: 0 });
    const live = await w.admin.get(ref("cm-0"));
    expect(live?.metadata.labels?.[OWNER_LABEL]).toBe("gitward-system.shop");
  });

  it("the metadata list carries no content, and is named by the listed kind", async () => {
    const items = await w.admin.list("v1", "ConfigMap", { namespace: "shop", metadataOnly: true });
    expect(items).toHaveLength(N);
    for (const item of items) {
      expect(item.kind).toBe("ConfigMap");
      expect(item.apiVersion).toBe("v1");
      expect(item["data"]).toBeUndefined();
      expect(item.metadata.resourceVersion).toMatch(/^\d+$/);
    }
  });
});

describe("the state ConfigMap, read by version", () => {
  const id = { namespace: "gitward-system", name: "shop" };
  const stateRef = {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "gitward-system",
    name: "gitward-app-shop",
  };

  it("is read in full once, then by a metadata-only read while its version holds; a change by anyone is read", async () => {
    const store = new ConfigMapStateStore(w.operator);
    const get = vi.spyOn(w.operator, "get");
    try {
      const first = await store.load(id);
      expect(first?.inventory).toHaveLength(N);
      const second = await store.load(id);
      expect(second).toEqual(first);
      expect(get.mock.calls.map(([, o]) => o?.metadataOnly === true)).toEqual([false, true]);
      // What is handed out is frozen: a caller cannot change the remembered copy by mistake.
      expect(() => (second?.inventory as unknown[]).push({})).toThrow(TypeError);

      // Someone else writes the ConfigMap: its version moves and the new content is read.
      const live = (await w.admin.get(stateRef)) as KubeObject;
      const data = live["data"] as Record<string, string>;
      const status = JSON.parse(data["status.json"] ?? "{}") as Record<string, unknown>;
      await w.admin.mergePatch(stateRef, {
        data: { "status.json": JSON.stringify({ ...status, lastAppliedSigner: "someone-else" }) },
      });
      get.mockClear();
      const third = await store.load(id);
      expect(third?.status.lastAppliedSigner).toBe("someone-else");
      expect(get.mock.calls.map(([, o]) => o?.metadataOnly === true)).toEqual([true, false]);

      // Its own write is remembered with the version the server gave it.
      await store.save(id, {
        status: { ...third?.status, lastAppliedSigner: "platform" },
        inventory: third?.inventory ?? [],
      });
      get.mockClear();
      expect((await store.load(id))?.status.lastAppliedSigner).toBe("platform");
      expect(get.mock.calls.map(([, o]) => o?.metadataOnly === true)).toEqual([true]);
      expect((await new ConfigMapStateStore(w.admin).load(id))?.status.lastAppliedSigner).toBe("platform");
    } finally {
      get.mockRestore();
    }
  });
});

describe("the operator's sealing keys and git credentials, read by version", () => {
  /** Which reads `run` made as gitward: full (false) or metadata only (true), lists and gets alike. */
  async function kinds(run: () => Promise<unknown>): Promise<boolean[]> {
    const list = vi.spyOn(w.operator, "list");
    const get = vi.spyOn(w.operator, "get");
    try {
      await run();
      return [
        ...list.mock.calls.map(([, , o]) => o?.metadataOnly === true),
        ...get.mock.calls.map(([, o]) => o?.metadataOnly === true),
      ];
    } finally {
      list.mockRestore();
      get.mockRestore();
    }
  }

  it("keys: parsed again only when a key Secret is added, changed or removed", async () => {
    const cache = new SealingKeyCache(w.operator, "gitward-system");
    const [a, b] = await Promise.all([
      generateSealingKey({ modulusLength: 2048 }),
      generateSealingKey({ modulusLength: 2048 }),
    ]);
    const secretA = sealingKeyToSecret(a, "gitward-system") as unknown as KubeObject;
    await w.admin.create(secretA);
    expect((await cache.ring()).keys.map((k) => k.fingerprint)).toEqual([a.fingerprint]);
    let ring: SealingKeyRing | undefined;
    expect(await kinds(async () => (ring = await cache.ring()))).toEqual([true]);
    expect(ring?.keys).toHaveLength(1);

    await w.admin.create(sealingKeyToSecret(b, "gitward-system") as unknown as KubeObject);
    expect(await kinds(async () => (ring = await cache.ring()))).toEqual([true, false]);
    expect(ring?.keys.map((k) => k.fingerprint).sort()).toEqual([a.fingerprint, b.fingerprint].sort());

    // A write to a key Secret (here a label) moves its version: read again.
    const refA = {
      apiVersion: "v1",
      kind: "Secret",
      namespace: "gitward-system",
      name: secretA.metadata.name,
    };
    await w.admin.mergePatch(refA, { metadata: { labels: { note: "touched" } } });
    expect(await kinds(() => cache.ring())).toEqual([true, false]);
    await w.admin.delete(refA);
    expect(await kinds(async () => (ring = await cache.ring()))).toEqual([true, false]);
    expect(ring?.keys.map((k) => k.fingerprint)).toEqual([b.fingerprint]);
  });

  it("credentials: read again when the Secret changes, refused when it is gone", async () => {
    const cache = new CredentialsCache(w.operator);
    const secretRef = { apiVersion: "v1", kind: "Secret", namespace: "gitward-system", name: "git-creds" };
    const token = (t: string) => ({ token: Buffer.from(t).toString("base64") });
    await w.admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "git-creds", namespace: "gitward-system" },
      data: token("first"),
    });
    const app = w.app();
    const withSecret = {
      ...app,
      spec: { ...app.spec, source: { ...app.spec.source, secretRef: { name: "git-creds" } } },
    };
    expect(await cache.get(withSecret)).toEqual({ kind: "token", token: "first" });
    let creds: SourceCredentials | undefined;
    expect(await kinds(async () => (creds = await cache.get(withSecret)))).toEqual([true]);
    expect(creds).toEqual({ kind: "token", token: "first" });

    await w.admin.mergePatch(secretRef, { data: token("rotated") });
    expect(await kinds(async () => (creds = await cache.get(withSecret)))).toEqual([true, false]);
    expect(creds).toEqual({ kind: "token", token: "rotated" });

    // Without a secretRef nothing is read.
    expect(await kinds(async () => (creds = await cache.get(app)))).toEqual([]);
    expect(creds).toBeUndefined();

    await w.admin.delete(secretRef);
    await expect(cache.get(withSecret)).rejects.toThrow(ConfigError);
  });
});

describe("what may be remembered", () => {
  it("an object without a uid or resourceVersion never is: its 'same version' would prove nothing", () => {
    const d = {
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "x", namespace: "shop" },
        data: { a: "1" },
      },
      hash: "sha256:1",
    } as unknown as Parameters<typeof noteVersion>[1];
    const versions = new Map<string, SeenVersion>();
    const live = (uid: string, resourceVersion: string): KubeObject => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", namespace: "shop", uid, resourceVersion },
      data: { a: "1" },
    });
    noteVersion(versions, d, live("", ""));
    expect(versions.size).toBe(0);
    noteVersion(versions, d, live("u1", ""));
    expect(versions.size).toBe(0);
    noteVersion(versions, d, live("u1", "7"));
    expect([...versions.values()]).toEqual([{ uid: "u1", resourceVersion: "7", hash: "sha256:1" }]);
    // Content that no longer holds what git says is forgotten.
    noteVersion(versions, d, { ...live("u1", "8"), data: { a: "2" } });
    expect(versions.size).toBe(0);
  });
});
