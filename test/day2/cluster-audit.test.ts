// The cluster's audit trail (src/audit/cluster-log.ts) against the sandbox over HTTP, written as gitward's
// own least-privilege service account: records chain across chunks, two concurrent writers (two replicas)
// keep one chain, a changed record is found, and the signatures verify with the key that made them.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient } from "../../src/cluster/client.js";
import { ClusterAuditLog, readClusterTrail, RECORDS_KEY, chunkName } from "../../src/audit/cluster-log.js";
import { loadAuditPublicKey, loadAuditSigningKey } from "../../src/audit/keys.js";
import { verifyAuditText } from "../../src/audit/verify.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { entry, opensslKeyPair } from "../audit/support.js";
import { readYamlObjects } from "../reconcile/harness.js";
import { repoRoot } from "../support/tools.js";

let sb: Sandbox;
let admin: ClusterClient;
let operatorA: ClusterClient;
let operatorB: ClusterClient;
let dir: string;
let keys: Awaited<ReturnType<typeof opensslKeyPair>>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-trail-"));
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  for (const o of await readYamlObjects(path.join(repoRoot, "deploy/install/operator.yaml")))
    await admin.apply(o);
  const kc = sb.kubeconfigFor(sb.serviceAccountToken("gitward-system", "gitward"), "gitward");
  operatorA = ClusterClient.fromText(kc);
  operatorB = ClusterClient.fromText(kc);
  keys = await opensslKeyPair(dir);
});

afterAll(async () => {
  for (const c of [admin, operatorA, operatorB]) c.close();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the cluster audit trail", () => {
  it("keeps one signed chain across chunks and two concurrent writers, and finds a changed record", async () => {
    const signingKey = loadAuditSigningKey(keys.privPem);
    const trail = "race";
    // A small chunk size, so the writers also race to seal chunks and start the next one.
    const a = new ClusterAuditLog({ cluster: operatorA, trail, signingKey, chunkBytes: 4096 });
    const b = new ClusterAuditLog({ cluster: operatorB, trail, signingKey, chunkBytes: 4096 });
    const writes = [];
    for (let i = 1; i <= 15; i++) writes.push(a.append(entry(i)), b.append(entry(100 + i)));
    const records = await Promise.all(writes);
    // Every append got its own place in the chain: no two records share a seq.
    expect(new Set(records.map((r) => r.seq)).size).toBe(30);

    const read = await readClusterTrail(admin, { trail });
    expect(read.chunks).toBeGreaterThan(2);
    expect(read.missing).toEqual([]);
    const publicKey = loadAuditPublicKey(keys.pubPem);
    const ok = verifyAuditText(read.text, { publicKey });
    expect(ok).toMatchObject({ ok: true, status: "intact", records: 30 });
    // A new writer (a restarted Pod) resumes the same chain.
    const c = new ClusterAuditLog({ cluster: operatorA, trail, signingKey, chunkBytes: 4096 });
    expect((await c.append(entry(999))).seq).toBe(31);

    // Someone with write access changes a record in the second chunk: verify names it.
    const ref = {
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "gitward-system",
      name: chunkName(trail, 2),
    };
    const live = await admin.get(ref);
    const text = ((live?.["data"] ?? {}) as Record<string, string>)[RECORDS_KEY] ?? "";
    const changed = text.replace(/"name":"web-(\d+)"/, '"name":"evil-$1"');
    expect(changed).not.toBe(text);
    await admin.mergePatch(ref, { data: { [RECORDS_KEY]: changed } });
    const broken = verifyAuditText((await readClusterTrail(admin, { trail })).text, { publicKey });
    expect(broken.ok).toBe(false);
    expect(broken.firstBad?.reason).toBe("HASH_MISMATCH");
    // The writer refuses to chain onto a damaged tip rather than hide the damage.
    await admin.mergePatch(
      { ...ref, name: chunkName(trail, read.chunks) },
      { data: { [RECORDS_KEY]: "not a record\n" } },
    );
    const d = new ClusterAuditLog({ cluster: operatorA, trail, signingKey, chunkBytes: 1 << 20 });
    await expect(d.append(entry(1000))).rejects.toMatchObject({ code: "AUDIT_DAMAGED" });
  });

  it("a deleted chunk breaks the chain; a partial export verifies from its first record", async () => {
    const trail = "gap";
    const log = new ClusterAuditLog({ cluster: operatorA, trail, chunkBytes: 1024 });
    for (let i = 1; i <= 8; i++) await log.append(entry(i));
    const full = await readClusterTrail(admin, { trail });
    expect(verifyAuditText(full.text)).toMatchObject({ ok: true, status: "unsigned", records: 8 });
    const lines = full.text.split("\n").filter((l) => l !== "");
    const tail = lines.slice(3).join("\n") + "\n";
    // Without --partial a suffix is refused (records before it are missing) ...
    expect(verifyAuditText(tail).firstBad?.reason).toBe("SEQUENCE");
    // ... with it, the chain from its first record holds.
    expect(verifyAuditText(tail, { partial: true })).toMatchObject({ ok: true, records: 5 });
    await admin.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "gitward-system",
      name: chunkName(trail, 2),
    });
    const gap = await readClusterTrail(admin, { trail });
    expect(gap.missing).toEqual([2]);
    expect(verifyAuditText(gap.text).ok).toBe(false);
  });
});
