// The HTTP face of `gitward run`: Prometheus metrics, liveness and readiness probes, and the receiver of
// git push webhooks that lets a push trigger a reconcile at once. Every webhook request is attacker-
// controlled until its signature is verified: the body is size-capped, never echoed, and an unknown
// Application gets the same answer as a bad signature so that names cannot be probed.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_WEBHOOK_BYTES, verifyGitWebhook } from "../notify/git-webhooks.js";
import { HookGuard, type HookGuardLimits } from "../notify/hook-guard.js";
import type { Logger } from "./logger.js";
import type { OperatorMetrics } from "./metrics.js";

/** What a verified push tells the reconciler. */
export interface HookTrigger {
  provider: string;
  event: string;
  ref?: string;
  after?: string;
  delivery?: string;
}

export interface HookTarget {
  /** The Application's one name ("namespace/name"), whichever path reached it: the rate-limit key. */
  id?: string;
  /** The shared secret configured for this Application's webhook. */
  secret: string;
  trigger(verdict: HookTrigger): void;
}

export interface HookReceiver {
  /** The Application behind /hooks/<namespace>/<name> (or /hooks/<name>), or undefined when there is none. */
  lookup(app: { namespace?: string; name: string }): HookTarget | undefined;
}

export interface Readiness {
  ok: boolean;
  reason?: string;
}

export interface OperatorServerOptions {
  host: string;
  port: number;
  metrics: OperatorMetrics;
  ready: () => Readiness;
  /** Without it, /hooks/... answers 404: push webhooks are off. */
  hooks?: HookReceiver;
  /** Repeated deliveries and trigger rate per Application (defaults: DEFAULT_HOOK_LIMITS). */
  hookLimits?: Partial<HookGuardLimits>;
  log?: Logger;
}

export interface OperatorServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Slow or stalled clients are cut off; a probe or a webhook needs far less. */
export const REQUEST_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 5_000;

/** Events that mean new commits on a ref; others (ping, issues...) are acknowledged and ignored. */
const TRIGGER_EVENTS: ReadonlySet<string> = new Set(["push", "tag_push"]);

/** A Kubernetes object name (DNS-1123 subdomain); anything else cannot name an Application. */
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

type Route =
  | { kind: "metrics" | "healthz" | "readyz"; allow: readonly string[] }
  | { kind: "hook"; allow: readonly string[]; app: { namespace?: string; name: string } };

const UNAUTHORIZED = JSON.stringify({ error: "unauthorized" });

export async function startOperatorServer(opts: OperatorServerOptions): Promise<OperatorServer> {
  // Unknown Applications are "verified" against a secret nobody knows, so their answer takes as long
  // as a real Application's with a bad signature.
  const decoySecret = randomBytes(32).toString("hex");
  const guard = new HookGuard(opts.hookLimits);
  const server = createServer(
    {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // The timeouts above are only enforced as often as connections are checked (30 s by default).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle({ req, res, opts, decoySecret, guard }).catch((err: unknown) => {
        opts.log?.error({ err, path: routePath(req).slice(0, 512) }, "operator server request failed");
        if (!res.headersSent) send(res, { status: 500, body: "internal error\n" });
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  opts: OperatorServerOptions;
  decoySecret: string;
  guard: HookGuard;
}

async function handle(x: Exchange): Promise<void> {
  const { req, res, opts } = x;
  const route = matchRoute(routePath(req), opts.hooks !== undefined);
  if (route === undefined) {
    send(res, { status: 404, body: "not found\n" });
    return;
  }
  const method = req.method ?? "";
  if (!route.allow.includes(method)) {
    send(res, { status: 405, body: "method not allowed\n", headers: { allow: route.allow.join(", ") } });
    return;
  }
  switch (route.kind) {
    case "healthz":
      send(res, { status: 200, body: "ok\n" });
      return;
    case "readyz":
      readyz(res, opts.ready);
      return;
    case "metrics":
      send(res, {
        status: 200,
        body: await opts.metrics.text(),
        headers: { "content-type": opts.metrics.contentType },
      });
      return;
    case "hook":
      await hook(x, route.app);
      return;
  }
}

function routePath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function matchRoute(path: string, hooksOn: boolean): Route | undefined {
  const probe = ["GET", "HEAD"] as const;
  switch (path) {
    case "/metrics":
      return { kind: "metrics", allow: probe };
    case "/healthz":
      return { kind: "healthz", allow: probe };
    case "/readyz":
      return { kind: "readyz", allow: probe };
  }
  if (!hooksOn || !path.startsWith("/hooks/")) return undefined;
  const parts = path.slice("/hooks/".length).split("/");
  if (parts.some((p) => p === "")) return undefined;
  const [first, second] = parts;
  if (parts.length === 1 && first !== undefined) {
    return { kind: "hook", allow: ["POST"], app: { name: first } };
  }
  if (parts.length === 2 && first !== undefined && second !== undefined) {
    return { kind: "hook", allow: ["POST"], app: { namespace: first, name: second } };
  }
  return undefined;
}

/** Not ready when ready() says so, and also when it throws: a probe must not report a broken check as fine. */
function readyz(res: ServerResponse, ready: () => Readiness): void {
  let state: Readiness;
  try {
    state = ready();
  } catch {
    state = { ok: false, reason: "readiness check failed" };
  }
  if (state.ok) send(res, { status: 200, body: "ok\n" });
  else send(res, { status: 503, body: `not ready: ${state.reason ?? "unknown"}\n` });
}

async function hook(x: Exchange, app: { namespace?: string; name: string }): Promise<void> {
  const { req, res, opts } = x;
  // Taken from the request line, so capped before it reaches a log line.
  const appPath = (app.namespace === undefined ? app.name : `${app.namespace}/${app.name}`).slice(0, 512);
  const remote = req.socket.remoteAddress ?? "unknown";

  const declared = Number(req.headers["content-length"] ?? "0");
  if (!Number.isFinite(declared) || declared > MAX_WEBHOOK_BYTES) {
    tooLarge({ req, res, opts, appPath, remote });
    return;
  }
  const read = await readBody(req, MAX_WEBHOOK_BYTES);
  if (read.kind === "aborted") {
    opts.log?.debug({ app: appPath, remote }, "git webhook client went away before sending its body");
    return;
  }
  if (read.kind === "too-large") {
    tooLarge({ req, res, opts, appPath, remote });
    return;
  }

  const named =
    (app.namespace === undefined || NAME_PATTERN.test(app.namespace)) && NAME_PATTERN.test(app.name);
  const target = named ? opts.hooks?.lookup(app) : undefined;
  const verdict = verifyGitWebhook(req.headers, read.body, target?.secret ?? x.decoySecret);
  if (target === undefined || !verdict.ok) {
    const reason = target === undefined || verdict.ok ? "UNKNOWN_APPLICATION" : verdict.reason;
    opts.log?.warn({ provider: verdict.provider, reason, app: appPath, remote }, "git webhook rejected");
    send(res, { status: 401, body: UNAUTHORIZED, headers: { "content-type": "application/json" } });
    return;
  }

  const { provider, event } = verdict;
  if (!TRIGGER_EVENTS.has(event)) {
    opts.log?.info({ provider, event, app: appPath }, "git webhook verified, event ignored");
    send(res, {
      status: 200,
      body: JSON.stringify({ accepted: false }),
      headers: { "content-type": "application/json" },
    });
    return;
  }
  const trigger: HookTrigger = { provider, event };
  if (verdict.ref !== undefined) trigger.ref = verdict.ref;
  if (verdict.after !== undefined) trigger.after = verdict.after;
  if (verdict.delivery !== undefined) trigger.delivery = verdict.delivery;
  const admission = x.guard.admit(target.id ?? appPath, verdict.delivery);
  if (!admission.ok && admission.reason === "DUPLICATE") {
    opts.log?.info({ ...trigger, app: appPath }, "git webhook verified, delivery seen before: ignored");
    send(res, {
      status: 200,
      body: JSON.stringify({ accepted: false, duplicate: true }),
      headers: { "content-type": "application/json" },
    });
    return;
  }
  if (!admission.ok) {
    opts.log?.warn({ ...trigger, app: appPath, remote }, "git webhook verified, but over the trigger rate");
    send(res, {
      status: 429,
      body: JSON.stringify({ error: "too many requests" }),
      headers: { "content-type": "application/json", "retry-after": String(admission.retryAfterSeconds) },
    });
    return;
  }
  target.trigger(trigger);
  opts.log?.info({ ...trigger, app: appPath }, "git webhook verified, reconcile triggered");
  send(res, {
    status: 202,
    body: JSON.stringify({ accepted: true }),
    headers: { "content-type": "application/json" },
  });
}

/**
 * Answers 413 and stops reading: the rest of the body is never buffered, and the connection is closed
 * once the answer is out, so a client cannot keep streaming into it.
 */
function tooLarge(o: {
  req: IncomingMessage;
  res: ServerResponse;
  opts: OperatorServerOptions;
  appPath: string;
  remote: string;
}): void {
  o.opts.log?.warn(
    { reason: "TOO_LARGE", app: o.appPath, remote: o.remote, limit: MAX_WEBHOOK_BYTES },
    "git webhook rejected",
  );
  o.req.pause();
  o.res.on("finish", () => o.req.socket.destroy());
  send(o.res, {
    status: 413,
    body: JSON.stringify({ error: "payload too large" }),
    headers: { "content-type": "application/json", connection: "close" },
  });
}

type BodyRead = { kind: "body"; body: Buffer } | { kind: "too-large" } | { kind: "aborted" };

/** The raw body; "too-large" as soon as it grows past the limit, and the rest is then left unread. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ kind: "too-large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      finish({ kind: "body", body: Buffer.concat(chunks, size) });
    };
    const onAbort = () => {
      finish({ kind: "aborted" });
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onAbort);
  });
}

function send(
  res: ServerResponse,
  r: { status: number; body: string; headers?: Readonly<Record<string, string>> },
): void {
  res.writeHead(r.status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...r.headers,
  });
  res.end(r.body);
}
