// A minimal smart-HTTP git server: `git http-backend` as CGI behind node:http on 127.0.0.1, with optional
// basic auth (push allowed only for the authenticated user). The demo serves its config repository with it,
// and tests use it as a real git server; it is not meant for production hosting.
import { spawn } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface GitHttpServerOptions {
  /** Folder whose sub-folders are the served repositories (bare or not). */
  root: string;
  /** With username and password, every request needs basic auth, and push is allowed. */
  username?: string;
  password?: string;
  /** Port to listen on (default 0: chosen by the system). */
  port?: number;
}

export interface GitHttpServer {
  readonly port: number;
  /** Clone URL of the repository at `<root>/<name>`. */
  url(name: string): string;
  /** Every request seen (method, path, whether it was authorized); never the credentials. */
  readonly requests: { method: string; path: string; authorized: boolean }[];
  stop(): Promise<void>;
}

function checkBasicAuth(req: IncomingMessage, username: string, password: string): boolean {
  const header = req.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) return false;
  const given = Buffer.from(header.slice(6), "base64");
  const expected = Buffer.from(`${username}:${password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Starts the server on 127.0.0.1; resolves once it listens. */
export async function serveGitHttp(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpServer["requests"] = [];
  const needAuth = opts.username !== undefined && opts.password !== undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const authorized = needAuth && checkBasicAuth(req, opts.username ?? "", opts.password ?? "");
    requests.push({ method: req.method ?? "", path: url.pathname, authorized });
    if (needAuth && !authorized) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="gitward"' }).end("authentication required\n");
      return;
    }
    serveCgi(req, res, url, opts.root, authorized ? (opts.username ?? "") : undefined);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    port,
    requests,
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function serveCgi(req: IncomingMessage, res: ServerResponse, url: URL, root: string, user?: string): void {
  let pathInfo: string;
  try {
    pathInfo = decodeURIComponent(url.pathname);
  } catch {
    res.writeHead(400).end("bad path\n");
    return;
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    PATH_INFO: pathInfo,
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: "127.0.0.1",
  };
  if (req.headers["content-length"] !== undefined) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"] !== undefined)
    env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  const proto = req.headers["git-protocol"];
  if (typeof proto === "string") env.HTTP_GIT_PROTOCOL = proto;
  // http-backend allows receive-pack (push) only for an authenticated REMOTE_USER.
  if (user !== undefined) env.REMOTE_USER = user;
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => undefined);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf("\r\n\r\n");
    const lf = head.indexOf("\n\n");
    const cut = crlf >= 0 ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (cut < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, cut).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(cut));
  });
  child.on("close", () => {
    if (!headersDone && !res.headersSent) res.writeHead(502);
    res.end();
  });
  child.on("error", () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}
