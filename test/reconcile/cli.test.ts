// `gitward reconcile` and `gitward restore` as a user runs them (the built CLI, a gitward.yaml, a kubeconfig
// for gitward's own identity): exit codes 0/1/2, JSON output, and a restore onto a brand-new cluster that
// brings every object back identical.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import { startSandbox } from "../../src/sandbox/server.js";
import { cliEntry, repoRoot } from "../support/tools.js";
import { configMap, deployment, readYamlObjects, startWorld, type World } from "./harness.js";

let w: World;
let configFile: string;
let kubeconfig: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function writeKubeconfig(text: string): Promise<string> {
  const file = path.join(w.dir, `kubeconfig-${Math.random().toString(16).slice(2)}`);
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

/** What restore must bring back: the objects' content, without what the server assigns. */
function content(o: KubeObject): unknown {
  const { metadata, status: _status, ...rest } = o;
  return {
    ...rest,
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      labels: metadata.labels,
      annotations: metadata.annotations,
    },
  };
}

async function appObjects(client: ClusterClient): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [apiVersion, kind] of [
    ["v1", "ConfigMap"],
    ["apps/v1", "Deployment"],
  ] as const) {
    for (const o of await client.list(apiVersion, kind, {
      namespace: "shop",
      labelSelector: "app.kubernetes.io/managed-by=gitward",
    })) {
      out.push(content(o));
    }
  }
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

beforeAll(async () => {
  w = await startWorld();
  await w.commit({
    "apps/shop/a.yaml": configMap("a", { x: "1" }),
    "apps/shop/b.yaml": configMap("b", { y: "2" }),
    "apps/shop/web.yaml": deployment("web", 3),
  });
  configFile = path.join(w.dir, "gitward.yaml");
  await writeFile(configFile, [stringify(w.trust()), stringify(w.app())].join("---\n"));
  kubeconfig = await writeKubeconfig(
    w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
  );
});

afterAll(async () => {
  await w.stop();
});

describe("gitward reconcile", () => {
  it("applies and reports JSON, exit 0", async () => {
    const r = await cli([
      "reconcile",
      "--once",
      "--config",
      configFile,
      "--kubeconfig",
      kubeconfig,
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      applications: { result: string; applied: string[]; signer: string }[];
    };
    expect(out.applications[0]).toMatchObject({ result: "applied", signer: "platform" });
    expect(out.applications[0]?.applied).toHaveLength(3);
  });

  it("exits 1 and names the reason when a revision is refused", async () => {
    const good = await w.repo.git("rev-parse", "HEAD");
    await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "evil" }) }, null);
    const r = await cli(["reconcile", "--config", configFile, "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("REFUSED (UNSIGNED) at verify");
    await w.repo.setBranch(good);
  });

  it("gitward status shows the applied revision and signer, and Ready False with the reason (exit 1)", async () => {
    const r = await cli(["status", "--config", configFile, "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(r.code, r.stderr).toBe(1);
    const rows = (JSON.parse(r.stdout) as { applications: Record<string, unknown>[] }).applications;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      ready: "False",
      reason: "UNSIGNED",
      signer: "platform",
      driftedObjects: 0,
    });
    expect(rows[0]?.["revision"]).toBe(await w.repo.git("rev-parse", "HEAD"));
    const text = await cli(["status", "--config", configFile, "--kubeconfig", kubeconfig]);
    expect(text.stdout).toMatch(
      /^gitward-system\/shop {2}revision [0-9a-f]{12} {2}signer platform {2}Ready False \(UNSIGNED\)/,
    );
    // Once the good revision is reconciled again, it is Ready and status exits 0.
    expect((await cli(["reconcile", "--config", configFile, "--kubeconfig", kubeconfig])).code).toBe(0);
    const ok = await cli(["status", "--config", configFile, "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { applications: { ready: string }[] }).applications[0]?.ready).toBe(
      "True",
    );
  });

  it("exits 2 on a config that does not validate, naming file and line", async () => {
    const bad = path.join(w.dir, "bad.yaml");
    await writeFile(bad, "apiVersion: gitward.dev/v1alpha1\nkind: Application\nmetadata: { name: x }\n");
    const r = await cli(["reconcile", "--config", bad, "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad.yaml:");
  });
});

describe("gitward restore", () => {
  it("rebuilds every object on a new, empty cluster from git alone", async () => {
    const before = await appObjects(w.admin);
    expect(before).toHaveLength(3);
    const fresh = await startSandbox();
    const admin = ClusterClient.fromText(fresh.kubeconfig);
    try {
      // What a cluster bootstrap provides: the application namespace and gitward's install.
      await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
      for (const file of ["deploy/install/operator.yaml", "deploy/examples/application-rbac.yaml"]) {
        for (const o of await readYamlObjects(path.join(repoRoot, file))) await admin.apply(o);
      }
      expect(await appObjects(admin)).toEqual([]);
      const freshConfig = await writeKubeconfig(
        fresh.kubeconfigFor(fresh.serviceAccountToken("gitward-system", "gitward"), "gitward"),
      );
      const r = await cli([
        "restore",
        "--config",
        configFile,
        "--kubeconfig",
        freshConfig,
        "--cache-dir",
        path.join(w.dir, "cache2"),
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/applied revision [0-9a-f]{12} \(signed by platform\): 3 applied/);
      expect(await appObjects(admin)).toEqual(before);
    } finally {
      admin.close();
      await fresh.stop();
    }
  });
});
