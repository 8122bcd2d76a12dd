// `gitward render APP`, `gitward diff APP` and `gitward reconcile --dry-run` through the built CLI against
// the sandbox with gitward's own identity: render prints object for object what the reconcile then applies;
// diff exits 0 with no change and 1 with the change shown like kubectl diff (live state made with kubectl
// itself), prune included, Secret values never shown; and nothing is written (resourceVersions, inventory,
// audit log all unchanged). The sandbox's dryRun=All is checked with kubectl apply --dry-run=server first.
import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/cluster/client.js";
import { isSubset } from "../../src/reconcile/compare.js";
import { OWNER_LABEL } from "../../src/reconcile/inventory.js";
import { run } from "../support/git-exec.js";
import { runCli, toolPath } from "../support/tools.js";
import { configMap, deployment, startWorld, type World } from "../reconcile/harness.js";

let w: World;
let configFile: string;
let kubeconfig: string;
let adminKubeconfig: string;
const OLD_SECRET = "hunter2-old-value";
const NEW_SECRET = "correct-horse-new-value";
const b64 = (s: string) => Buffer.from(s).toString("base64");

function secret(value: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "db" },
    type: "Opaque",
    data: { password: b64(value) },
  });
}

const gw = (...args: string[]) => runCli([...args, "--config", configFile, "--kubeconfig", kubeconfig]);
const kubectl = (...args: string[]) => run(toolPath("kubectl"), ["--kubeconfig", adminKubeconfig, ...args]);

async function liveObjects(): Promise<KubeObject[]> {
  const out = await kubectl(
    "get",
    "configmaps,deployments,secrets",
    "-n",
    "shop",
    "-l",
    OWNER_LABEL,
    "-o",
    "json",
  );
  return (JSON.parse(out.stdout) as { items: KubeObject[] }).items;
}

/** What a dry run must leave as it was: every object's resourceVersion, gitward's state, the audit log. */
async function clusterState(): Promise<string> {
  const objects = [...(await w.admin.list("v1", "ConfigMap")), ...(await w.admin.list("v1", "Secret"))];
  const versions = objects.map(
    (o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}@${o.metadata.resourceVersion}`,
  );
  const audit = await stat(path.join(w.dir, ".gitward", "audit.jsonl")).catch(() => undefined);
  return [...versions.sort(), `audit ${audit?.size ?? "none"} ${audit?.mtimeMs ?? ""}`].join("\n");
}

const key = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

beforeAll(async () => {
  w = await startWorld();
  await w.commit({
    "apps/shop/a.yaml": configMap("a", { x: "1" }),
    "apps/shop/b.yaml": configMap("b", { y: "2" }),
    "apps/shop/web.yaml": deployment("web", 2),
    "apps/shop/db.yaml": secret(OLD_SECRET),
  });
  configFile = path.join(w.dir, "gitward.yaml");
  await writeFile(configFile, [stringify(w.trust()), stringify(w.app())].join("---\n"));
  kubeconfig = path.join(w.dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
    {
      mode: 0o600,
    },
  );
  adminKubeconfig = path.join(w.dir, "admin-kubeconfig");
  await writeFile(adminKubeconfig, w.sb.kubeconfig, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  await w.stop();
});

describe("the sandbox's server-side dry run", () => {
  it("kubectl apply --server-side --dry-run=server answers the object and stores nothing", async () => {
    const file = path.join(w.dir, "probe.yaml");
    await writeFile(file, configMap("probe", { k: "v" }, "other"));
    const r = await kubectl("apply", "--server-side", "--dry-run=server", "-f", file, "-o", "json");
    expect((JSON.parse(r.stdout) as KubeObject).metadata.name).toBe("probe");
    expect(
      await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "other", name: "probe" }),
    ).toBe(undefined);
  });
});

describe("gitward render APP", () => {
  it("prints exactly the objects the reconcile then applies, Secret values redacted", async () => {
    const before = await clusterState();
    const r = await gw("render", "shop", "-o", "json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(b64(OLD_SECRET));
    expect(await clusterState()).toBe(before);
    const rendered = (JSON.parse(r.stdout) as { items: KubeObject[] }).items;

    expect((await gw("reconcile")).code).toBe(0);
    const live = new Map((await liveObjects()).map((o) => [key(o), o]));
    expect(rendered.map(key).sort()).toEqual([...live.keys()].sort());
    for (const o of rendered) {
      const l = live.get(key(o));
      if (o.kind === "Secret") {
        expect(o["data"]).toEqual({ password: "*** (redacted)" });
        const { data: _d, ...rest } = o;
        expect(isSubset(rest, l), key(o)).toBe(true);
        expect((l?.["data"] as Record<string, string>)["password"]).toBe(b64(OLD_SECRET));
      } else expect(isSubset(o, l), key(o)).toBe(true);
    }
  });
});

describe("gitward diff APP", () => {
  it("exits 0 and prints nothing when the cluster holds the revision", async () => {
    const r = await gw("diff", "shop");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
  });

  it("shows a kubectl-made live change, a changed field and a pruned object; writes nothing", async () => {
    await kubectl("patch", "configmap", "b", "-n", "shop", "--type", "merge", "-p", '{"data":{"y":"9"}}');
    await kubectl(
      "patch",
      "deployment",
      "web",
      "-n",
      "shop",
      "--type",
      "merge",
      "-p",
      '{"spec":{"replicas":5}}',
    );
    await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "2" }), "apps/shop/b.yaml": null });
    await w.commit({ "apps/shop/b2.yaml": configMap("b", { y: "2" }).replace("name: b", "name: c") });
    const before = await clusterState();
    const r = await gw("diff", "shop");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("--- live/v1.ConfigMap.shop.a");
    expect(r.stdout).toContain('-  x: "1"\n+  x: "2"');
    expect(r.stdout).toContain("--- live/apps.v1.Deployment.shop.web");
    expect(r.stdout).toContain("-  replicas: 5\n+  replicas: 2");
    // b left git: prune would delete it, as it is live now (the kubectl change included).
    expect(r.stdout).toContain("+++ merged/v1.ConfigMap.shop.b");
    expect(r.stdout).toContain('-  y: "9"');
    // c is new.
    expect(r.stdout).toContain("--- live/v1.ConfigMap.shop.c");
    expect(r.stdout).not.toContain("Secret");
    expect(r.stdout).not.toContain("managedFields");
    expect(r.stdout).not.toContain("resourceVersion");
    expect(await clusterState()).toBe(before);

    const dry = await gw("reconcile", "--dry-run");
    expect(dry.code).toBe(1);
    expect(dry.stdout).toBe(r.stdout);
    expect(await clusterState()).toBe(before);
  });

  it("shows that a Secret value changed without showing either value, in text and JSON", async () => {
    await w.commit({ "apps/shop/db.yaml": secret(NEW_SECRET) });
    const before = await clusterState();
    for (const output of ["text", "json"]) {
      const r = await gw("diff", "shop", "-o", output);
      expect(r.code).toBe(1);
      for (const value of [OLD_SECRET, NEW_SECRET, b64(OLD_SECRET), b64(NEW_SECRET)]) {
        expect(r.stdout).not.toContain(value);
        expect(r.stderr).not.toContain(value);
      }
      expect(r.stdout).toContain("redacted, before");
      expect(r.stdout).toContain("redacted, after");
    }
    expect(await clusterState()).toBe(before);
    // And once applied, there is nothing left to show.
    expect((await gw("reconcile")).code).toBe(0);
    const after = await gw("diff", "shop", "-o", "json");
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ applications: [{ differences: [] }] });
  });

  it("exits 3 naming the reason when the revision would be refused, and writes nothing", async () => {
    await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "unsigned" }) }, null);
    const before = await clusterState();
    const r = await gw("diff", "shop");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("UNSIGNED");
    expect(await clusterState()).toBe(before);
  });
});
