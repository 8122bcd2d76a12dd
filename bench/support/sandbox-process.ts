// Shared by the benchmarks that need a cluster: `gitward sandbox` in its own process, as a real API server
// would be (neither the timed client nor its memory shares a process with the server), and gitward's own
// least-privilege identity with the shop namespace's grant to it (deploy/install, deploy/examples).
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const cli = path.join(root, "dist", "src", "cli", "main.js");

export interface SandboxProcess {
  readonly child: ChildProcess;
  /** The admin kubeconfig (system:masters). */
  readonly kubeconfig: string;
}

export async function startSandboxProcess(dir: string, name: string): Promise<SandboxProcess> {
  const file = path.join(dir, `${name}.kubeconfig`);
  const child = spawn(
    process.execPath,
    [cli, "sandbox", "--port", "0", "--write-kubeconfig", file, "-o", "json"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      try {
        JSON.parse(out);
        resolve();
      } catch {
        // Not the whole JSON document yet.
      }
    });
    child.on("exit", (code) => {
      reject(new Error(`gitward sandbox exited with ${String(code)}`));
    });
  });
  return { child, kubeconfig: await readFile(file, "utf8") };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  child.kill("SIGTERM");
  await exited;
}

/** The shop namespace, gitward's identity and the shop namespace's grant to it, applied as admin. */
export async function installOperatorIdentity(admin: ClusterClient): Promise<void> {
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
  for (const file of ["deploy/install/operator.yaml", "deploy/examples/application-rbac.yaml"]) {
    for (const d of parseAllDocuments(await readFile(path.join(root, file), "utf8"))) {
      const o = d.toJS() as KubeObject | null;
      if (o !== null) await admin.apply(o);
    }
  }
}
