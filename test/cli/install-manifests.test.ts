// The install manifests name gitward flags the CLI must know: every argument of the operator's Deployment
// and of the key-rotation CronJob is parsed by the built CLI as is (a flag renamed in the code but not in
// deploy/install would otherwise only fail in a cluster).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot, runCli } from "../support/tools.js";

interface Container {
  args?: string[];
  env?: { name: string; value?: string }[];
}

async function containersOf(file: string, kind: string): Promise<Container[]> {
  const docs = parseAllDocuments(await readFile(path.join(repoRoot, "deploy", file), "utf8")).map(
    (d) => d.toJS() as { kind?: string; spec?: Record<string, unknown> },
  );
  const obj = docs.find((d) => d.kind === kind);
  if (obj === undefined) throw new Error(`${file} has no ${kind}`);
  const pod =
    kind === "CronJob"
      ? (obj.spec as { jobTemplate: { spec: { template: { spec: { containers: Container[] } } } } })
          .jobTemplate.spec.template.spec
      : (obj.spec as { template: { spec: { containers: Container[] } } }).template.spec;
  return pod.containers;
}

function gitward(args: string[]): Promise<{ code: number; stderr: string }> {
  // No cluster anywhere: the commands must get past parsing and stop at the missing kubeconfig.
  return runCli(args, {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: "/nonexistent",
      KUBECONFIG: "/nonexistent/kubeconfig",
    },
  });
}

describe("the install manifests' gitward arguments", () => {
  it.each([
    ["install/deployment.yaml", "Deployment"],
    ["install/key-rotation.yaml", "CronJob"],
    ["webhook/webhook.yaml", "Deployment"],
  ])("%s: every flag is known to the CLI", async (file, kind) => {
    const [container] = await containersOf(file, kind);
    const args = container?.args ?? [];
    expect(args.length).toBeGreaterThan(1);
    const r = await gitward(args);
    expect(r.stderr).not.toMatch(/unknown option|unknown command|too many arguments/);
    // Parsed, then stopped where a cluster is needed: the kubeconfig given through $KUBECONFIG is missing.
    expect(r.stderr).toMatch(/none of the files in \$KUBECONFIG exists|kubeconfig/);
    expect(r.code).not.toBe(0);
  });

  it("the operator signs audit records with the key the gitward-audit-key Secret mounts", async () => {
    const docs = parseAllDocuments(
      await readFile(path.join(repoRoot, "deploy", "install", "deployment.yaml"), "utf8"),
    ).map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: Record<string, unknown> } } });
    const pod = docs.find((d) => d.kind === "Deployment")?.spec?.template.spec as {
      volumes: { name: string; secret?: { secretName: string; defaultMode?: number } }[];
      containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
    };
    const keyArg = pod.containers[0]?.args.find((a) => a.startsWith("--audit-key="));
    const volume = pod.volumes.find((v) => v.secret?.secretName === "gitward-audit-key");
    const mount = pod.containers[0]?.volumeMounts.find((m) => m.name === volume?.name);
    expect(keyArg).toBe(`--audit-key=${mount?.mountPath ?? "?"}/audit.key`);
    expect(volume?.secret?.defaultMode).toBe(0o440);
  });

  it("the operator runs with the young-generation limit the memory benchmark measures", async () => {
    const [container] = await containersOf("install/deployment.yaml", "Deployment");
    expect(container?.env).toContainEqual({ name: "NODE_OPTIONS", value: "--max-semi-space-size=16" });
  });
});
