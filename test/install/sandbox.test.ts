// `gitward install`, doctor, upgrade and uninstall on the sandbox API server, checked with a real kubectl:
// the RBAC verb by verb (`kubectl auth can-i --as` the operator's account, allowed and denied), then the
// operator process itself (`gitward run` with the installed Deployment's arguments) under exactly that
// account's token, reconciling an Application that lives in another namespace than gitward-system.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import { auditKeyId, loadAuditSigningKey } from "../../src/audit/keys.js";
import { API_VERSION } from "../../src/config/types.js";
import { applyInstall } from "../../src/install/apply.js";
import { runDoctor } from "../../src/install/doctor.js";
import { installObjects } from "../../src/install/manifests.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { serveGitHttp, type GitHttpServer } from "../../src/source/http-server.js";
import { generateSealingKey, sealingKeyToSecret } from "../../src/secrets/keys.js";
import { TestRepo } from "../support/git-repo.js";
import { createSshSigner, type Signer } from "../support/signers.js";
import { cliEntry, repoRoot, runCli, toolPath } from "../support/tools.js";
import { until } from "../support/until.js";

const run = promisify(execFile);
const OPERATOR = "system:serviceaccount:gitward-system:gitward";
const IMAGE = `registry.example.com/gitward/gitward@sha256:${"b".repeat(64)}`;

let dir: string;
let sb: Sandbox;
let admin: ClusterClient;
let kubeconfig: string;
let signer: Signer;
let repo: TestRepo;
let git: GitHttpServer;
let baseline: string[];

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run(toolPath("kubectl"), ["--kubeconfig", kubeconfig, ...args]);
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "" };
  }
}

/** Every object of every kind the server lists, as "kind ns/name" (Events left out: they expire). */
async function everything(): Promise<string[]> {
  const kinds = (await kubectl("api-resources", "--verbs=list", "-o", "name")).stdout.trim().split("\n");
  const all = await kubectl(
    "get",
    kinds.filter((k) => !k.startsWith("events")).join(","),
    "-A",
    "-o",
    "json",
  );
  const items = (JSON.parse(all.stdout) as { items: KubeObject[] }).items;
  return items.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
}

const gitward = (...args: string[]) => runCli([...args, "--kubeconfig", kubeconfig]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-install-"));
  sb = await startSandbox();
  kubeconfig = path.join(dir, "kubeconfig");
  await sb.writeKubeconfig(kubeconfig);
  admin = ClusterClient.fromText(sb.kubeconfig);
  // The application's namespace and its grant (deploy/examples), made before gitward is installed.
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
  for (const d of parseAllDocuments(
    await readFile(path.join(repoRoot, "deploy/examples/application-rbac.yaml"), "utf8"),
  ))
    await admin.apply(d.toJS() as KubeObject);
  baseline = await everything();
  signer = await createSshSigner("ed25519", "platform");
  repo = await TestRepo.create(path.join(dir, "git", "config"));
  git = await serveGitHttp({ root: path.join(dir, "git") });
  await repo.commitFiles(
    { "apps/shop/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: '1'\n" },
    { signer, message: "shop" },
  );
});

afterAll(async () => {
  await git.stop();
  admin.close();
  await sb.stop();
  await signer.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe("gitward install on the sandbox", () => {
  it("refuses an image that is not pinned by digest, and changes nothing", async () => {
    const r = await gitward("install", "--image", "registry.example.com/gitward/gitward:v1");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--image: .*not pinned by digest/);
    expect(await everything()).toEqual(baseline);
  });

  it("--dry-run=server validates every object and stores nothing", async () => {
    const r = await gitward("install", "--dry-run=server", "--image", IMAGE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Deployment gitward-system\/gitward created \(dry run/m);
    expect(await everything()).toEqual(baseline);
  });

  it("applies, CRDs Established; a second install changes nothing", async () => {
    const first = await gitward("install", "--image", IMAGE);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^CustomResourceDefinition applications.gitward.dev created$/m);
    const crd = await admin.get({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      name: "applications.gitward.dev",
    });
    expect(JSON.stringify(crd?.["status"])).toContain('"Established"');
    const deployment = await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "gitward-system",
      name: "gitward",
    });
    const fields = JSON.stringify(deployment?.metadata["managedFields"]);
    expect(fields).toContain('"manager":"gitward-install"');
    // Upgrade in place: the same apply again (the code behind the command) stores nothing new.
    const again = await applyInstall(admin, installObjects({ image: IMAGE }));
    expect(again.length).toBeGreaterThan(20);
    expect(again.filter((st) => st.action !== "unchanged")).toEqual([]);
    // A changed setting is configured in place, nothing else touched.
    const moved = await applyInstall(admin, installObjects({ image: IMAGE, replicas: 3 }));
    expect(moved.filter((st) => st.action !== "unchanged").map((st) => `${st.what} ${st.action}`)).toEqual([
      "Deployment gitward-system/gitward configured",
    ]);
    await applyInstall(admin, installObjects({ image: IMAGE }));
  });

  it.each([
    ["allowed", ["list", "applications.gitward.dev", "-A"]],
    ["allowed", ["watch", "trustpolicies.gitward.dev"]],
    ["allowed", ["patch", "applications.gitward.dev", "--subresource=status", "-n", "shop"]],
    ["allowed", ["create", "events", "-n", "shop"]],
    ["allowed", ["update", "leases.coordination.k8s.io", "-n", "gitward-system"]],
    ["allowed", ["create", "configmaps", "-n", "gitward-system"]],
    ["allowed", ["list", "secrets", "-n", "gitward-keys"]],
    ["allowed", ["get", "configmaps", "-n", "shop"]],
    ["allowed", ["patch", "configmaps", "-n", "shop"]],
    ["allowed", ["get", "secrets", "-n", "shop"]],
    ["allowed", ["impersonate", "serviceaccounts/shop-deployer", "-n", "shop"]],
    ["denied", ["patch", "applications.gitward.dev", "-n", "shop"]],
    ["denied", ["delete", "customresourcedefinitions"]],
    ["denied", ["create", "secrets", "-n", "gitward-keys"]],
    ["denied", ["delete", "secrets", "-n", "gitward-keys"]],
    ["denied", ["delete", "configmaps", "-n", "gitward-system"]],
    ["denied", ["list", "secrets", "-n", "shop"]],
    ["denied", ["get", "secrets", "-n", "default"]],
    ["denied", ["get", "configmaps", "-n", "default"]],
    ["denied", ["create", "deployments.apps", "-n", "shop"]],
    ["denied", ["impersonate", "serviceaccounts/default", "-n", "shop"]],
    ["denied", ["impersonate", "users"]],
    ["denied", ["create", "clusterrolebindings"]],
    ["denied", ["bind", "clusterroles"]],
    ["denied", ["*", "*"]],
  ])("kubectl auth can-i as the operator: %s %j", async (expected, args) => {
    const r = await kubectl("auth", "can-i", ...args, `--as=${OPERATOR}`);
    expect(r.stdout.trim()).toBe(expected === "allowed" ? "yes" : "no");
  });

  it("doctor names what is missing, then passes; the operator process reconciles an Application in shop", async () => {
    const before = await gitward("doctor", "-o", "json");
    expect(before.code).toBe(1);
    const failed = (JSON.parse(before.stdout) as { checks: { name: string; ok: boolean }[] }).checks.filter(
      (c) => !c.ok,
    );
    // install made the audit signing key (test/install/audit-key.test.ts); the sealing key is the user's.
    expect(failed.map((c) => c.name).sort()).toEqual(["sealing-keys"]);

    // The audit key as the Deployment mounts it, for the operator process below.
    const keys = path.join(dir, "audit");
    await mkdir(keys);
    const audit = await admin.get({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "gitward-system",
      name: "gitward-audit-key",
    });
    const pem = Buffer.from((audit?.["data"] as Record<string, string>)["audit.key"] ?? "", "base64");
    expect(auditKeyId(loadAuditSigningKey(pem.toString("utf8")))).toMatch(/^ed25519:/);
    await writeFile(path.join(keys, "audit.key"), pem, { mode: 0o600 });
    await admin.apply(
      sealingKeyToSecret(
        await generateSealingKey({ modulusLength: 2048 }),
        "gitward-keys",
      ) as unknown as KubeObject,
    );
    const text = await gitward("doctor");
    expect(text.stdout).not.toMatch(/^FAIL/m);
    expect(text.stdout).toMatch(/^ok {3}rbac: may get, list, watch gitward.dev\/applications cluster-wide$/m);
    expect(text.code).toBe(0);

    await admin.apply({
      apiVersion: API_VERSION,
      kind: "TrustPolicy",
      metadata: { name: "production" },
      spec: { commits: { signers: [{ name: "platform", ssh: [signer.publicKey], paths: ["**"] }] } },
    });
    await admin.apply({
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        source: { url: git.url("config"), ref: { branch: "main" }, path: "apps/shop" },
        render: { type: "directory" },
        destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
        trustPolicy: "production",
        interval: "1h",
        prune: true,
      },
    });
    // The Application's grant (its namespace's RoleBinding, the impersonation) is checked too.
    const checks = await runDoctor(admin, installObjects({ image: IMAGE }));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.message)).toContain("may impersonate serviceaccounts/shop-deployer in shop");

    // An Application in a namespace that granted gitward nothing: doctor names each missing grant.
    const stray = {
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "stray", namespace: "default" },
    };
    await admin.apply({
      ...stray,
      spec: {
        source: { url: git.url("config"), ref: { branch: "main" }, path: "apps/shop" },
        render: { type: "directory" },
        destination: { namespace: "default", serviceAccountName: "deployer" },
        trustPolicy: "production",
      },
    });
    const strayChecks = (await runDoctor(admin, installObjects({ image: IMAGE }))).filter((c) => !c.ok);
    expect(strayChecks.map((c) => c.message)).toEqual([
      "may not get, create, patch configmaps in default",
      "may not get secrets in default",
      "may not impersonate serviceaccounts/deployer in default",
    ]);
    expect(strayChecks[0]?.fix).toMatch(/gitward install --application-namespace default/);
    await admin.delete({ ...stray, name: "stray", namespace: "default" });

    const op = await startOperatorProcess();
    try {
      const status = await until(
        "the Application's status",
        async () => {
          const app = await admin.get({
            apiVersion: API_VERSION,
            kind: "Application",
            namespace: "shop",
            name: "shop",
          });
          const st = app?.["status"] as { lastAppliedRevision?: string } | undefined;
          return st?.lastAppliedRevision === undefined ? undefined : st;
        },
        15_000,
        () => op.lines.slice(-3).join(""),
      );
      expect(status.lastAppliedRevision).toBe(await repo.git("rev-parse", "HEAD"));
      expect(op.lines.join("")).not.toMatch(/forbidden/i);
      const a = await admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" });
      expect(a?.["data"]).toEqual({ x: "1" });
    } finally {
      await op.stop();
    }
  });

  it("uninstall --prune-applications removes what gitward and the Application made, and nothing else", async () => {
    const r = await gitward("uninstall", "--prune-applications", "--delete-keys");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ConfigMap shop\/a deleted \(Application shop\/shop\)$/m);
    expect(await everything()).toEqual(baseline);
  });

  it("uninstall without --prune-applications leaves the Applications' objects and says so; keeps the keys", async () => {
    expect((await gitward("install", "--image", IMAGE)).code).toBe(0);
    await admin.apply(
      sealingKeyToSecret(
        await generateSealingKey({ modulusLength: 2048 }),
        "gitward-keys",
      ) as unknown as KubeObject,
    );
    await admin.apply({
      apiVersion: API_VERSION,
      kind: "TrustPolicy",
      metadata: { name: "p" },
      spec: { commits: { signers: [{ name: "x", ssh: [signer.publicKey], paths: ["**"] }] } },
    });
    await admin.apply({
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "shop", namespace: "shop" },
      spec: {
        source: { url: git.url("config"), ref: { branch: "main" }, path: "apps/shop" },
        render: { type: "directory" },
        destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
        trustPolicy: "p",
      },
    });
    await admin.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", namespace: "shop", labels: { "gitward.dev/application": "shop.shop" } },
      data: { x: "1" },
    });
    const r = await gitward("uninstall");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Application\(s\) \(shop\/shop\) stay in the cluster; --prune-applications deletes them/,
    );
    expect(r.stdout).toMatch(/^Namespace gitward-keys kept \(it holds 1 sealing key/m);
    const left = await everything();
    expect(left).toContain("ConfigMap shop/a");
    // Left: the Application's object, and gitward-keys with its key (and the namespace's default account).
    const extra = left.filter((l) => !baseline.includes(l));
    expect(extra.filter((l) => !/^Secret gitward-keys\/sealed-secrets-key/.test(l))).toEqual([
      "ConfigMap shop/a",
      "Namespace /gitward-keys",
      "ServiceAccount gitward-keys/default",
    ]);
    expect(extra).toHaveLength(4);
  });
});

/** `gitward run` with the installed Deployment's arguments, as the operator's account (its own token). */
async function startOperatorProcess(): Promise<{ lines: string[]; stop: () => Promise<void> }> {
  const d = await admin.get({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "gitward-system",
    name: "gitward",
  });
  const c = (d?.["spec"] as { template: { spec: { containers: { args: string[]; image: string }[] } } })
    .template.spec.containers[0];
  expect(c?.image).toBe(IMAGE);
  const auditKey = path.join(dir, "audit", "audit.key");
  const args = (c?.args ?? []).map((a) =>
    a
      .replace(/^--metrics-addr=.*/, "--metrics-addr=127.0.0.1:0")
      .replace(/^--cache-dir=.*/, `--cache-dir=${path.join(dir, "cache")}`)
      .replace(/^--audit-log=.*/, `--audit-log=${path.join(dir, "audit.jsonl")}`)
      .replace(/^--audit-key=.*/, `--audit-key=${auditKey}`),
  );
  const tokenConfig = path.join(dir, "operator.kubeconfig");
  await writeFile(
    tokenConfig,
    sb.kubeconfigFor(sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [cliEntry, ...args, "--kubeconfig", tokenConfig, "--no-leader-elect"],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dir },
    },
  );
  const lines: string[] = [];
  child.stdout?.on("data", (b: Buffer) => lines.push(b.toString()));
  child.stderr?.on("data", (b: Buffer) => lines.push(b.toString()));
  return {
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.on("close", () => {
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
