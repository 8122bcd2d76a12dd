// Helpers for the sandbox tests: raw HTTPS requests trusting the sandbox's certificate, and kubectl runs
// against a kubeconfig in a temp dir (with its own discovery cache, so runs do not share state).
import https from "node:https";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { toolPath } from "../support/tools.js";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

export function call(
  sb: Sandbox,
  method: string,
  urlPath: string,
  opts: {
    body?: unknown;
    raw?: string | Buffer;
    type?: string;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const url = new URL(urlPath, sb.url);
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  if (opts.token !== null) headers["Authorization"] = `Bearer ${opts.token ?? sb.adminToken}`;
  let payload: string | Buffer | undefined;
  if (opts.raw !== undefined) payload = opts.raw;
  else if (opts.body !== undefined) payload = JSON.stringify(opts.body);
  if (payload !== undefined) {
    headers["Content-Type"] = opts.type ?? "application/json";
    // Node sends a DELETE body unframed unless its length is given.
    headers["Content-Length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: sb.caPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Not JSON (watch streams, health checks): the text is there.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface Kubectl {
  dir: string;
  run(
    args: string[],
    opts?: { input?: string; kubeconfig?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

export async function kubectlFor(sb: Sandbox): Promise<Kubectl> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-kubectl-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, sb.kubeconfig, { mode: 0o600 });
  return {
    dir,
    run(args, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          toolPath("kubectl"),
          ["--cache-dir", path.join(dir, "cache"), ...args],
          {
            env: {
              PATH: process.env["PATH"] ?? "/usr/bin:/bin",
              HOME: dir,
              KUBECONFIG: opts.kubeconfig ?? kubeconfig,
            },
            timeout: 30_000,
          },
          (err, stdout, stderr) => {
            const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
            resolve({ code, stdout, stderr });
          },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
      });
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface WatchStream {
  events: { type: string; object: Record<string, unknown> }[];
  /** Resolves when an event passes the test (or rejects after the timeout). */
  until(test: (e: { type: string; object: Record<string, unknown> }) => boolean, ms?: number): Promise<void>;
  /** Resolves when the server ends or drops the stream. */
  closed: Promise<void>;
  close(): void;
}

/** Opens a watch and collects its events line by line. */
export function watch(sb: Sandbox, urlPath: string, token?: string): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const events: WatchStream["events"] = [];
    const waiters: (() => void)[] = [];
    let closedResolve: () => void = () => undefined;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const req = https.request(
      new URL(urlPath, sb.url),
      { headers: { Authorization: `Bearer ${token ?? sb.adminToken}` }, ca: sb.caPem },
      (res) => {
        let buf = "";
        res.on("data", (c: Buffer) => {
          buf += c.toString("utf8");
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() !== "") events.push(JSON.parse(line) as WatchStream["events"][number]);
          }
          for (const w of waiters) w();
        });
        res.on("close", closedResolve);
        res.on("error", closedResolve);
        resolve({
          events,
          closed,
          close: () => req.destroy(),
          until: (test, ms = 5000) =>
            new Promise((ok, fail) => {
              const check = (): boolean => {
                if (events.some(test)) {
                  clearTimeout(timer);
                  ok();
                  return true;
                }
                return false;
              };
              const timer = setTimeout(() => {
                fail(
                  new Error(
                    `watch: no matching event in ${ms} ms; got ${JSON.stringify(events.map((e) => e.type))}`,
                  ),
                );
              }, ms);
              if (!check()) waiters.push(() => void check());
            }),
        });
      },
    );
    req.on("error", (err) => {
      closedResolve();
      reject(err);
    });
    req.end();
  });
}

/**
 * A namespaced Widget CRD of example.org (v1) as YAML: `version` is the YAML of the version entry's
 * further fields (schema, subresources, printer columns), indented by six spaces.
 */
export const widgetCrd = (version: string): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.org}
spec:
  group: example.org
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
${version}`;

/** A sandbox and a kubectl for it, started before a file's tests and stopped after them. */
export function withSandbox(): { readonly sb: Sandbox; readonly k: Kubectl } {
  const ctx = {} as { sb: Sandbox; k: Kubectl };
  beforeAll(async () => {
    ctx.sb = await startSandbox();
    ctx.k = await kubectlFor(ctx.sb);
  });
  afterAll(async () => {
    await ctx.sb.stop();
    await ctx.k.cleanup();
  });
  return ctx;
}
