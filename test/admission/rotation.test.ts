// Certificate rotation under load: hundreds of concurrent reviews over real TLS while the serving
// certificate is renewed and the CA itself is rotated (new CA in the bundle first, the switch after the
// propagation time), with zero failed reviews; the client trusts only the bundle the webhook publishes,
// as the API server trusts the configuration's caBundle. Also: files re-read when they change, and a key
// that does not match keeps the old certificate in service.
import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { connect } from "node:tls";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueCa, issueServing } from "../../src/admission/certs.js";
import { FileTls, ManagedTls } from "../../src/admission/rotation.js";
import { startWebhook, type RunningWebhook } from "../../src/admission/start.js";
import { parseTrustPolicy } from "../../src/config/load.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";
import { until } from "../support/until.js";
import { pod, post, review } from "./support.js";

const trust = parseTrustPolicy(
  trustPolicyYaml([
    "  images: { registries: ['registry.example.com/'] }",
    "  policy: { packs: [pod-security-restricted, supply-chain] }",
  ]),
  "trust.yaml",
);
const IMAGE = `registry.example.com/shop/web@sha256:${"a".repeat(64)}`;

/** The fingerprint of the certificate the server presents on a new connection. */
function servedFingerprint(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca, servername: "localhost" }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? "";
      s.end();
      resolve(fp);
    });
    s.on("error", reject);
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-rotation-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("rotation under load", () => {
  let tls: ManagedTls;
  let hook: RunningWebhook;
  const bundles: string[] = [];

  beforeAll(async () => {
    tls = await ManagedTls.start({
      hosts: ["127.0.0.1", "localhost"],
      propagationMs: 300,
      publishBundle: (b) => {
        bundles.push(b);
        return Promise.resolve();
      },
    });
    hook = await startWebhook({ trust, tls });
  });
  afterAll(async () => {
    await hook.stop();
  });

  it("renews the serving certificate and rotates the CA with zero failed reviews", async () => {
    const first = await servedFingerprint(hook.url, tls.caBundle());
    const fingerprints = new Set([first]);
    let ok = 0;
    const failures: string[] = [];
    let done = false;
    // Keep-alive connections, like the API server's: old connections keep their certificate.
    const agents = new Map<string, Agent>();
    const agentFor = (ca: string): Agent => {
      let a = agents.get(ca);
      if (a === undefined) agents.set(ca, (a = new Agent({ keepAlive: true, maxSockets: 64, ca })));
      return a;
    };
    const worker = async (): Promise<void> => {
      while (!done) {
        // The client trusts the bundle published last (what the configuration's caBundle holds).
        const ca = bundles.at(-1) ?? tls.caBundle();
        try {
          const r = await post(hook.url, ca, review({ object: pod("web", IMAGE) }), { agent: agentFor(ca) });
          if (r.status === 200 && r.json?.response?.allowed === true) ok++;
          else failures.push(`${r.status} ${r.body.slice(0, 200)}`);
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    };
    const workers = Array.from({ length: 200 }, worker);
    const step = async (f: () => Promise<void>): Promise<void> => {
      await new Promise((r) => setTimeout(r, 150));
      await f();
      fingerprints.add(await servedFingerprint(hook.url, bundles.at(-1) ?? tls.caBundle()));
    };
    await step(() => tls.renewServing());
    await step(() => tls.rotateCa());
    expect(bundles.at(-1)).toBe(tls.caBundle());
    expect(tls.caBundle().match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 350));
    await step(() => tls.tick()); // after propagation: the serving certificate moves to the new CA
    await step(() => tls.renewServing());
    await until("400 reviews", () => ok > 400, 20_000);
    done = true;
    await Promise.all(workers);
    for (const a of agents.values()) a.destroy();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(400);
    // The first, two renewals and the switch to the new CA; adding a CA changes only the bundle.
    expect(fingerprints.size).toBe(4);
    // The new certificate chains to the new CA.
    const newest = new X509Certificate(tls.current().certPem);
    const newCa = new X509Certificate(tls.caBundle().split(/(?<=-----END CERTIFICATE-----\n)/)[1] ?? "");
    expect(newest.checkIssued(newCa)).toBe(true);
  }, 40_000);
});

describe("certificate files", () => {
  it("serves a renewed pair from the files, and keeps the old one when the key does not match", async () => {
    const ca = await issueCa(86_400_000);
    const a = await issueServing(ca, ["127.0.0.1", "localhost"], 3_600_000);
    const b = await issueServing(ca, ["127.0.0.1", "localhost"], 3_600_000);
    const cert = path.join(dir, "tls.crt");
    const key = path.join(dir, "tls.key");
    await writeFile(cert, a.certPem);
    await writeFile(key, a.keyPem);
    const tls = await FileTls.start({ certFile: cert, keyFile: key, pollMs: 50 });
    const hook = await startWebhook({ trust, tls });
    try {
      const fpA = new X509Certificate(a.certPem).fingerprint256;
      const fpB = new X509Certificate(b.certPem).fingerprint256;
      expect(await servedFingerprint(hook.url, ca.certPem)).toBe(fpA);
      // Half an update: b's certificate with a's key. Refused; a stays in service.
      await writeFile(cert, b.certPem);
      await tls.reload();
      expect(await servedFingerprint(hook.url, ca.certPem)).toBe(fpA);
      await writeFile(key, b.keyPem);
      await until(
        "the renewed pair",
        async () => (await servedFingerprint(hook.url, ca.certPem)) === fpB,
        5_000,
      );
      const r = await post(hook.url, ca.certPem, review({ object: pod("web", IMAGE) }));
      expect(r.json?.response?.allowed).toBe(true);
    } finally {
      await hook.stop();
    }
  });
});
