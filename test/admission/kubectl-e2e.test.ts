// gitward's own admission webhook called by the sandbox API server as kube-apiserver calls it, with the
// ValidatingWebhookConfiguration gitward generates, driven by a real kubectl: an unsigned image is denied
// with gitward's message, a signed pinned pod is allowed, --dry-run=server stores nothing, a reconcile of a
// signed commit still passes the webhook (the deployer may change what it deploys), a kubectl edit of an
// object gitward manages is denied, and with the webhook down writes fail closed except in the excluded
// namespaces. The same bad object is refused by `gitward check`, by reconcile and by admission with the
// same rule code.
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhook, type RunningWebhook } from "../../src/admission/start.js";
import { webhookConfiguration } from "../../src/admission/webhook-config.js";
import type { TrustPolicy } from "../../src/config/types.js";
import { RegistryClient } from "../../src/images/client.js";
import { signImage } from "../../src/trust/image/sign.js";
import { deployment, installCrds, startWorld, withImageTrust, type World } from "../reconcile/harness.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { runCli, toolPath } from "../support/tools.js";
import { pod } from "./support.js";

const run = promisify(execFile);
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });

let w: World;
let registry: TestRegistry;
let client: RegistryClient;
let hook: RunningWebhook | undefined;
let dir: string;
let kubeconfig: string;
let signed: string;
let unsignedTag: string;

function trust(): TrustPolicy {
  const t = withImageTrust(w.trust(), registry.host, publicKey);
  return { ...t, spec: { ...t.spec, policy: { packs: ["pod-security-restricted", "supply-chain"] } } };
}

interface Kubectl {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against the sandbox as its admin. */
async function kubectl(args: string[], input?: string): Promise<Kubectl> {
  const file =
    input === undefined ? undefined : path.join(dir, `in-${Math.random().toString(36).slice(2)}.yaml`);
  if (file !== undefined && input !== undefined) await writeFile(file, input);
  const full = ["--kubeconfig", kubeconfig, ...args, ...(file === undefined ? [] : ["-f", file])];
  try {
    const r = await run(toolPath("kubectl"), full, { timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const podExists = async (ns: string, name: string): Promise<boolean> =>
  (await w.admin.get({ apiVersion: "v1", kind: "Pod", namespace: ns, name })) !== undefined;

const webWith = (image: string, privileged = false): string => {
  const d = deployment("web").replace(/image: \S+/, `image: ${image}`);
  return privileged ? d.replace("allowPrivilegeEscalation: false", "privileged: true") : d;
};

async function installConfiguration(): Promise<void> {
  if (hook === undefined) throw new Error("no webhook");
  await w.admin.apply(webhookConfiguration({ url: hook.url, caBundle: hook.caBundle }));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-admission-e2e-"));
  [w, registry] = await Promise.all([startWorld(), startRegistry()]);
  client = new RegistryClient({ plainHTTP: true });
  const digest = await pushTestImage(registry, "shop/web", "v1", "web one");
  await signImage({ client, image: `${registry.host}/shop/web:v1`, key: privateKey, format: "bundle" });
  signed = `${registry.host}/shop/web:v1@${digest}`;
  await pushTestImage(registry, "shop/tool", "v1", "unsigned tool");
  unsignedTag = `${registry.host}/shop/tool:v1`;
  kubeconfig = path.join(dir, "kubeconfig");
  await w.sb.writeKubeconfig(kubeconfig);
  // The index of inventories is reused for 5 s by default; the test reads it fresh on each review.
  hook = await startWebhook({ trust: trust(), registry: client, cluster: w.admin, inventoryTtlMs: 0 });
  await installConfiguration();
}, 90_000);

afterAll(async () => {
  await hook?.stop();
  await Promise.all([registry.stop(), w.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe("gitward's webhook behind the sandbox, with a real kubectl", () => {
  it("denies `kubectl run` of an unsigned, tag-only image with gitward's message and stores nothing", async () => {
    const r = await kubectl(["run", "tool", "-n", "shop", `--image=${unsignedTag}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "objects.gitward.dev" denied the request');
    expect(r.stderr).toContain("[supply-chain/digest]");
    expect(r.stderr).toContain(unsignedTag);
    expect(r.stderr).toContain("[images/unsigned]");
    expect(await podExists("shop", "tool")).toBe(false);
  });

  it("allows `kubectl apply` of a signed pod pinned by digest", async () => {
    const r = await kubectl(["apply", "-n", "shop"], JSON.stringify(pod("web-pod", signed)));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await podExists("shop", "web-pod")).toBe(true);
  });

  it("--dry-run=server is judged like a write and stores nothing", async () => {
    const bad = await kubectl(["run", "tool", "-n", "shop", `--image=${unsignedTag}`, "--dry-run=server"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("denied the request");
    const good = await kubectl(
      ["apply", "-n", "shop", "--dry-run=server"],
      JSON.stringify(pod("dry", signed)),
    );
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain("(server dry run)");
    expect(await podExists("shop", "dry")).toBe(false);
  });

  it("refuses the same privileged pod in check, reconcile and admission with the same rule code", async () => {
    const code = "pod-security/privileged";
    // admission
    const object = pod("priv", signed, { securityContext: { privileged: true } });
    const denied = await kubectl(["apply", "-n", "shop"], JSON.stringify(object));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`[${code}]`);
    // check
    const repo = path.join(dir, "repo");
    await rm(repo, { recursive: true, force: true });
    await run("git", ["init", "-q", repo]);
    await writeFile(path.join(repo, "web.yaml"), webWith(signed, true));
    const trustFile = path.join(dir, "trust.json");
    await writeFile(trustFile, JSON.stringify(trust()));
    const checked = await runCli(["check", repo, "--trust", trustFile, "--plain-http", "-o", "json"]);
    expect(checked.code, checked.stderr).toBe(1);
    const report = JSON.parse(checked.stdout) as { report: { findings: { ruleId: string }[] } };
    expect(report.report.findings.map((f) => f.ruleId)).toContain(code);
    // reconcile: refused before anything is written, so the webhook never sees it
    await w.commit({ "apps/shop/web.yaml": webWith(signed, true) });
    const r = await w.reconcile(w.app(), { registry: client }, trust());
    expect(r.result).toBe("refused");
    expect(JSON.stringify(r)).toContain(code);
  });

  it("lets gitward.yaml-mode reconciles through (the deployer is on the state ConfigMap) and denies a kubectl scale", async () => {
    await w.commit({ "apps/shop/web.yaml": webWith(signed) });
    const applied = await w.reconcile(w.app(), { registry: client }, trust());
    expect(applied.result, JSON.stringify(applied)).toBe("applied");
    // a second signed revision updates the object it manages: its deployer may
    await w.commit({ "apps/shop/web.yaml": webWith(signed).replace("replicas: 1", "replicas: 2") });
    const updated = await w.reconcile(w.app(), { registry: client }, trust());
    expect(updated.result, JSON.stringify(updated)).toBe("applied");
    const scaled = await kubectl(["scale", "deployment/web", "-n", "shop", "--replicas=5"]);
    expect(scaled.code).not.toBe(0);
    expect(scaled.stderr).toContain("[admission/managed-by-gitward]");
    const live = await w.admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "shop",
      name: "web",
    });
    expect((live?.["spec"] as { replicas: number }).replicas).toBe(2);
  });

  it("takes the deployer from the Application object when the cluster has one", async () => {
    await installCrds(w.admin);
    await w.admin.apply(w.app());
    await w.commit({ "apps/shop/web.yaml": webWith(signed).replace("replicas: 1", "replicas: 3") });
    const updated = await w.reconcile(w.app(), { registry: client }, trust());
    expect(updated.result, JSON.stringify(updated)).toBe("applied");
    // the Application names another deployer: the state's annotation no longer counts
    await w.admin.apply(w.app({}, { serviceAccountName: "someone-else" }));
    await w.commit({ "apps/shop/web.yaml": webWith(signed).replace("replicas: 1", "replicas: 4") });
    const refused = await w.reconcile(w.app(), { registry: client }, trust());
    expect(refused.result).not.toBe("applied");
    expect(refused.message).toContain("admission/managed-by-gitward");
    await w.admin.apply(w.app());
  });

  it("with the webhook down, writes fail closed except in the namespaces the configuration excludes", async () => {
    await hook?.stop();
    hook = undefined;
    const r = await kubectl(["apply", "-n", "shop"], JSON.stringify(pod("down", signed)));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed calling webhook "objects.gitward.dev"');
    expect(await podExists("shop", "down")).toBe(false);
    const sys = pod("recover", signed);
    (sys["metadata"] as Record<string, unknown>)["namespace"] = "kube-system";
    const ok = await kubectl(["apply", "-n", "kube-system"], JSON.stringify(sys));
    expect(ok.code, ok.stderr).toBe(0);
    expect(await podExists("kube-system", "recover")).toBe(true);
  });
});
