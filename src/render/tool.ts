// Runs kustomize or helm as a child process without a shell, with a timeout, an output cap and a private
// HOME, so a tool can neither hang the check nor read or write the user's configuration.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { RenderErrorCode, renderError, type RenderError, type RenderLimits } from "./types.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export type ToolResult = { ok: true; stdout: string } | { ok: false; error: RenderError };

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
          encoding: "buffer",
        },
        (err, stdoutBytes, stderrBytes) => {
          const name = path.basename(bin);
          const stderr = stderrBytes.toString("utf8");
          if (err === null) {
            // Decoded strictly: a lenient decoder would turn bytes that are not UTF-8 into U+FFFD unseen.
            try {
              resolve({ ok: true, stdout: strictUtf8.decode(stdoutBytes) });
            } catch {
              resolve({
                ok: false,
                error: renderError(
                  RenderErrorCode.BadEncoding,
                  `${name} wrote output that is not valid UTF-8; save every file of the chart or kustomization as UTF-8`,
                ),
              });
            }
            return;
          }
          const spawnFailed = (err as NodeJS.ErrnoException).code === "ENOENT";
          const detail = spawnFailed ? `${bin} not found` : stderr.trim().slice(0, 2000) || err.message;
          resolve({
            ok: false,
            error: renderError(
              RenderErrorCode.ToolFailed,
              `${name} failed: ${detail}${spawnFailed ? "; run `npm run setup:tools`" : ""}`,
            ),
          });
        },
      );
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
