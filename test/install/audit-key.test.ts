// The operator's audit signing key on the sandbox (issue 20): `gitward install` makes the Secret when it is
// missing and never prints the private key; a second run keeps it; a Secret holding no ed25519 key is
// refused, not replaced; `--rotate-audit-key` makes a new key, keeps the old public key beside it and
// rolls the operator's pods, and a log signed across the rotation verifies with the keys from the Secret.
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditKeyId, loadAuditSigningKey } from "../../src/audit/keys.js";
import { AuditLog } from "../../src/audit/writer.js";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import {
  AUDIT_KEY_ID_ANNOTATION,
  auditPublicKeys,
  ensureAuditKey,
  rotateAuditKey,
} from "../../src/install/audit-key.js";
import { runDoctor } from "../../src/install/doctor.js";
import { installObjects } from "../../src/install/manifests.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { entry } from "../audit/support.js";
import { runCli } from "../support/tools.js";

const IMAGE = `registry.example.com/gitward/gitward@sha256:${"c".repeat(64)}`;
const SECRET = { apiVersion: "v1", kind: "Secret", namespace: "gitward-system", name: "gitward-audit-key" };

let dir: string;
let sb: Sandbox;
let admin: ClusterClient;
let kubeconfig: string;

const gitward = (...args: string[]) => runCli([...args, "--kubeconfig", kubeconfig]);

async function secretData(): Promise<Record<string, string>> {
  const s = await admin.get(SECRET);
  return (s?.["data"] ?? {}) as Record<string, string>;
}

const decoded = (data: Record<string, string>, key: string) =>
  Buffer.from(data[key] ?? "", "base64").toString("utf8");

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-audit-key-"));
  sb = await startSandbox();
  kubeconfig = path.join(dir, "kubeconfig");
  await sb.writeKubeconfig(kubeconfig);
  admin = ClusterClient.fromText(sb.kubeconfig);
});

afterAll(async () => {
  admin.close();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the audit signing key of an install", () => {
  it("install makes the Secret with an ed25519 key, names its id and never prints the key", async () => {
    expect(await admin.get(SECRET)).toBeUndefined();
    const r = await gitward("install", "--image", IMAGE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const data = await secretData();
    const key = loadAuditSigningKey(decoded(data, "audit.key"));
    const id = auditKeyId(key);
    expect(r.stdout).toContain(`Secret gitward-system/gitward-audit-key created (audit key ${id})`);
    expect(auditKeyId(createPublicKey(decoded(data, "audit.pub")))).toBe(id);
    for (const shown of [r.stdout, r.stderr]) {
      expect(shown).not.toContain("PRIVATE KEY");
      expect(shown).not.toContain(data["audit.key"]?.slice(0, 40));
    }
    // Upgrading in place keeps the key the operator signs with.
    expect(await ensureAuditKey(admin)).toEqual({
      what: "Secret gitward-system/gitward-audit-key",
      action: "unchanged",
      note: `audit key ${id}`,
    });
    expect((await secretData())["audit.key"]).toBe(data["audit.key"]);
    // doctor sees it.
    const doctor = await runDoctor(admin, installObjects({ image: IMAGE }));
    expect(doctor.find((c) => c.name === "audit-key")).toMatchObject({ ok: true });
  });

  it("refuses a Secret that holds no ed25519 key, and leaves it as it was", async () => {
    const before = await secretData();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pem = rsa.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await admin.mergePatch(SECRET, { data: { "audit.key": Buffer.from(pem).toString("base64") } });
    const refused = /Secret gitward-system\/gitward-audit-key: audit\.key is not an ed25519 private key/;
    const r = await gitward("install", "--image", IMAGE, "--rotate-audit-key");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(refused);
    expect(r.stderr).not.toContain("PRIVATE KEY");
    await expect(ensureAuditKey(admin)).rejects.toThrow(refused);
    expect(decoded(await secretData(), "audit.key")).toBe(pem);
    await admin.mergePatch(SECRET, { data: { "audit.key": before["audit.key"] } });
  });

  it("--rotate-audit-key: a new key, the old public key kept, the pods rolled; the log verifies across it", async () => {
    const old = await secretData();
    const oldKey = loadAuditSigningKey(decoded(old, "audit.key"));
    const oldId = auditKeyId(oldKey);
    const log = path.join(dir, "audit.jsonl");
    const writeWith = async (key: ReturnType<typeof loadAuditSigningKey>, n: number) => {
      const w = await AuditLog.open({ path: log, signingKey: key });
      await w.append(entry(n));
      await w.close();
    };
    await writeWith(oldKey, 1);

    const r = await gitward("install", "--image", IMAGE, "--rotate-audit-key");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const now = await secretData();
    const newKey = loadAuditSigningKey(decoded(now, "audit.key"));
    const newId = auditKeyId(newKey);
    expect(newId).not.toBe(oldId);
    expect(r.stdout).toContain(`audit key ${newId} replaces ${oldId}`);
    expect(r.stdout).not.toContain("PRIVATE KEY");
    const retired = `retired-${oldId.replace("ed25519:", "")}.pub`;
    expect(Object.keys(now).sort()).toEqual(["audit.key", "audit.pub", retired]);
    const deployment = (await admin.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "gitward-system",
      name: "gitward",
    })) as KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } };
    expect(deployment.spec.template.metadata.annotations?.[AUDIT_KEY_ID_ANNOTATION]).toBe(newId);
    await writeWith(newKey, 2);

    // The public keys from the Secret, each in its own file for `audit verify --key`.
    const keys = auditPublicKeys((await admin.get(SECRET))!);
    expect(keys).toHaveLength(2);
    const files: string[] = [];
    for (const [i, pem] of keys.entries()) {
      const file = path.join(dir, `pub-${String(i)}.pem`);
      await writeFile(file, pem);
      files.push(file);
    }
    const both = await runCli(["audit", "verify", log, "--key", files[0]!, "--key", files[1]!]);
    expect(both.stdout).toMatch(/intact/);
    expect(both.code).toBe(0);
    // Only the new key: the record signed before the rotation names a key not given.
    const onlyNew = await runCli(["audit", "verify", log, "--key", files[0]!]);
    expect(onlyNew.code).toBe(1);
    expect(onlyNew.stdout + onlyNew.stderr).toMatch(/UNKNOWN_KEY/);

    // A second rotation keeps both retired keys.
    await rotateAuditKey(admin);
    const third = Object.keys(await secretData()).filter((k) => k.startsWith("retired-"));
    expect(third.sort()).toEqual([retired, `retired-${newId.replace("ed25519:", "")}.pub`].sort());
  });
});
