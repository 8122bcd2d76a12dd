// Finds the kubectl and helm binaries (one lookup for check, reconcile, run and the demo) and runs them as
// child processes without a shell, with a timeout, an output cap and a private HOME, so a tool can neither
// hang the check nor read or write the user's configuration.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RenderErrorCode, renderError, type RenderError, type RenderLimits } from "./types.js";

/** The binaries a render runs, as resolved paths (or bare names looked up on PATH as the last resort). */
export interface RenderTools {
  readonly kubectl: string;
  readonly helm: string;
}

/** The environment variables an operator can set instead of --kubectl / --helm. */
export const TOOL_ENV = { kubectl: "GITWARD_KUBECTL", helm: "GITWARD_HELM" } as const;

/**
 * The one tool lookup: a flag given by the operator, else $GITWARD_KUBECTL / $GITWARD_HELM, else the
 * project's .tools/bin (scripts/setup-tools.sh, the versions the tests prove), else the name on PATH.
 * PATH comes last so that `check` in CI and `reconcile` on a laptop whose PATH holds an older kubectl
 * render with the same binary. The path is never taken from an Application: that is read from the cluster
 * or a repository, and naming a binary there would let whoever writes it choose what gitward executes.
 */
export function resolveTools(
  flags: { readonly kubectl?: string | undefined; readonly helm?: string | undefined } = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): RenderTools {
  const pick = (name: "kubectl" | "helm"): string => {
    const fromFlag = flags[name];
    if (fromFlag !== undefined && fromFlag !== "") return fromFlag;
    const fromEnv = env[TOOL_ENV[name]];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    return bundledTool(name) ?? name;
  };
  return { kubectl: pick("kubectl"), helm: pick("helm") };
}

/** kubectl or helm in the .tools/bin of the package gitward runs from (src/render or dist/src/render). */
function bundledTool(name: "kubectl" | "helm"): string | undefined {
  let cur = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(cur, ".tools", "bin", name);
    if (existsSync(candidate)) return candidate;
    cur = path.dirname(cur);
  }
  return undefined;
}

export type ToolResult = { ok: true; stdout: string; stderr: string } | { ok: false; error: RenderError };

/** Runs `bin args` in `cwd`; `env(home)` adds variables that point into the private temporary home. */
export async function runTool(
  bin: string,
  args: readonly string[],
  cwd: string,
  limits: RenderLimits,
  env: (home: string) => Record<string, string> = () => ({}),
): Promise<ToolResult> {
  const home = await mkdtemp(path.join(os.tmpdir(), "gitward-render-"));
  try {
    const childEnv: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, "config"),
      XDG_CACHE_HOME: path.join(home, "cache"),
      ...env(home),
    };
    return await new Promise<ToolResult>((resolve) => {
      execFile(
        bin,
        args,
        {
          cwd,
          env: childEnv,
          timeout: limits.toolTimeoutMs,
          maxBuffer: limits.maxToolOutputBytes,
          encoding: "utf8",
        },
        (err, stdout, stderr) => {
          if (err === null) {
            resolve({ ok: true, stdout, stderr });
            return;
          }
          const name = path.basename(bin);
          const spawnFailed = (err as NodeJS.ErrnoException).code === "ENOENT";
          const detail = spawnFailed ? `${bin} not found` : stderr.trim().slice(0, 2000) || err.message;
          resolve({
            ok: false,
            error: renderError(
              RenderErrorCode.ToolFailed,
              `${name} failed: ${detail}${spawnFailed ? `; run \`npm run setup:tools\`, or name the binaries with --kubectl/--helm or $${TOOL_ENV.kubectl}/$${TOOL_ENV.helm}` : ""}`,
            ),
          });
        },
      );
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
