// The attack of issue 20: whoever can write the audit file edits a "refused" record into "applied" and
// recomputes the whole chain. The chain alone then verifies; the operator's signatures do not. Also: key
// ids, rotation, and `verifyAuditLog` reading the file as capped lines rather than one string.
import { createHash, createPublicKey } from "node:crypto";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditKeyId, generateAuditKeyPair, loadAuditSigningKey } from "../../src/audit/keys.js";
import { GENESIS } from "../../src/audit/record.js";
import { verifyAuditLog, verifyAuditText } from "../../src/audit/verify.js";
import { AuditLog } from "../../src/audit/writer.js";
import { openAuditLog } from "../../src/reconcile/run-config.js";
import { entry } from "./support.js";

let dir: string;
let n = 0;
const keyA = generateAuditKeyPair();
const keyB = generateAuditKeyPair();
const pubA = createPublicKey(keyA.publicPem);
const pubB = createPublicKey(keyB.publicPem);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-audit-signing-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A log of `results.length` records, signed with the given key(s) in turn (undefined: unsigned). */
async function writeLog(
  results: readonly ("applied" | "refused")[],
  keys: readonly (string | undefined)[] = [keyA.privatePem],
): Promise<string> {
  n += 1;
  const file = path.join(dir, `log-${n}.jsonl`);
  for (const pem of keys) {
    const log = await AuditLog.open({
      path: file,
      ...(pem === undefined ? {} : { signingKey: loadAuditSigningKey(pem) }),
    });
    for (const [i, result] of results.entries()) {
      await log.append(entry(i + 1, { result, ...(result === "refused" ? { reason: "UNSIGNED" } : {}) }));
    }
    await log.close();
  }
  return file;
}

type Rec = Record<string, unknown>;
const read = async (file: string) =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Rec);

/** What an attacker with write access does: edit, then recompute every hash and prev from there on. */
async function forge(file: string, edit: (records: Rec[]) => void, keepSig = true): Promise<void> {
  const records = await read(file);
  edit(records);
  let prev = GENESIS;
  for (const r of records) {
    r["prev"] = prev;
    if (!keepSig) {
      delete r["sig"];
      delete r["kid"];
    }
    const { hash: _h, sig: _s, ...body } = r;
    r["hash"] = "sha256:" + createHash("sha256").update(canonicalize(body)!).digest("hex");
    prev = r["hash"] as string;
  }
  await writeFile(file, records.map((r) => JSON.stringify(r) + "\n").join(""));
}

const refusedToApplied = (rs: Rec[]) => {
  const r = rs[2]!;
  expect(r["result"]).toBe("refused");
  r["result"] = "applied";
  delete r["reason"];
};

describe("signed audit records", () => {
  it("an intact signed log passes with the key; every record names its key id", async () => {
    const file = await writeLog(["applied", "applied", "refused", "applied"]);
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({
      ok: true,
      status: "intact",
      records: 4,
      signed: 4,
    });
    for (const r of await read(file)) expect(r["kid"]).toBe(keyA.keyId);
    expect(keyA.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect(auditKeyId(pubA)).toBe(keyA.keyId);
  });

  it("refused→applied with the whole chain recomputed: the chain verifies, the signature does not", async () => {
    const file = await writeLog(["applied", "applied", "refused", "applied"]);
    await forge(file, refusedToApplied);
    // What used to be reported as intact: the hashes are all consistent again.
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, status: "unchecked" });
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({
      ok: false,
      status: "broken",
      records: 2,
      firstBad: { line: 3, seq: 3, reason: "BAD_SIGNATURE" },
    });
  });

  it("the same forgery with the signatures stripped: unsigned without a key, UNSIGNED with it", async () => {
    const file = await writeLog(["applied", "applied", "refused", "applied"]);
    await forge(file, refusedToApplied, false);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, status: "unsigned", signed: 0, records: 4 });
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "UNSIGNED" },
    });
  });

  it("a wrong key fails, naming both key ids; a kid switched to another given key fails too", async () => {
    const file = await writeLog(["applied", "applied"]);
    const wrong = await verifyAuditLog(file, { publicKey: pubB });
    expect(wrong).toMatchObject({ ok: false, firstBad: { line: 1, reason: "UNKNOWN_KEY" } });
    expect(wrong.firstBad?.message).toContain(keyA.keyId);
    expect(wrong.firstBad?.message).toContain(keyB.keyId);
    await forge(file, (rs) => (rs[1]!["kid"] = keyB.keyId));
    expect(await verifyAuditLog(file, { publicKeys: [pubA, pubB] })).toMatchObject({
      ok: false,
      firstBad: { line: 2, reason: "BAD_SIGNATURE" },
    });
  });

  it("after a rotation, each record verifies with the key it names when both keys are given", async () => {
    const file = await writeLog(["applied", "refused"], [keyA.privatePem, keyB.privatePem]);
    expect((await read(file)).map((r) => r["kid"])).toEqual([keyA.keyId, keyA.keyId, keyB.keyId, keyB.keyId]);
    expect(await verifyAuditLog(file, { publicKeys: [pubA, pubB] })).toMatchObject({
      status: "intact",
      records: 4,
    });
    expect(await verifyAuditLog(file, { publicKeys: [pubB] })).toMatchObject({
      firstBad: { line: 1, reason: "UNKNOWN_KEY" },
    });
  });

  it("records signed, then unsigned ones appended: UNSIGNED at the first unsigned line", async () => {
    const file = await writeLog(["applied", "applied"], [keyA.privatePem, undefined]);
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({
      firstBad: { line: 3, reason: "UNSIGNED" },
    });
  });

  it("the operator's openAuditLog signs with the key file it is given, and refuses an unreadable one", async () => {
    const keyFile = path.join(dir, "operator.key");
    await writeFile(keyFile, keyA.privatePem, { mode: 0o600 });
    const file = path.join(dir, "operator.jsonl");
    const log = await openAuditLog(file, keyFile);
    await log.append(entry(1));
    await log.close();
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({ status: "intact", records: 1 });
    await writeFile(path.join(dir, "not-a-key"), keyA.publicPem);
    await expect(openAuditLog(file, path.join(dir, "not-a-key"))).rejects.toThrow(
      /not-a-key: not an ed25519 private key/,
    );
    await expect(openAuditLog(file, path.join(dir, "missing.key"))).rejects.toThrow(/ENOENT/);
  });
});

describe("verifyAuditLog reads line by line", () => {
  /** A valid signed log with an over-long line in place of its second record. */
  async function withLongLine(bytes: number): Promise<string> {
    const file = await writeLog(["applied"]);
    const fh = await open(file, "a");
    const chunk = Buffer.alloc(1024 * 1024, "x");
    for (let left = bytes; left > 0; left -= chunk.length)
      await fh.write(chunk.subarray(0, Math.min(left, chunk.length)));
    await fh.write("\n");
    await fh.close();
    return file;
  }

  it("stops at an 8 MB line with a 1 MiB cap: LINE_TOO_LONG naming the line, fast", async () => {
    const file = await withLongLine(8 * 1024 * 1024);
    const t0 = performance.now();
    const r = await verifyAuditLog(file, { publicKey: pubA, maxLineBytes: 1024 * 1024 });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(r).toMatchObject({ ok: false, records: 1, firstBad: { line: 2, reason: "LINE_TOO_LONG" } });
    expect(r.firstBad?.message).toMatch(/^line 2 is longer than 1048576 bytes/);
    // The same cap holds for a last line without a newline, and for verifyAuditText.
    expect(verifyAuditText("x".repeat(2048), { maxLineBytes: 1024 })).toMatchObject({
      firstBad: { line: 1, reason: "LINE_TOO_LONG" },
    });
  });

  it("reads records that span many read chunks, and one just under the cap", async () => {
    const file = path.join(dir, "big.jsonl");
    const log = await AuditLog.open({ path: file, signingKey: loadAuditSigningKey(keyA.privatePem) });
    const applied = Array.from({ length: 2000 }, (_, i) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "shop",
      name: `cm-${i}`,
      digest: "sha256:" + "b".repeat(64),
    }));
    for (let i = 1; i <= 3; i++) await log.append(entry(i, { applied }));
    await log.close();
    const longest = Math.max(
      ...(await readFile(file, "utf8")).split("\n").map((l) => Buffer.byteLength(l) + 1),
    );
    expect(longest).toBeGreaterThan(3 * 64 * 1024);
    expect(await verifyAuditLog(file, { publicKey: pubA, maxLineBytes: longest })).toMatchObject({
      status: "intact",
      records: 3,
    });
    expect(await verifyAuditLog(file, { publicKey: pubA, maxLineBytes: longest - 1 })).toMatchObject({
      firstBad: { line: 1, reason: "LINE_TOO_LONG" },
    });
  });

  it("a cut-off last line is TRUNCATED, as before", async () => {
    const file = await writeLog(["applied", "applied"]);
    await writeFile(file, (await readFile(file, "utf8")).slice(0, -10));
    expect(await verifyAuditLog(file, { publicKey: pubA })).toMatchObject({
      records: 1,
      firstBad: { line: 2, reason: "TRUNCATED" },
    });
  });
});
