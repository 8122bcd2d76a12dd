// End-to-end reconciles over HTTPS against the sandbox with RBAC on, as gitward's least-privilege identity
// impersonating the application's deployer account: apply, no-op, fail closed (unsigned commit, policy,
// render error) with the cluster unchanged, impersonation limits, and prune only of what the inventory owns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { OWNER_LABEL } from "../../src/reconcile/inventory.js";
import { configMap, deployment, startWorld, type World } from "./harness.js";

let w: World;
let good: string;

const cmRef = (name: string, namespace = "shop") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace,
  name,
});

beforeAll(async () => {
  w = await startWorld();
  good = await w.commit({
    "apps/shop/config.yaml": configMap("settings", { color: "blue" }),
    "apps/shop/extra.yaml": configMap("extra", { n: "1" }),
    "apps/shop/web.yaml": deployment("web"),
    "README.md": "config\n",
  });
});

afterAll(async () => {
  await w.stop();
});

describe("a good revision", () => {
  it("is applied as the deployer account, recorded in status, audit log and an event", async () => {
    const r = await w.reconcile();
    expect(r.result).toBe("applied");
    expect(r.revision).toBe(good);
    expect(r.signer).toBe("platform");
    expect(r.applied).toHaveLength(3);
    const settings = await w.admin.get(cmRef("settings"));
    expect(settings?.["data"]).toEqual({ color: "blue" });
    expect(settings?.metadata.labels?.[OWNER_LABEL]).toBe("gitward-system.shop");
    const managers = (settings?.metadata["managedFields"] as { manager: string }[]).map((m) => m.manager);
    expect(managers).toEqual(["gitward"]);

    const conditions = Object.fromEntries((r.status.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions["Ready"]).toMatchObject({ status: "True", reason: "ReconciliationSucceeded" });
    expect(conditions["Verified"]).toMatchObject({ status: "True", reason: "Trusted" });
    expect(conditions["PolicyPassed"]).toMatchObject({ status: "True" });
    expect(conditions["Healthy"]).toMatchObject({ status: "True", reason: "Healthy" });
    expect(r.status.lastAppliedRevision).toBe(good);
    expect(r.status.lastAppliedSigner).toBe("platform");
    expect(r.status.objectsApplied).toBe(3);

    const saved = await new ConfigMapStateStore(w.admin).load({ namespace: "gitward-system", name: "shop" });
    expect(saved?.inventory.map((e) => e.name).sort()).toEqual(["extra", "settings", "web"]);
    expect(saved?.inventory.every((e) => e.uid !== undefined)).toBe(true);

    const log = await readFile(w.auditPath, "utf8");
    const last = JSON.parse(log.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
    expect(last).toMatchObject({ result: "applied", revision: good, application: { name: "shop" } });
    expect((await verifyAuditLog(w.auditPath)).ok).toBe(true);

    const events = await w.admin.list("v1", "Event", { namespace: "gitward-system" });
    expect(events.some((e) => e["reason"] === "ReconciliationSucceeded")).toBe(true);
  });

  it("an unchanged revision on an unchanged cluster writes nothing", async () => {
    const before = await w.snapshot();
    const stateBefore = await w.admin.get(cmRef("gitward-app-shop", "gitward-system"));
    const eventsBefore = (await w.admin.list("v1", "Event", { namespace: "gitward-system" })).length;
    const r = await w.reconcile();
    expect(r.result).toBe("unchanged");
    expect(r.unchanged).toBe(3);
    expect(await w.snapshot()).toBe(before);
    const stateAfter = await w.admin.get(cmRef("gitward-app-shop", "gitward-system"));
    expect(stateAfter?.metadata.resourceVersion).toBe(stateBefore?.metadata.resourceVersion);
    expect((await w.admin.list("v1", "Event", { namespace: "gitward-system" })).length).toBe(eventsBefore);
  });

  it("a live change to a managed field is put back on the next reconcile", async () => {
    await w.admin.apply(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "shop" },
        data: { color: "red" },
      },
      { force: true },
    );
    const r = await w.reconcile();
    expect(r.result).toBe("applied");
    expect(r.applied).toEqual(["ConfigMap shop/settings"]);
    expect((await w.admin.get(cmRef("settings")))?.["data"]).toMatchObject({ color: "blue" });
  });
});

describe("fail closed: nothing of a refused revision is written", () => {
  async function expectRefused(code: string, step: string): Promise<void> {
    const before = await w.snapshot();
    const r = await w.reconcile();
    expect(r.result).toBe("refused");
    expect(r.reason).toBe(code);
    expect(r.step).toBe(step);
    expect(r.applied).toEqual([]);
    expect(await w.snapshot()).toBe(before);
    expect(r.status.lastAppliedRevision).toBe(good);
    const ready = r.status.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: code });
    const log = await readFile(w.auditPath, "utf8");
    expect(JSON.parse(log.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
      result: "refused",
      reason: code,
    });
    await w.repo.setBranch(good);
  }

  it("refuses an unsigned commit, naming it", async () => {
    const bad = await w.commit({ "apps/shop/config.yaml": configMap("settings", { color: "green" }) }, null);
    const before = await w.snapshot();
    const r = await w.reconcile();
    expect(r.details.join("\n")).toContain(bad.slice(0, 12));
    expect(r.details.join("\n")).toContain("UNSIGNED");
    expect(await w.snapshot()).toBe(before);
    await w.repo.setBranch(good);
    await w.commit({ "apps/shop/config.yaml": configMap("settings", { color: "green" }) }, null);
    await expectRefused("UNSIGNED", "verify");
  });

  it("refuses a commit signed by a key the policy does not trust", async () => {
    await w.commit({ "apps/shop/config.yaml": configMap("settings", { color: "green" }) }, w.other);
    await expectRefused("UNKNOWN_KEY", "verify");
  });

  it("refuses a signed commit that breaks policy", async () => {
    const privileged = deployment("web").replace("allowPrivilegeEscalation: false", "privileged: true");
    await w.commit({
      "apps/shop/web.yaml": privileged,
      "apps/shop/config.yaml": configMap("settings", { color: "green" }),
    });
    await expectRefused("POLICY_FAILED", "check");
  });

  it("refuses a signed commit that does not render", async () => {
    await w.commit({
      "apps/shop/config.yaml": configMap("settings", { color: "green" }),
      "apps/shop/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
    });
    await expectRefused("RENDER_FAILED", "render");
  });

  it("refuses objects outside the destination namespace unless allowed", async () => {
    await w.commit({
      "apps/shop/config.yaml": configMap("settings", { color: "green" }),
      "apps/shop/elsewhere.yaml": configMap("elsewhere", { a: "1" }, "other"),
    });
    await expectRefused("OUT_OF_SCOPE", "check");
  });
});

describe("impersonation limits the apply", () => {
  it("an object in another namespace is refused by the API server, and nothing is written", async () => {
    await w.commit({
      "apps/shop/config.yaml": configMap("settings", { color: "green" }),
      "apps/shop/elsewhere.yaml": configMap("elsewhere", { a: "1" }, "other"),
    });
    const before = await w.snapshot();
    const r = await w.reconcile(w.app({}, { allowedNamespaces: ["other"] }));
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("FORBIDDEN");
    expect(r.message).toContain("system:serviceaccount:shop:shop-deployer");
    expect(r.details.join("\n")).toContain("elsewhere");
    expect(await w.snapshot()).toBe(before);
    expect((await w.admin.get(cmRef("settings")))?.["data"]).toMatchObject({ color: "blue" });
    await w.repo.setBranch(good);
  });

  it("a ClusterRoleBinding is refused by the API server", async () => {
    await w.commit({
      "apps/shop/crb.yaml": `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: shop-admin }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
subjects: [{ kind: ServiceAccount, name: default, namespace: shop }]
`,
    });
    const before = await w.snapshot();
    const r = await w.reconcile(w.app({}, { allowClusterScoped: true }));
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("FORBIDDEN");
    expect(r.details.join("\n")).toContain("ClusterRoleBinding shop-admin");
    expect(await w.snapshot()).toBe(before);
    const crb = await w.admin.get({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      name: "shop-admin",
    });
    expect(crb).toBeUndefined();
    await w.repo.setBranch(good);
  });
});

describe("the access-review preflight", () => {
  it("refuses what RBAC forbids before any write, and applies what it allows", async () => {
    await w.commit({
      "apps/shop/config.yaml": configMap("settings", { color: "green" }),
      "apps/shop/elsewhere.yaml": configMap("elsewhere", { a: "1" }, "other"),
    });
    const before = await w.snapshot();
    const r = await w.reconcile(w.app({}, { allowedNamespaces: ["other"] }), { preflight: "access-review" });
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("FORBIDDEN");
    expect(r.details.join("\n")).toContain("ConfigMap other/elsewhere");
    expect(await w.snapshot()).toBe(before);
    await w.repo.setBranch(good);
    const ok = await w.reconcile(w.app(), { preflight: "access-review" });
    expect(["applied", "unchanged"]).toContain(ok.result);
    expect(ok.status.lastAppliedRevision).toBe(good);
  });
});

describe("prune", () => {
  it("deletes only what the inventory owns", async () => {
    // Back to the good revision (it may have been left on a refused one).
    expect((await w.reconcile()).status.lastAppliedRevision).toBe(good);
    // Someone replaces "extra" with an object of their own of the same name, and adds an object that
    // merely wears gitward's label: neither is gitward's to delete.
    await w.admin.delete(cmRef("extra"));
    await w.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "extra", namespace: "shop" },
      data: { mine: "yes" },
    });
    await w.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "impostor", namespace: "shop", labels: { [OWNER_LABEL]: "gitward-system.shop" } },
      data: {},
    });
    const next = await w.commit({ "apps/shop/extra.yaml": null, "apps/shop/web.yaml": null });
    const r = await w.reconcile();
    expect(r.result).toBe("applied");
    expect(r.revision).toBe(next);
    expect(r.pruned).toEqual(["Deployment shop/web"]);
    expect(
      await w.admin.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" }),
    ).toBeUndefined();
    expect((await w.admin.get(cmRef("extra")))?.["data"]).toEqual({ mine: "yes" });
    expect(await w.admin.get(cmRef("impostor"))).toBeDefined();
    expect(await w.admin.get(cmRef("settings"))).toBeDefined();
    const saved = await new ConfigMapStateStore(w.admin).load({ namespace: "gitward-system", name: "shop" });
    expect(saved?.inventory.map((e) => e.name)).toEqual(["settings"]);
  });

  it("without prune, removed objects stay in the cluster", async () => {
    await w.commit({ "apps/shop/extra2.yaml": configMap("extra2", { a: "1" }) });
    await w.reconcile();
    await w.commit({ "apps/shop/extra2.yaml": null });
    const r = await w.reconcile(w.app({ prune: false }));
    expect(r.pruned).toEqual([]);
    expect(await w.admin.get(cmRef("extra2"))).toBeDefined();
  });
});
