// A run killed after its write-ahead inventory but before it created the objects leaves entries with the
// desired hash and no uid. The next reconcile must create those objects even under drift: alert, where a
// missing object that was once applied (its entry has a uid) is drift, reported and left alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyOf } from "../../src/reconcile/inventory.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { configMap, startWorld, type World } from "./harness.js";

let w: World;

beforeAll(async () => {
  w = await startWorld();
});

afterAll(async () => {
  await w.stop();
});

const ref = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name });

describe("write-ahead inventory after a crash", () => {
  it("creates objects whose entry has no uid, and reports a deleted applied object as drift", async () => {
    await w.commit({
      "apps/shop/applied.yaml": configMap("applied", { v: "1" }),
      "apps/shop/pending.yaml": configMap("pending", { v: "1" }),
    });
    expect((await w.reconcile()).result).toBe("applied");

    // What the killed run left: "pending" listed ahead of its creation (hash, no uid) and not in the
    // cluster; "applied" really applied (with its uid) and then deleted by someone else.
    const store = new ConfigMapStateStore(w.admin);
    const id = { namespace: "gitward-system", name: "shop" };
    const state = await store.load(id);
    if (state === undefined) throw new Error("no state saved");
    const inventory = state.inventory.map((e) => {
      if (e.name !== "pending") return e;
      const { uid, ...rest } = e;
      expect(uid).toBeDefined();
      return rest;
    });
    await store.save(id, { ...state, inventory });
    await w.admin.delete(ref("pending"));
    await w.admin.delete(ref("applied"));

    const r = await w.reconcile(undefined, { honorDriftMode: true });
    expect(r.result).toBe("applied");
    expect(r.drift.map((d) => d.object.name)).toEqual(["applied"]);
    expect(r.driftReverted).toBe(false);
    expect(await w.admin.get(ref("pending"))).toMatchObject({ data: { v: "1" } });
    expect(await w.admin.get(ref("applied"))).toBeUndefined();
    const after = await store.load(id);
    const pending = after?.inventory.find((e) => keyOf(e) === keyOf(ref("pending")));
    expect(pending?.uid).toBe((await w.admin.get(ref("pending")))?.metadata.uid);
  });
});
