// Bearer-token auth for the test registry: docker-registry configured with `auth.token`, and a small
// token service on loopback that checks basic credentials and issues ES256 JWTs carrying an x5c chain,
// which the real registry verifies against its rootcertbundle. Lets tests drive the WWW-Authenticate flow.
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { selfSigned } from "./test-ca.js";

export interface TokenService {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file the registry trusts (rootcertbundle). */
  readonly certFile: string;
  /** Scopes the service was asked for, in order (lets tests see the client asked for the right one). */
  readonly scopes: string[];
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** Starts the token service; credentials are checked against `username`/`password`. */
export async function startTokenService(
  dir: string,
  username: string,
  password: string,
): Promise<TokenService> {
  const { key: keyFile, cert: certFile } = await selfSigned(dir, "token", "/CN=gitward-test-token");
  const key = createPrivateKey(await readFile(keyFile, "utf8"));
  const certDer = new X509Certificate(await readFile(certFile)).raw;
  const issuer = "gitward-test-issuer";
  const service = "gitward-test-registry";
  const scopes: string[] = [];
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.headers.authorization !== expected) {
      res.writeHead(401).end();
      return;
    }
    const scope = url.searchParams.get("scope") ?? "";
    scopes.push(scope);
    const [type, name, actions] = scope.split(":");
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: issuer,
      sub: username,
      aud: url.searchParams.get("service") ?? service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access:
        type === "repository" && name !== undefined
          ? [{ type, name, actions: (actions ?? "").split(",") }]
          : [],
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token: `${input}.${b64url(sig)}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    scopes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
