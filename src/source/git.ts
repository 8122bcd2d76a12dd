// Runs the git binary for gitward: execFile (never a shell), a fixed environment that shuts out the
// machine's git config, prompts and hooks, and errors that carry git's stderr with credentials redacted.
import { execFile } from "node:child_process";
import { proxyEnvOf } from "../net/proxy.js";

export interface GitRunOptions {
  /** Repository (or working) folder. */
  cwd?: string;
  /** Extra environment, e.g. GIT_SSH_COMMAND; merged over the fixed base below. */
  env?: Readonly<Record<string, string>>;
  input?: string | Buffer;
  /** Strings to blank out of error text (passwords, tokens) should git ever echo them. */
  redact?: readonly string[];
  /** Kills git after this long (default 5 minutes). */
  timeoutMs?: number;
}

/** git exited non-zero: `stderr` is redacted, `args` never holds a credential by construction. */
export class GitCommandError extends Error {
  override readonly name = "GitCommandError";
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | string | undefined,
    readonly stderr: string,
  ) {
    super(
      `git ${args[0] ?? ""} failed (exit ${String(exitCode)}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
    );
  }
}

/**
 * The environment every git child gets. Only PATH, HOME and locale pass through from our own; the global
 * and system config are ignored (a url.insteadOf or credential helper there must not affect a fetch),
 * prompts are off, and only the transports gitward supports are allowed.
 */
export function baseGitEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: process.env.HOME ?? "/nonexistent",
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    GIT_ALLOW_PROTOCOL: "file:git:http:https:ssh",
    // The proxy settings pass through: git (libcurl) honours them itself. docs/network.md.
    ...proxyEnvOf(),
  };
  return env;
}

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    out = out.split(s).join("[REDACTED]");
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.split(encoded).join("[REDACTED]");
  }
  return out;
}

function exec(args: readonly string[], opts: GitRunOptions, encoding: "buffer"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      {
        cwd: opts.cwd,
        env: { ...baseGitEnv(), ...opts.env },
        encoding,
        maxBuffer: 512 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 300_000,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err) {
          const text = redactText(stderr.toString("utf8"), opts.redact ?? []);
          reject(new GitCommandError(args, err.code ?? err.signal ?? undefined, text));
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.end(opts.input);
  });
}

/** Runs git and returns stdout as text (trailing newline removed). */
export async function git(args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
  return (await exec(args, opts, "buffer")).toString("utf8").replace(/\n$/, "");
}

/** Runs git and returns stdout as raw bytes. */
export function gitRaw(args: readonly string[], opts: GitRunOptions = {}): Promise<Buffer> {
  return exec(args, opts, "buffer");
}
