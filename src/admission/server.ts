// The webhook's HTTPS server: POST /validate takes an AdmissionReview and answers with gitward's decision;
// /healthz and /metrics for the kubelet and Prometheus. Bodies are bounded in size (413) and time (408), a
// body that is not an AdmissionReview gets a 400, other methods a 405, and a decision that runs past its
// deadline is a denial (fail closed) sent before the API server gives up. The serving certificate is
// swapped with setSecureContext when the TLS source renews it: new connections get the new one, no restart.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AdmissionCode, type AdmissionDecider } from "./decide.js";
import type { AdmissionMetrics } from "./metrics.js";
import { parseReview, reviewResponse, type Verdict } from "./review.js";
import type { ServingTls } from "./rotation.js";
import { WEBHOOK_PATH } from "./webhook-config.js";

export interface WebhookServerOptions {
  readonly decider: AdmissionDecider;
  readonly tls: ServingTls;
  readonly metrics?: AdmissionMetrics;
  /** 0 or unset: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1; 0.0.0.0 in a Pod. */
  readonly host?: string;
  readonly limits?: Partial<WebhookLimits>;
  readonly log?: (
    level: "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export interface WebhookLimits {
  /** Largest review body (default 8 MiB: an object and its old version, each up to etcd's 1.5 MiB, in JSON). */
  readonly maxBodyBytes: number;
  /** The whole request, headers and body, must arrive within this (default 10 s). */
  readonly requestTimeoutMs: number;
  /** A decision still running after this is answered with a denial (default 4 s, under the 5 s timeout). */
  readonly decisionTimeoutMs: number;
}

export const WEBHOOK_LIMITS: WebhookLimits = {
  maxBodyBytes: 8 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  decisionTimeoutMs: 4_000,
};

export interface WebhookServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  stop(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Starts the HTTPS server; resolves once it listens. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const limits = { ...WEBHOOK_LIMITS, ...opts.limits };
  const first = opts.tls.current();
  const server = createServer({
    cert: first.certPem,
    key: first.keyPem,
    minVersion: "TLSv1.2",
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.requestTimeoutMs, 5_000),
  });
  opts.tls.onServing((pair) => {
    server.setSecureContext({ cert: pair.certPem, key: pair.keyPem, minVersion: "TLSv1.2" });
    opts.log?.("info", "serving certificate renewed");
  });
  server.on("request", (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      opts.log?.("error", "request failed", { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) send(res, 500, "internal error\n");
    });
  });
  // A client that sends garbage at the TLS or HTTP level gets its connection closed; the process goes on.
  server.on("clientError", (_err, socket) => socket.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      send(res, 200, "ok\n");
      return;
    }
    if (path === "/metrics" && opts.metrics !== undefined) {
      send(res, 200, await opts.metrics.registry.metrics());
      return;
    }
    if (path !== WEBHOOK_PATH) {
      send(res, 404, "not found\n");
      return;
    }
    if (req.method !== "POST") {
      send(res, 405, "only POST\n", { allow: "POST" });
      return;
    }
    const started = performance.now();
    let body: Buffer;
    try {
      body = await readBody(req, limits.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader("connection", "close");
        send(res, 413, `the review is larger than ${limits.maxBodyBytes} bytes\n`);
        req.destroy();
        return;
      }
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      send(res, 400, "the body is not JSON\n");
      return;
    }
    const parsed = parseReview(value);
    if (!parsed.ok) {
      send(res, 400, `not an AdmissionReview: ${parsed.message}\n`);
      return;
    }
    const verdict = await withDeadline(opts.decider.decide(parsed.request), limits.decisionTimeoutMs);
    opts.metrics?.latency.observe(
      { result: verdict.allowed ? "allowed" : "denied" },
      (performance.now() - started) / 1000,
    );
    send(res, 200, reviewResponse(parsed.request.uid, verdict));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `https://${shown.includes(":") ? `[${shown}]` : shown}:${port}${WEBHOOK_PATH}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** The decision, or a denial once `ms` have passed: the API server must hear "no", not time out. */
function withDeadline(decision: Promise<Verdict>, ms: number): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      resolve({
        allowed: false,
        code: AdmissionCode.Timeout,
        message: `gitward: denied [${AdmissionCode.Timeout}]: the decision took longer than ${ms} ms (a slow registry?); gitward fails closed`,
        warnings: [],
      });
    }, ms);
  });
  return Promise.race([decision, late]).finally(() => {
    clearTimeout(timer);
  });
}
