// Paths of the real tools tests use: kubectl and helm from .tools/bin (scripts/setup-tools.sh), the rest
// from the system PATH.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The checkout's root, also when this file runs compiled from dist/ (benches import test/support). */
export const repoRoot = path.basename(here) === "dist" ? path.dirname(here) : here;

export function toolPath(name: "kubectl" | "helm"): string {
  return path.join(repoRoot, ".tools", "bin", name);
}

/** The built CLI entry (npm test builds before running tests). */
export const cliEntry = path.join(repoRoot, "dist", "src", "cli", "main.js");

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI to its end: `input` on stdin (closed either way), and `env` instead of this process's
 * environment when given.
 */
export function runCli(
  args: readonly string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.env === undefined ? {} : { env: opts.env }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}
