// Hostile registries for tests: a loopback server that answers every request with junk, and a proxy in
// front of a real registry that alters manifest bytes (keeping the real Docker-Content-Digest header).
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RegistryError } from "../../src/images/errors.js";

export interface HostileRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<HostileRegistry> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** The RegistryError `p` rejects with; anything else (or no rejection) fails the test. */
export async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error("expected a RegistryError");
}

/** Answers 200 with non-JSON bytes, claiming to be an OCI manifest. */
export function startGarbageRegistry(): Promise<HostileRegistry> {
  return listen(
    createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" });
      res.end(Buffer.from("\u0000\u00ff<html>not a manifest{{{", "latin1"));
    }),
  );
}

/**
 * Answers every request at once with headers and then one byte of the body every `everyMs` (default
 * 1 s), so no inactivity timeout ever fires: only a deadline for the whole answer ends the request.
 */
export function startDribblingRegistry(everyMs = 1_000): Promise<HostileRegistry> {
  return listen(
    createServer((_req, res) => {
      res.writeHead(200, {
        "content-type": "application/vnd.oci.image.manifest.v1+json",
        "content-length": "100000",
      });
      res.write("{");
      const t = setInterval(() => res.write(" "), everyMs);
      res.on("close", () => {
        clearInterval(t);
      });
    }),
  );
}

/** Proxies to `upstreamHost`, but every manifest body gets an extra field, so its bytes no longer match. */
export function startTamperingProxy(upstreamHost: string): Promise<HostileRegistry> {
  const [hostname, port] = upstreamHost.split(":");
  return listen(
    createServer((req, res) => {
      const up = request(
        {
          hostname,
          port: Number(port),
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: upstreamHost },
        },
        (upRes) => {
          const chunks: Buffer[] = [];
          upRes.on("data", (c: Buffer) => chunks.push(c));
          upRes.on("end", () => {
            let body = Buffer.concat(chunks);
            const headers = { ...upRes.headers };
            if (
              req.url?.includes("/manifests/") === true &&
              upRes.statusCode === 200 &&
              req.method === "GET"
            ) {
              const doc = JSON.parse(body.toString()) as Record<string, unknown>;
              doc.annotations = {
                ...(doc.annotations as Record<string, string> | undefined),
                injected: "yes",
              };
              body = Buffer.from(JSON.stringify(doc));
              headers["content-length"] = String(body.length);
            }
            res.writeHead(upRes.statusCode ?? 502, headers);
            res.end(body);
          });
        },
      );
      req.pipe(up);
    }),
  );
}

/**
 * A registry with the OCI 1.1 referrers API in front of Debian's registry 2.8 (which lacks it): answers
 * GET /v2/<name>/referrers/<digest> from the upstream fallback tag, and hides that tag itself (404), so a
 * client that still finds referrers must have used the API.
 */
export function startReferrersProxy(upstreamHost: string): Promise<HostileRegistry> {
  const [hostname, port] = upstreamHost.split(":");
  const forward = (path: string, method: string, headers: Record<string, string | string[] | undefined>) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
      (resolve, reject) => {
        const up = request(
          { hostname, port: Number(port), path, method, headers: { ...headers, host: upstreamHost } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) });
            });
          },
        );
        up.on("error", reject);
        up.end();
      },
    );
  return listen(
    createServer((req, res) => {
      const url = req.url ?? "/";
      const referrers = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})/.exec(url);
      const hidden = /^\/v2\/.+\/manifests\/sha256-[0-9a-f]{64}$/.test(url);
      void (async () => {
        if (hidden) {
          res.writeHead(404).end();
          return;
        }
        if (referrers !== null) {
          const tag = await forward(
            `/v2/${referrers[1]}/manifests/${referrers[2]!.replace(":", "-")}`,
            "GET",
            {
              accept: "application/vnd.oci.image.index.v1+json",
            },
          );
          const body =
            tag.status === 200
              ? tag.body
              : Buffer.from(
                  JSON.stringify({
                    schemaVersion: 2,
                    mediaType: "application/vnd.oci.image.index.v1+json",
                    manifests: [],
                  }),
                );
          res.writeHead(200, {
            "content-type": "application/vnd.oci.image.index.v1+json",
            "content-length": String(body.length),
          });
          res.end(body);
          return;
        }
        const up = await forward(url, req.method ?? "GET", req.headers);
        res.writeHead(up.status, up.headers);
        res.end(up.body);
      })();
    }),
  );
}

/** Proxies to `upstreamHost`, but answers blob GETs with a 307 to `redirectTo(path)` (storage offload). */
export function startRedirectingProxy(
  upstreamHost: string,
  redirectTo: (path: string) => string,
): Promise<HostileRegistry> {
  const [hostname, port] = upstreamHost.split(":");
  return listen(
    createServer((req, res) => {
      if (req.method === "GET" && req.url?.includes("/blobs/sha256:") === true) {
        res.writeHead(307, { location: redirectTo(req.url) }).end();
        return;
      }
      const up = request(
        {
          hostname,
          port: Number(port),
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: upstreamHost },
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      req.pipe(up);
    }),
  );
}
