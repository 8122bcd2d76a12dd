// Kubeconfig credentials rotated under a running client: a real TLS server that demands a client
// certificate from its CA and admits only the names it currently trusts, a client whose kubeconfig points
// at certificate, key and token files, and those files replaced between requests of one client (as
// cert-manager or the kubelet do). The next request presents the new certificate and token; a certificate
// rewritten before its key does not break requests (the last matching pair stays until both are new).
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterClient } from "../../src/cluster/client.js";
import { makeTestCa } from "../support/test-ca.js";

let sub: string;
let server: https.Server;
let port: number;
/** The client names the server admits; the others get 401. */
const admitted = new Set<string>();
/** What each request presented: the certificate's CN and the bearer token. */
const seen: { cn: string; token: string }[] = [];

beforeAll(async () => {
  sub = await mkdtemp(path.join(os.tmpdir(), "gitward-rotation-"));
  const ca = await makeTestCa(sub, "/CN=test-ca");
  await ca.issue("server", "/CN=localhost", { san: "IP:127.0.0.1" });
  await ca.issue("alice", "/CN=alice");
  await ca.issue("bob", "/CN=bob");
  const read = (f: string): Promise<Buffer> => readFile(path.join(sub, f));
  server = https.createServer(
    {
      key: await read("server.key"),
      cert: await read("server.crt"),
      ca: await read("ca.crt"),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const cn = req.socket instanceof TLSSocket ? String(req.socket.getPeerCertificate().subject.CN) : "";
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      seen.push({ cn, token });
      res.setHeader("Content-Type", "application/json");
      if (!admitted.has(cn)) {
        res.statusCode = 401;
        res.end(JSON.stringify({ kind: "Status", status: "Failure", message: `${cn} is not admitted` }));
        return;
      }
      res.end(JSON.stringify({ gitVersion: `${cn}/${token}` }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  await writeFile(
    path.join(sub, "config"),
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "s", cluster: { server: `https://127.0.0.1:${port}`, "certificate-authority": "ca.crt" } },
      ],
      users: [
        {
          name: "u",
          user: { "client-certificate": "client.crt", "client-key": "client.key", tokenFile: "token" },
        },
      ],
      contexts: [{ name: "c", context: { cluster: "s", user: "u" } }],
      "current-context": "c",
    }),
  );
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(sub, { recursive: true, force: true });
});

/** Puts `who`'s certificate and key where the kubeconfig points. */
async function install(who: string): Promise<void> {
  await copyFile(path.join(sub, `${who}.crt`), path.join(sub, "client.crt"));
  await copyFile(path.join(sub, `${who}.key`), path.join(sub, "client.key"));
}

describe("kubeconfig rotation against a TLS server that demands a client certificate", () => {
  it("a rotated certificate, key and token are used from the next request of the same client", async () => {
    await install("alice");
    await writeFile(path.join(sub, "token"), "t1\n");
    admitted.clear();
    admitted.add("alice");
    const client = ClusterClient.fromFile(path.join(sub, "config"), { backoff: { attempts: 1 } });
    try {
      expect((await client.serverVersion()).gitVersion).toBe("alice/t1");
      expect((await client.serverVersion()).gitVersion).toBe("alice/t1");

      // The issuer rotates: bob's pair replaces alice's, and alice is no longer admitted.
      await install("bob");
      await writeFile(path.join(sub, "token"), "t2\n");
      admitted.clear();
      admitted.add("bob");
      expect((await client.serverVersion()).gitVersion).toBe("bob/t2");

      // Midway through the next rotation the certificate is alice's again but the key still bob's: the
      // pair does not match, so the client keeps bob's (not a TLS failure), and takes alice's once complete.
      admitted.add("alice");
      await copyFile(path.join(sub, "alice.crt"), path.join(sub, "client.crt"));
      expect((await client.serverVersion()).gitVersion).toBe("bob/t2");
      await copyFile(path.join(sub, "alice.key"), path.join(sub, "client.key"));
      expect((await client.serverVersion()).gitVersion).toBe("alice/t2");
    } finally {
      client.close();
    }
  });

  it("without rotation a revoked certificate stays refused: 401, naming the server's message", async () => {
    await install("alice");
    await writeFile(path.join(sub, "token"), "t1\n");
    admitted.clear();
    admitted.add("bob");
    const client = ClusterClient.fromFile(path.join(sub, "config"), { backoff: { attempts: 1 } });
    try {
      await expect(client.serverVersion()).rejects.toMatchObject({ status: 401 });
      expect(seen.at(-1)).toEqual({ cn: "alice", token: "t1" });
    } finally {
      client.close();
    }
  });

  it("a certificate and key that were never a pair are refused at the first request, naming both files", async () => {
    await copyFile(path.join(sub, "alice.crt"), path.join(sub, "client.crt"));
    await copyFile(path.join(sub, "bob.key"), path.join(sub, "client.key"));
    const client = ClusterClient.fromFile(path.join(sub, "config"), { backoff: { attempts: 1 } });
    try {
      await expect(client.serverVersion()).rejects.toThrow(
        `user u: client-certificate ${path.join(sub, "client.crt")} and client-key ${path.join(sub, "client.key")} are not a pair`,
      );
    } finally {
      client.close();
    }
  });
});
