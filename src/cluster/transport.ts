// The transport of the Kubernetes API client: one pooled agent (and one for watches) per server, the
// kubeconfig's credentials and TLS on every request, impersonation, timeouts, and retries with backoff on
// 429, 5xx and network errors; a 401 renews rotated credentials once. Servers that cannot be reached as
// configured fail at once with a plain message.
import http from "node:http";
import https from "node:https";
import { BACKOFF_DEFAULTS, backoffDelay, realSleep, type BackoffOptions } from "./backoff.js";
import { ClusterError, ClusterErrorCode, codeForStatus, isRetryable } from "./errors.js";
import type { RequestCredentials, ResolvedKubeconfig } from "./kubeconfig.js";
import type { CallOptions, ClusterClientOptions } from "./client.js";

export type TransportOptions = Pick<ClusterClientOptions, "maxSockets" | "backoff" | "timeoutMs">;

export interface Reply {
  status: number;
  body: unknown;
  retryAfterMs?: number;
  /** The server's Date header, when it sent one (doctor compares clocks with it). */
  date?: string;
  /** The credentials the request was made with (a 401 forgets exactly these). */
  creds: RequestCredentials;
}

export function statusMessage(body: unknown, fallback: string): string {
  if (typeof body === "object" && body !== null && "message" in body) {
    const m = body.message;
    if (typeof m === "string" && m !== "") return m;
  }
  return fallback;
}

export function ensureOk(reply: Reply, what: string): void {
  if (reply.status >= 200 && reply.status < 300) return;
  const message = statusMessage(reply.body, `HTTP ${reply.status}`);
  throw new ClusterError(codeForStatus(reply.status), `${what} failed: ${message}`, reply.status);
}

export class Transport {
  readonly server: URL;
  private readonly agent: http.Agent;
  readonly watchAgent: http.Agent;
  readonly backoff: BackoffOptions;
  private readonly timeoutMs: number;

  constructor(
    readonly kc: ResolvedKubeconfig,
    options: TransportOptions,
  ) {
    this.server = kc.server;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
    this.agent =
      this.server.protocol === "http:" ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
    this.watchAgent =
      this.server.protocol === "http:"
        ? new http.Agent({ keepAlive: false })
        : new https.Agent({ keepAlive: false });
    this.backoff = options.backoff ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  /** One request, retried with backoff on 429, 5xx and network errors; other answers are returned. */
  async send(
    method: string,
    path: string,
    opts: CallOptions & { body?: string; contentType?: string; accept?: string },
  ): Promise<Reply> {
    const attempts = this.backoff.attempts ?? BACKOFF_DEFAULTS.attempts;
    const sleep = this.backoff.sleep ?? realSleep;
    let last: Reply | undefined;
    let lastError: unknown;
    let renewed = false;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(backoffDelay(i - 1, this.backoff, last?.retryAfterMs));
      try {
        last = await this.once(method, path, opts);
        lastError = undefined;
        // A 401 may mean a rotated token or an expired plugin credential: get a fresh one, once.
        if (last.status === 401 && !renewed && this.kc.credentials.invalidate(last.creds)) {
          renewed = true;
          last = await this.once(method, path, opts);
        }
        if (!isRetryable(last.status)) return last;
      } catch (err) {
        // Credentials that cannot be read (a missing token file, a failing plugin) do not get better.
        if (err instanceof ClusterError) throw err;
        // Nothing listening, or a certificate that does not verify, does not get better by retrying.
        const fatal = unreachable(err, this.server.origin);
        if (fatal !== undefined) throw fatal;
        last = undefined;
        lastError = err;
      }
    }
    if (last !== undefined) return last;
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ClusterError(
      ClusterErrorCode.Unavailable,
      `${method} ${path} at ${this.server.origin} failed after ${attempts} attempts: ${reason}`,
    );
  }

  /** Request options for `path`: the kubeconfig's credentials and TLS, `agent`, JSON, impersonation. */
  async request(
    method: string,
    path: string,
    agent: http.Agent,
    opts: CallOptions & { accept?: string },
  ): Promise<{
    req: https.RequestOptions;
    url: URL;
    mod: typeof http | typeof https;
    creds: RequestCredentials;
  }> {
    const { tls } = this.kc;
    const creds = await this.kc.credentials.current();
    const headers: Record<string, string> = { ...creds.headers, Accept: opts.accept ?? "application/json" };
    // The agents pool connections by these TLS options, so a plugin's new client certificate gets its own.
    const req: https.RequestOptions = {
      method,
      headers,
      agent,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      ...((creds.cert ?? tls.cert) !== undefined
        ? { cert: creds.cert ?? tls.cert, key: creds.key ?? tls.key }
        : {}),
    };
    if (opts.impersonate !== undefined) headers["Impersonate-User"] = opts.impersonate;
    const url = new URL(this.server.pathname.replace(/\/$/, "") + path, this.server);
    return { req, url, mod: url.protocol === "http:" ? http : https, creds };
  }

  private async once(
    method: string,
    path: string,
    opts: CallOptions & { body?: string; contentType?: string; accept?: string },
  ): Promise<Reply> {
    const { req, url, mod, creds } = await this.request(method, path, this.agent, opts);
    if (opts.body !== undefined) {
      const headers = req.headers as Record<string, string>;
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(opts.body));
    }
    return new Promise<Reply>((resolve, reject) => {
      const r = mod.request(url, req, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            // Not JSON: keep the text for the error message.
          }
          const status = res.statusCode ?? 0;
          const ra = Number(res.headers["retry-after"]);
          resolve({
            status,
            body,
            creds,
            ...(res.headers.date === undefined ? {} : { date: res.headers.date }),
            ...(Number.isFinite(ra) && ra > 0 ? { retryAfterMs: ra * 1000 } : {}),
          });
        });
      });
      r.setTimeout(this.timeoutMs, () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on("error", reject);
      if (opts.body !== undefined) r.write(opts.body);
      r.end();
    });
  }
}

/** TLS verification failures of node's tls module (and a TLS reply that is not TLS). */
const TLS_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
]);

/**
 * A plain, immediate error for a server that cannot be reached as configured: connection refused, a
 * host that does not resolve, or a TLS certificate that does not verify. Other network errors (resets,
 * timeouts) are retried like 5xx answers.
 */
function unreachable(err: unknown, origin: string): ClusterError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "ECONNREFUSED") {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `cannot connect to the API server at ${origin}: connection refused (is the cluster running? check --kubeconfig and --context)`,
    );
  }
  if (code === "ENOTFOUND") {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `cannot connect to the API server at ${origin}: the host name does not resolve (check --kubeconfig and --context)`,
    );
  }
  if (TLS_ERRORS.has(code)) {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `TLS with the API server at ${origin} failed: ${code} (the server's certificate does not verify with the kubeconfig's certificate-authority)`,
    );
  }
  return undefined;
}
