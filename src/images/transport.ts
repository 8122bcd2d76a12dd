// HTTP(S) requests to registries with node:http/https: keep-alive agents per TLS setting, a custom CA, a
// hard bound on every response body (the read stops, and the request is aborted, one byte past the bound),
// and a deadline for the whole answer: an inactivity timeout alone lets a registry that sends one byte a
// second hold a request forever. node:https rather than fetch: fetch has no per-request CA without undici.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Transform, type Readable } from "node:stream";
import { RegistryError, RegistryErrorCode } from "./errors.js";
import { processProxy, type ProxyEnv } from "../net/proxy.js";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH";
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Largest body accepted; bigger answers fail with TOO_LARGE. */
  maxBytes: number;
  /** PEM CA bundle for HTTPS; the system roots otherwise. */
  ca?: string;
  /** Longest silence on the connection (default 30 s). */
  timeoutMs?: number;
  /** Longest time for the whole request, first byte sent to last byte read (default 60 s). */
  deadlineMs?: number;
  /** An outer deadline (a whole verification's): when it aborts, the request ends with its error. */
  deadline?: { signal: AbortSignal; error: (where: string) => RegistryError };
}

/** The default inactivity timeout and whole-request deadline, in ms. */
export const TRANSPORT_DEFAULTS = { timeoutMs: 30_000, deadlineMs: 60_000 } as const;

/** Node's proxy support for the agents: HTTPS_PROXY/HTTP_PROXY honoured, NO_PROXY hosts reached directly. */
function proxyOption(): { proxyEnv?: ProxyEnv } {
  const env = processProxy();
  return Object.keys(env).length === 0 ? {} : { proxyEnv: env };
}

let plainAgent: HttpAgent | undefined;
const httpsAgents = new Map<string, HttpsAgent>();

function httpAgent(): HttpAgent {
  plainAgent ??= new HttpAgent({ keepAlive: true, maxSockets: 16, ...proxyOption() });
  return plainAgent;
}

function httpsAgent(ca: string | undefined): HttpsAgent {
  const key = ca ?? "";
  let agent = httpsAgents.get(key);
  if (agent === undefined) {
    agent = new HttpsAgent({
      keepAlive: true,
      maxSockets: 16,
      ...(ca === undefined ? {} : { ca }),
      ...proxyOption(),
    });
    httpsAgents.set(key, agent);
  }
  return agent;
}

/** One request; resolves with any status (callers decide), rejects with RegistryError on transport faults. */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const secure = req.url.protocol === "https:";
  // Messages name the URL without its query: redirect targets carry signed tokens there.
  const where = `${req.url.origin}${req.url.pathname}`;
  const headers: Record<string, string> = { "user-agent": "gitward", ...req.headers };
  if (req.body !== undefined) headers["content-length"] = String(req.body.length);
  const deadlineMs = req.deadlineMs ?? TRANSPORT_DEFAULTS.deadlineMs;
  return new Promise((resolve, reject) => {
    const outer = req.deadline;
    if (outer?.signal.aborted === true) {
      reject(outer.error(where));
      return;
    }
    let response: import("node:http").IncomingMessage | undefined;
    // Every way out goes through settle: the timers and the abort listener end with the request.
    const settle = (finish: () => void): void => {
      clearTimeout(timer);
      outer?.signal.removeEventListener("abort", onAbort);
      finish();
    };
    const fail = (err: RegistryError): void => {
      settle(() => {
        reject(err);
      });
      response?.destroy();
      r.destroy();
    };
    const timer = setTimeout(() => {
      fail(
        new RegistryError(
          RegistryErrorCode.DEADLINE_EXCEEDED,
          `${where}: no complete answer within ${deadlineMs} ms; the registry is too slow or stalls`,
        ),
      );
    }, deadlineMs);
    const onAbort = (): void => {
      if (outer !== undefined) fail(outer.error(where));
    };
    outer?.signal.addEventListener("abort", onAbort, { once: true });
    const options = {
      method: req.method,
      headers,
      timeout: req.timeoutMs ?? TRANSPORT_DEFAULTS.timeoutMs,
      agent: secure ? httpsAgent(req.ca) : httpAgent(),
    };
    const onResponse = (res: import("node:http").IncomingMessage): void => {
      response = res;
      const declared = Number(res.headers["content-length"] ?? "0");
      if (req.method !== "HEAD" && declared > req.maxBytes) {
        fail(
          new RegistryError(
            RegistryErrorCode.TOO_LARGE,
            `${where}: answer of ${declared} bytes exceeds ${req.maxBytes}`,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBytes) {
          fail(
            new RegistryError(RegistryErrorCode.TOO_LARGE, `${where}: answer exceeds ${req.maxBytes} bytes`),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        settle(() => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      res.on("error", (err) => {
        fail(new RegistryError(RegistryErrorCode.UNREACHABLE, `${where}: ${err.message}`));
      });
    };
    const r = secure ? httpsRequest(req.url, options, onResponse) : httpRequest(req.url, options, onResponse);
    r.on("timeout", () => {
      r.destroy(new Error("timed out"));
    });
    r.on("error", (err) => {
      fail(new RegistryError(RegistryErrorCode.UNREACHABLE, `${req.url.origin}: ${err.message}`));
    });
    r.end(req.body);
  });
}

export interface StreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it arrives; errors with TOO_LARGE one byte past maxBytes, or when a deadline passes. */
  body: Readable;
}

/**
 * A GET whose body is streamed, not buffered (layer blobs): the same bound, inactivity timeout and deadlines
 * as send(), enforced on the stream. The caller must consume or destroy `body`.
 */
export function openStream(req: Omit<HttpRequest, "method" | "body">): Promise<StreamResponse> {
  const secure = req.url.protocol === "https:";
  const where = `${req.url.origin}${req.url.pathname}`;
  const deadlineMs = req.deadlineMs ?? TRANSPORT_DEFAULTS.deadlineMs;
  return new Promise((resolve, reject) => {
    const outer = req.deadline;
    if (outer?.signal.aborted === true) {
      reject(outer.error(where));
      return;
    }
    let body: Transform | undefined;
    const stop = (err: RegistryError): void => {
      clearTimeout(timer);
      outer?.signal.removeEventListener("abort", onAbort);
      r.destroy();
      if (body === undefined) reject(err);
      else body.destroy(err);
    };
    const timer = setTimeout(() => {
      stop(
        new RegistryError(
          RegistryErrorCode.DEADLINE_EXCEEDED,
          `${where}: no complete answer within ${deadlineMs} ms; the registry is too slow or stalls`,
        ),
      );
    }, deadlineMs);
    const onAbort = (): void => {
      if (outer !== undefined) stop(outer.error(where));
    };
    outer?.signal.addEventListener("abort", onAbort, { once: true });
    const options = {
      method: "GET",
      headers: { "user-agent": "gitward", ...req.headers },
      timeout: req.timeoutMs ?? TRANSPORT_DEFAULTS.timeoutMs,
      agent: secure ? httpsAgent(req.ca) : httpAgent(),
    };
    const onResponse = (res: import("node:http").IncomingMessage): void => {
      const declared = Number(res.headers["content-length"] ?? "0");
      if (declared > req.maxBytes) {
        stop(
          new RegistryError(
            RegistryErrorCode.TOO_LARGE,
            `${where}: answer of ${declared} bytes exceeds ${req.maxBytes}`,
          ),
        );
        return;
      }
      let size = 0;
      body = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > req.maxBytes) {
            done(
              new RegistryError(
                RegistryErrorCode.TOO_LARGE,
                `${where}: answer exceeds ${req.maxBytes} bytes`,
              ),
            );
            return;
          }
          done(null, chunk);
        },
      });
      const finish = (): void => {
        clearTimeout(timer);
        outer?.signal.removeEventListener("abort", onAbort);
      };
      body.once("close", finish);
      body.once("error", () => {
        finish();
        res.destroy();
      });
      res.on("error", (err) => {
        body?.destroy(new RegistryError(RegistryErrorCode.UNREACHABLE, `${where}: ${err.message}`));
      });
      res.pipe(body);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
    };
    const r = secure ? httpsRequest(req.url, options, onResponse) : httpRequest(req.url, options, onResponse);
    r.on("timeout", () => {
      r.destroy(new Error("timed out"));
    });
    r.on("error", (err) => {
      stop(new RegistryError(RegistryErrorCode.UNREACHABLE, `${req.url.origin}: ${err.message}`));
    });
    r.end();
  });
}
