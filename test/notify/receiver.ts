// A real HTTP receiver on 127.0.0.1 for alert tests: records every request, checks the gitward HMAC
// itself (with node:crypto directly, not gitward's verifier), and can be told to fail the first N
// requests or to answer with a chosen status.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether X-Gitward-Signature is the HMAC of timestamp + "." + body under the receiver's secret. */
  hmacValid: boolean;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** Answer the next `count` requests with `status` (and optional headers). */
  failNext(count: number, status: number, headers?: Record<string, string>): void;
  /** Answer every request to `path` with a redirect to `location`. */
  redirect(path: string, location: string): void;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const requests: Received[] = [];
  let failures: { count: number; status: number; headers: Record<string, string> } = {
    count: 0,
    status: 500,
    headers: {},
  };
  const redirects = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const ts = req.headers["x-gitward-timestamp"];
      const sig = req.headers["x-gitward-signature"];
      let hmacValid = false;
      if (typeof ts === "string" && typeof sig === "string") {
        const expected = Buffer.from(
          "sha256=" + createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex"),
        );
        const given = Buffer.from(sig);
        hmacValid = expected.length === given.length && timingSafeEqual(expected, given);
      }
      requests.push({ path: req.url ?? "", headers: req.headers, body, hmacValid });
      const location = redirects.get(req.url ?? "");
      if (location !== undefined) {
        res.writeHead(302, { location }).end();
        return;
      }
      if (failures.count > 0) {
        failures.count -= 1;
        res.writeHead(failures.status, failures.headers).end("no");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(count, status, headers = {}) {
      failures = { count, status, headers };
    },
    redirect(path, location) {
      redirects.set(path, location);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
      }),
  };
}
