// The dashboard's HTTP server: GET and HEAD only (anything else is 405), security headers on every answer
// (a CSP that allows no script at all, no framing, no referrer), and no endpoint that changes anything.
// Every page is read fresh from the cluster and the audit log; nothing is cached but access decisions.
import { createReadStream } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { KeyObject } from "node:crypto";
import type { ClusterClient } from "../cluster/client.js";
import { STYLE_CSS } from "./assets.js";
import type { Access, Viewer } from "./auth.js";
import { appEvents, liveObjects, loadApplications, loadAudit, recordsOf, type AuditView } from "./data.js";
import { type Html } from "./html.js";
import { appPage, auditPage, errorPage, layout, matches, overviewPage, type OverviewQuery } from "./views.js";

export interface DashboardOptions {
  /** Reads are made with this client (the dashboard's identity). */
  readonly cluster: ClusterClient;
  readonly access: Access;
  /** The operator's audit log (JSON lines), for the timelines and the audit page. */
  readonly auditLog?: string;
  /** Audit public key: with it the audit page says whether every record is signed by it. */
  readonly auditKey?: KeyObject;
  readonly systemNamespace?: string;
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly address?: string;
  /** Called with the error of a request that failed inside (never with a token). */
  readonly onError?: (err: unknown) => void;
}

export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": String(bytes.length),
    ...extra,
  });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function page(res: http.ServerResponse, req: http.IncomingMessage, status: number, markup: Html): void {
  send(res, req, status, "text/html; charset=utf-8", markup.value);
}

function overviewQuery(url: URL): OverviewQuery {
  const q = (url.searchParams.get("q") ?? "").slice(0, 200);
  return { q, show: url.searchParams.get("show") === "attention" ? "attention" : "all" };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const system = opts.systemNamespace ?? "gitward-system";
  const audit = async (): Promise<AuditView | undefined> =>
    opts.auditLog === undefined ? undefined : loadAudit(opts.auditLog, opts.auditKey);

  async function viewerOf(req: http.IncomingMessage): Promise<Viewer> {
    const auth = await opts.access.authenticate(req.headers.authorization);
    if (!auth.ok) throw new HttpProblem(auth.status, auth.message);
    return auth.viewer;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(
        res,
        req,
        405,
        "text/plain; charset=utf-8",
        "405 method not allowed: the dashboard is read-only\n",
        {
          allow: "GET, HEAD",
        },
      );
      return;
    }
    if (url.pathname === "/healthz") {
      send(res, req, 200, "text/plain; charset=utf-8", "ok\n");
      return;
    }
    if (url.pathname === "/assets/style.css") {
      send(res, req, 200, "text/css; charset=utf-8", STYLE_CSS);
      return;
    }
    const viewer = await viewerOf(req);
    const who = opts.access.mode === "token" ? viewer.user : undefined;
    if (url.pathname === "/") {
      const all = await loadApplications(opts.cluster, system);
      const visible = [];
      for (const a of all) if (await opts.access.mayRead(viewer, a.namespace)) visible.push(a);
      if (all.length > 0 && visible.length === 0)
        throw new HttpProblem(403, `${viewer.user} may not get Applications in any namespace`);
      const query = overviewQuery(url);
      const shown = visible.filter((a) => matches(a, query));
      page(res, req, 200, layout("Applications", overviewPage(shown, query, visible.length), who));
      return;
    }
    const m = /^\/apps\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m !== null) {
      const namespace = decodeURIComponent(m[1] ?? "");
      const name = decodeURIComponent(m[2] ?? "");
      if (!(await opts.access.mayRead(viewer, namespace)))
        throw new HttpProblem(403, `${viewer.user} may not get Applications in namespace ${namespace}`);
      const app = (await loadApplications(opts.cluster, system)).find(
        (a) => a.namespace === namespace && a.name === name,
      );
      if (app === undefined) throw new HttpProblem(404, `no Application ${namespace}/${name}`);
      const [live, log, events] = await Promise.all([
        liveObjects(opts.cluster, app),
        audit(),
        appEvents(opts.cluster, app),
      ]);
      const body = appPage(app, live, recordsOf(log, app), events);
      page(res, req, 200, layout(`${namespace}/${name}`, body, who));
      return;
    }
    if (url.pathname === "/audit" || url.pathname === "/audit/export") {
      if (!(await opts.access.mayRead(viewer, "")))
        throw new HttpProblem(403, `${viewer.user} may not list Applications in every namespace`);
      if (url.pathname === "/audit") {
        page(res, req, 200, layout("Audit log", auditPage(await audit()), who));
        return;
      }
      if (opts.auditLog === undefined) throw new HttpProblem(404, "no audit log given");
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        "content-type": "application/x-ndjson",
        "content-disposition": 'attachment; filename="gitward-audit.jsonl"',
      });
      if (req.method === "HEAD") return void res.end();
      createReadStream(opts.auditLog)
        .on("error", () => res.destroy())
        .pipe(res);
      return;
    }
    throw new HttpProblem(404, "no such page");
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpProblem) {
        page(res, req, err.status, errorPage(err.status, err.message));
        return;
      }
      opts.onError?.(err);
      page(res, req, 500, errorPage(500, "the dashboard could not read what it needs; see its log"));
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.address ?? "127.0.0.1", () => {
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
