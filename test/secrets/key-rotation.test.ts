// Scheduled sealing-key rotation as shipped (deploy/install/key-rotation.yaml): installed with real kubectl
// into the sandbox API server, the CronJob's own command run with the built CLI as its service account,
// and that account held to listing and creating Secrets in gitward-keys (the keys' own namespace, where no
// account with rights lives), nothing more.
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { generateSealingKey, SEALING_KEY_LABEL, sealingKeyToSecret } from "../../src/secrets/keys.js";
import { call, kubectlFor, type Kubectl } from "../sandbox/helpers.js";
import { repoRoot, runCli } from "../support/tools.js";

/** The keys' namespace. */
const NS = "gitward-keys";
/** The operator's namespace, where its account lives. */
const SYSTEM = "gitward-system";
const ROTATION_SA = "gitward-key-rotation";
const DAY = 86_400_000;
const install = (file: string): string => path.join(repoRoot, "deploy", "install", file);

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
}

interface CronJob {
  spec: {
    schedule: string;
    concurrencyPolicy?: string;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { spec: { backoffLimit?: number; template: { spec: PodSpec } } };
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface KeySecret {
  name: string;
  /** tls.crt as stored (base64): tells one key from another. */
  certificate: string;
}

let sb: Sandbox;
let k: Kubectl;
/** Kubeconfigs holding service-account tokens, as the pods would have them. */
let rotationKubeconfig: string;
let operatorKubeconfig: string;
let rotationToken: string;
let cronJob: CronJob;
/** The CronJob's container command and arguments, exactly as the cluster stores them. */
let command: string[];

async function mustKubectl(args: string[], opts: { input?: string; kubeconfig?: string } = {}) {
  const r = await k.run(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${String(r.code)}): ${r.stderr}`);
  return r;
}

/**
 * Runs the CronJob's command with the built CLI. The image's entrypoint is gitward (as for the Deployment's
 * `args: [run, ...]`), so args alone name the subcommand. KUBECONFIG stands in for the pod's mounted token:
 * keygen's default lookup reads it first, and would fall back to the in-cluster token in a pod.
 */
function runCronJobCommand(): Promise<Run> {
  return runCli(command, {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: k.dir, KUBECONFIG: rotationKubeconfig },
  });
}

/** The sealing-key Secrets in gitward-keys, read as admin. */
async function sealingKeys(): Promise<KeySecret[]> {
  const r = await mustKubectl(["get", "secrets", "-n", NS, "-l", SEALING_KEY_LABEL, "-o", "json"]);
  const list = JSON.parse(r.stdout) as {
    items: { metadata: { name: string }; data: Record<string, string> }[];
  };
  return list.items
    .map((s) => ({ name: s.metadata.name, certificate: s.data["tls.crt"] ?? "" }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function canI(kubeconfig: string, ...args: string[]): Promise<string> {
  const r = await k.run(["auth", "can-i", ...args], { kubeconfig });
  // kubectl exits 0 for yes and 1 for no; anything else is an error, not an answer.
  expect(r.code, r.stderr).toBeLessThanOrEqual(1);
  return r.stdout.trim();
}

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  await mustKubectl(["apply", "--server-side", "-f", path.join(repoRoot, "deploy", "crds")]);
  // operator.yaml first: it makes the namespace that key-rotation.yaml's objects live in.
  for (const file of ["operator.yaml", "key-rotation.yaml"]) {
    await mustKubectl(["apply", "--server-side", "-f", install(file)]);
  }
  const got = await mustKubectl(["get", "cronjob", ROTATION_SA, "-n", NS, "-o", "json"]);
  cronJob = JSON.parse(got.stdout) as CronJob;
  const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  command = [...(container?.command ?? []), ...(container?.args ?? [])];

  rotationToken = sb.serviceAccountToken(NS, ROTATION_SA);
  rotationKubeconfig = path.join(k.dir, "key-rotation.kubeconfig");
  await writeFile(rotationKubeconfig, sb.kubeconfigFor(rotationToken, ROTATION_SA), { mode: 0o600 });
  operatorKubeconfig = path.join(k.dir, "operator.kubeconfig");
  await writeFile(
    operatorKubeconfig,
    sb.kubeconfigFor(sb.serviceAccountToken(SYSTEM, "gitward"), "gitward"),
    {
      mode: 0o600,
    },
  );
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

describe("the key-rotation CronJob as installed", () => {
  it("runs gitward secrets keygen daily, one at a time, as its own account, in the operator's image", async () => {
    const spec = cronJob.spec;
    expect(spec.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(spec.concurrencyPolicy).toBe("Forbid");
    expect(spec.successfulJobsHistoryLimit).toBeLessThanOrEqual(3);
    expect(spec.failedJobsHistoryLimit).toBeLessThanOrEqual(3);
    expect(spec.jobTemplate.spec.backoffLimit).toBeLessThanOrEqual(3);
    const pod = spec.jobTemplate.spec.template.spec;
    expect(pod).toMatchObject({
      serviceAccountName: ROTATION_SA,
      automountServiceAccountToken: true,
      restartPolicy: "OnFailure",
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    });
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0]!;
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources?.requests).toBeDefined();
    expect(container.resources?.limits?.["memory"]).toBeDefined();
    // No --kubeconfig (in a pod the service account token is found by default) and no --force.
    expect(command.slice(0, 2)).toEqual(["secrets", "keygen"]);
    expect(command).toContain("--rotation-days=30");
    expect(command.join(" ")).not.toMatch(/--kubeconfig|--force|--key-size/);

    const deployment = parseAllDocuments(await readFile(install("deployment.yaml"), "utf8"))[0]?.toJS() as {
      spec: { template: { spec: PodSpec } };
    };
    expect(container.image).toBe(deployment.spec.template.spec.containers[0]?.image);
  });

  it("creates a key on the first run and none on the next while the newest is current", async () => {
    const first = await runCronJobCommand();
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created sealing key sealed-secrets-key\w{5} in gitward-keys \(no-key\)/);
    const afterFirst = await sealingKeys();
    expect(afterFirst).toHaveLength(1);
    // The shipped command makes the default key: RSA 4096.
    const cert = new X509Certificate(Buffer.from(afterFirst[0]!.certificate, "base64"));
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);

    const second = await runCronJobCommand();
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^kept sealing key .* \(current\); .* 1 key\(s\) in all/);
    expect(await sealingKeys()).toEqual(afterFirst);
  });

  it("adds a key when the newest is over 30 days old and keeps the old one", async () => {
    // Make the only key an old one: as admin, replace the fresh key with one whose certificate dates from
    // 31 days ago (a key's age is its certificate's notBefore, not the Secret's creationTimestamp).
    const [fresh] = await sealingKeys();
    await mustKubectl(["delete", "secret", fresh!.name, "-n", NS]);
    const old = await generateSealingKey({ modulusLength: 2048, now: new Date(Date.now() - 31 * DAY) });
    await mustKubectl(["create", "-f", "-"], { input: JSON.stringify(sealingKeyToSecret(old, NS)) });
    const before = await sealingKeys();
    expect(before.map((s) => s.name)).toEqual([old.name]);

    const due = await runCronJobCommand();
    expect(due.stderr).toBe("");
    expect(due.code).toBe(0);
    expect(due.stdout).toMatch(/^created sealing key .* \(rotation-due\); .* 2 key\(s\) in all/);
    const after = await sealingKeys();
    expect(after).toHaveLength(2);
    expect(after).toContainEqual(before[0]);

    const next = await runCronJobCommand();
    expect(next.stdout).toMatch(/^kept .* \(current\); .* 2 key\(s\) in all/);
    expect(await sealingKeys()).toEqual(after);
  });
});

describe("the key-rotation account", () => {
  it("may list and create Secrets in gitward-keys, and nothing else", async () => {
    expect(await canI(rotationKubeconfig, "list", "secrets", "-n", NS)).toBe("yes");
    expect(await canI(rotationKubeconfig, "create", "secrets", "-n", NS)).toBe("yes");
    const refused: string[][] = [
      ["delete", "secrets", "-n", NS],
      ["deletecollection", "secrets", "-n", NS],
      ["update", "secrets", "-n", NS],
      ["patch", "secrets", "-n", NS],
      ["get", "secrets", "-n", NS],
      ["watch", "secrets", "-n", NS],
      ["create", "secrets", "-n", "default"],
      // Where the operator's account lives: a token Secret for it made there would be a takeover.
      ["create", "secrets", "-n", SYSTEM],
      ["list", "secrets", "-n", SYSTEM],
      ["list", "secrets", "-n", "kube-system"],
      ["create", "secrets", "--all-namespaces"],
      ["list", "applications.gitward.dev", "-n", NS],
      ["get", "trustpolicies.gitward.dev"],
      ["list", "configmaps", "-n", NS],
      ["create", "pods", "-n", NS],
      ["create", "jobs.batch", "-n", NS],
      ["update", "cronjobs.batch", "-n", NS],
      ["create", "roles.rbac.authorization.k8s.io", "-n", NS],
      ["create", "serviceaccounts/token", "-n", NS],
    ];
    for (const args of refused) {
      expect(await canI(rotationKubeconfig, ...args), args.join(" ")).toBe("no");
    }
  });

  it("is refused (HTTP 403) when it deletes or changes a key, writes elsewhere or reads Applications", async () => {
    const [key] = await sealingKeys();
    const keyPath = `/api/v1/namespaces/${NS}/secrets/${key!.name}`;
    const stored = await call(sb, "GET", keyPath);
    expect(stored.status).toBe(200);
    const user = `system:serviceaccount:${NS}:${ROTATION_SA}`;
    const attempts: [string, string, unknown][] = [
      ["DELETE", keyPath, undefined],
      ["PUT", keyPath, { ...stored.json, data: {} }],
      ["POST", "/api/v1/namespaces/default/secrets", { metadata: { name: "planted" }, data: {} }],
      ["GET", `/apis/gitward.dev/v1alpha1/namespaces/${NS}/applications`, undefined],
      ["GET", `/api/v1/namespaces/${NS}/configmaps`, undefined],
    ];
    for (const [method, urlPath, body] of attempts) {
      const r = await call(sb, method, urlPath, { token: rotationToken, body });
      expect(r.status, `${method} ${urlPath}`).toBe(403);
      expect(r.json["message"]).toContain(`User "${user}" cannot`);
    }
    const patched = await call(sb, "PATCH", keyPath, {
      token: rotationToken,
      type: "application/merge-patch+json",
      body: { data: {} },
    });
    expect(patched.status).toBe(403);

    const del = await k.run(["delete", "secret", key!.name, "-n", NS], { kubeconfig: rotationKubeconfig });
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain(`User "${user}" cannot delete resource "secrets"`);
    // Nothing above took effect.
    const again = await call(sb, "GET", keyPath);
    expect(again.json["data"]).toEqual(stored.json["data"]);
    expect(await sealingKeys()).toHaveLength(2);
  });

  it("leaves the operator's account read-only on Secrets, here and in its own namespace", async () => {
    for (const ns of [NS, SYSTEM]) {
      expect(await canI(operatorKubeconfig, "list", "secrets", "-n", ns)).toBe("yes");
      expect(await canI(operatorKubeconfig, "create", "secrets", "-n", ns)).toBe("no");
      expect(await canI(operatorKubeconfig, "delete", "secrets", "-n", ns)).toBe("no");
      const r = await call(sb, "POST", `/api/v1/namespaces/${ns}/secrets`, {
        token: sb.serviceAccountToken(SYSTEM, "gitward"),
        body: { metadata: { name: "planted" }, data: {} },
      });
      expect(r.status).toBe(403);
    }
  });

  it("lives in a namespace where no account has rights but itself, so no token worth minting is there", async () => {
    const accounts = JSON.parse(
      (await mustKubectl(["get", "serviceaccounts", "-n", NS, "-o", "json"])).stdout,
    ) as { items: { metadata: { name: string } }[] };
    const names = accounts.items.map((a) => a.metadata.name).filter((n) => n !== "default");
    expect(names).toEqual([ROTATION_SA]);
    // Every binding in the namespace: the rotation account's own, and the operator's read-only one.
    const bindings = JSON.parse(
      (await mustKubectl(["get", "rolebindings", "-n", NS, "-o", "json"])).stdout,
    ) as { items: { roleRef: { name: string }; subjects: { name: string; namespace?: string }[] }[] };
    expect(
      bindings.items
        .map((b) => [b.roleRef.name, b.subjects.map((x) => `${x.namespace ?? ""}/${x.name}`)])
        .sort(),
    ).toEqual([
      ["gitward-key-rotation", [`${NS}/${ROTATION_SA}`]],
      ["gitward-operator-keys", [`${SYSTEM}/gitward`]],
    ]);
    // And the default account there may do nothing with Secrets.
    const defaultToken = sb.serviceAccountToken(NS, "default");
    const r = await call(sb, "GET", `/api/v1/namespaces/${NS}/secrets`, { token: defaultToken });
    expect(r.status).toBe(403);
  });
});
