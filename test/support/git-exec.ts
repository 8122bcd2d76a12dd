// Runs the real command-line tools the git test harness drives (git, gpg, ssh-keygen), without a shell,
// and makes the temp folders they work in. Shared by git-repo.ts, git-server.ts and signers.ts.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

interface RawResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  error: Error | null;
}

/** The one place that spawns: no shell, the caller's env over ours, stdin always closed. */
function spawnTool(file: string, args: readonly string[], opts: RunOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        maxBuffer: 256 * 1024 * 1024,
        encoding: "buffer",
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        resolve({ code, stdout, stderr: stderr.toString("utf8"), error: err });
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** Runs a command and resolves with its output; rejects with the command line and stderr on failure. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await spawnTool(file, args, opts);
  if (r.error !== null) throw new Error(`${file} ${args.join(" ")} failed: ${r.error.message}\n${r.stderr}`);
  return { stdout: r.stdout.toString("utf8"), stderr: r.stderr };
}

/** Like run(), but resolves with the exit code instead of rejecting (for tools used as oracles). */
export async function runStatus(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult & { code: number }> {
  const r = await spawnTool(file, args, opts);
  return { stdout: r.stdout.toString("utf8"), stderr: r.stderr, code: r.code };
}

/** Runs a command and resolves with its raw stdout bytes (for objects that may not be UTF-8). */
export async function runRaw(file: string, args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  const r = await spawnTool(file, args, opts);
  if (r.error !== null) throw new Error(`${file} ${args.join(" ")} failed: ${r.error.message}\n${r.stderr}`);
  return r.stdout;
}

/** A fresh temp folder; the caller removes it with removeDir(). */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `gitward-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Environment that keeps the machine's own git config (and identity) out of test repositories. */
export const isolatedGitEnv: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.com",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "author@example.com",
  GIT_TERMINAL_PROMPT: "0",
};
