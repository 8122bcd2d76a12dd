// A `gitward run` process of the built CLI, its JSON log lines collected as they come (with the time the
// test saw each), for tests that run replicas as they are deployed: separate processes, killed for real.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { cliEntry } from "./tools.js";

export interface RunProc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: { at: number; rec: Record<string, unknown> }[];
  /** The address of /metrics and /hooks/, once the process logged "gitward run started". */
  url?: string;
  readonly exit: Promise<number | null>;
}

/** Starts `gitward run ARGS` with only PATH and `env` in its environment. */
export function spawnRun(name: string, args: readonly string[], env: Record<string, string>): RunProc {
  const child = spawn(process.execPath, [cliEntry, "run", ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
  });
  const p: RunProc = {
    name,
    child,
    lines: [],
    exit: new Promise((resolve) => {
      child.on("exit", (code) => {
        resolve(code);
      });
    }),
  };
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    p.lines.push({ at: Date.now(), rec: { msg: `stderr: ${chunk}` } });
  });
  let buf = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        p.lines.push({ at: Date.now(), rec });
        if (rec["msg"] === "gitward run started") p.url = String(rec["listen"]);
      } catch {
        p.lines.push({ at: Date.now(), rec: { msg: line } });
      }
    }
  });
  return p;
}

export interface ReplicaArgs {
  readonly configFile: string;
  readonly kubeconfig: string;
  /** Folder of the replica's cache and audit log. */
  readonly dir: string;
  readonly leaseMs: number;
}

/** The flags of one replica as tests deploy it: an ephemeral metrics port, and its own cache and audit
 * log, as pods with their own volumes have (one writer per file). */
export function replicaArgs(name: string, a: ReplicaArgs): string[] {
  return [
    "--config",
    a.configFile,
    "--kubeconfig",
    a.kubeconfig,
    "--metrics-addr",
    "127.0.0.1:0",
    "--cache-dir",
    path.join(a.dir, `cache-${name}`),
    "--audit-log",
    path.join(a.dir, `audit-${name}.jsonl`),
    "--lease-duration",
    `${String(a.leaseMs)}ms`,
    "--identity",
    name,
    "--health-timeout",
    "10s",
  ];
}
