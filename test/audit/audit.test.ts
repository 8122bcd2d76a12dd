import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAuditPublicKey, loadAuditSigningKey } from "../../src/audit/keys.js";
import { AuditEntrySchema, GENESIS, objectDigest, type AuditRecord } from "../../src/audit/record.js";
import { verifyAuditLog, verifyAuditText } from "../../src/audit/verify.js";
import { AuditLog } from "../../src/audit/writer.js";
import { entry, opensslKeyPair } from "./support.js";

const run = promisify(execFile);
let dir: string;
let keys: Awaited<ReturnType<typeof opensslKeyPair>>;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-audit-"));
  keys = await opensslKeyPair(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freshPath(): string {
  n += 1;
  return path.join(dir, `audit-${n}.jsonl`);
}

async function writeLog(count: number, signed = false): Promise<{ file: string; records: AuditRecord[] }> {
  const file = freshPath();
  const log = await AuditLog.open({
    path: file,
    ...(signed ? { signingKey: loadAuditSigningKey(keys.privPem) } : {}),
  });
  const records: AuditRecord[] = [];
  for (let i = 1; i <= count; i++) records.push(await log.append(entry(i)));
  await log.close();
  return { file, records };
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
}

async function rewrite(file: string, ls: string[]): Promise<void> {
  await writeFile(file, ls.map((l) => l + "\n").join(""));
}

/** Recomputes a record's hash the way an attacker with write access would, to hide a change. */
function rehash(record: Record<string, unknown>): Record<string, unknown> {
  const { hash: _h, sig: _s, ...body } = record;
  return { ...body, hash: "sha256:" + createHash("sha256").update(canonicalize(body)!).digest("hex") };
}

describe("AuditLog writes a hash chain", () => {
  it("chains each record to the one before, with seq, id, time and the entry's fields", async () => {
    const { file, records } = await writeLog(3);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[0]!.prev).toBe(GENESIS);
    expect(records[1]!.prev).toBe(records[0]!.hash);
    expect(records[2]!.prev).toBe(records[1]!.hash);
    expect(new Set(records.map((r) => r.id)).size).toBe(3);
    expect(records[1]!.applied[0]!.name).toBe("web-2");
    const onDisk = (await lines(file)).map((l) => JSON.parse(l) as AuditRecord);
    expect(onDisk).toEqual(records);
    // The hash is sha256 over RFC 8785 canonical JSON of the record without hash and sig.
    for (const r of onDisk) expect(rehash(r as unknown as Record<string, unknown>)["hash"]).toBe(r.hash);
    const result = await verifyAuditLog(file);
    expect(result).toEqual({
      ok: true,
      status: "unsigned",
      signed: 0,
      records: 3,
      head: { seq: 3, hash: records[2]!.hash },
    });
  });

  it("uses the injected clock", async () => {
    const log = await AuditLog.open({ path: freshPath(), now: () => new Date("2026-01-02T03:04:05.000Z") });
    const r = await log.append(entry(1));
    await log.close();
    expect(r.time).toBe("2026-01-02T03:04:05.000Z");
  });

  it("resumes the chain from the last line after a restart", async () => {
    const { file, records } = await writeLog(2);
    const log = await AuditLog.open({ path: file });
    expect(log.last).toEqual({ seq: 2, hash: records[1]!.hash });
    const third = await log.append(entry(3));
    await log.close();
    expect(third.seq).toBe(3);
    expect(third.prev).toBe(records[1]!.hash);
    expect((await verifyAuditLog(file)).ok).toBe(true);
  });

  it("resumes from a last record larger than the read chunk", async () => {
    const file = freshPath();
    let log = await AuditLog.open({ path: file });
    const many = Array.from({ length: 900 }, (_, i) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "shop",
      name: `config-map-with-a-long-name-${i}`,
      digest: "sha256:" + "b".repeat(64),
    }));
    await log.append(entry(1));
    const big = await log.append(entry(2, { applied: many }));
    await log.close();
    expect(JSON.stringify(big).length).toBeGreaterThan(64 * 1024);
    log = await AuditLog.open({ path: file });
    expect(log.last.seq).toBe(2);
    await log.append(entry(3));
    await log.close();
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 3 });
  });

  it("serialises concurrent appends into one unbroken chain", async () => {
    const file = freshPath();
    const log = await AuditLog.open({ path: file });
    const written = await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(entry(i + 1))));
    await log.close();
    expect(written.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 25 });
  });

  it("allows one writer per file: a second open is refused until the first closes", async () => {
    const file = freshPath();
    const first = await AuditLog.open({ path: file });
    await expect(AuditLog.open({ path: file })).rejects.toMatchObject({ code: "AUDIT_LOCKED" });
    await first.close();
    const second = await AuditLog.open({ path: file });
    await second.append(entry(1));
    await second.close();
    await expect(first.append(entry(2))).rejects.toMatchObject({ code: "AUDIT_CLOSED" });
  });

  it("refuses to chain onto a log whose last line is incomplete", async () => {
    const { file } = await writeLog(2);
    await appendFile(file, '{"v":1,"seq":3,"id":');
    await expect(AuditLog.open({ path: file })).rejects.toMatchObject({ code: "AUDIT_DAMAGED" });
  });

  it("refuses to chain onto a log whose last record was changed", async () => {
    const { file } = await writeLog(2);
    const ls = await lines(file);
    ls[1] = ls[1]!.replace('"result":"applied"', '"result":"refused"');
    await rewrite(file, ls);
    await expect(AuditLog.open({ path: file })).rejects.toMatchObject({ code: "AUDIT_DAMAGED" });
  });
});

describe("audit records never carry secret values", () => {
  it("rejects an entry with a field the record type does not have, and writes nothing", async () => {
    const file = freshPath();
    const log = await AuditLog.open({ path: file });
    const withSecret = { ...entry(1), message: "password=hunter2" };
    await expect(log.append(withSecret)).rejects.toMatchObject({ code: "AUDIT_INVALID_ENTRY" });
    const objectWithData = entry(1, {
      applied: [{ ...entry(1).applied[0]!, ...{ data: { password: "aHVudGVyMg==" } } }],
    });
    await expect(log.append(objectWithData)).rejects.toMatchObject({ code: "AUDIT_INVALID_ENTRY" });
    const proseReason = entry(1, { result: "refused", reason: "token ghp_abc123 was rejected" });
    await expect(log.append(proseReason)).rejects.toMatchObject({ code: "AUDIT_INVALID_ENTRY" });
    await log.append(entry(1, { result: "refused", reason: "UNSIGNED" }));
    await log.close();
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("aHVudGVyMg==");
    expect(text).not.toContain("ghp_abc123");
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 1 });
  });

  it("has no free-form string field in the entry type: every string is an identifier, code or digest", () => {
    const strings: string[] = [];
    const visit = (schema: Record<string, unknown>, at: string): void => {
      if (schema["type"] === "string" && !("const" in schema)) {
        strings.push(at);
        // Either bounded in length with a restricted alphabet, or an anchored fixed format (digest, sha).
        expect(typeof schema["pattern"], at).toBe("string");
        if (typeof schema["maxLength"] !== "number") expect(schema["pattern"], at).toMatch(/^\^.*\$$/);
      }
      if (schema["type"] === "object") expect(schema["additionalProperties"], at).toBe(false);
      for (const [k, v] of Object.entries(
        (schema["properties"] as Record<string, never> | undefined) ?? {},
      )) {
        visit(v, `${at}.${k}`);
      }
      if (schema["items"] !== undefined) visit(schema["items"] as Record<string, unknown>, `${at}[]`);
      for (const v of (schema["anyOf"] as Record<string, unknown>[] | undefined) ?? []) visit(v, at);
    };
    visit(AuditEntrySchema, "entry");
    expect(strings).toContain("entry.reason");
    expect(strings).toContain("entry.applied[].name");
    expect(strings).toContain("entry.images[].ref");
  });

  it("records the tag → digest mapping of a reconcile, and only as references and digests", async () => {
    const file = freshPath();
    const log = await AuditLog.open({ path: file });
    const digest = "sha256:" + "b".repeat(64);
    const written = await log.append(
      entry(1, { images: [{ ref: "registry.example.com/team/app:v1", digest }] }),
    );
    expect(written.images).toEqual([{ ref: "registry.example.com/team/app:v1", digest }]);
    const bad = [
      [{ ref: "registry.example.com/team/app:v1", digest: "latest" }],
      [{ ref: "registry.example.com/team/app:v1", digest, note: "password=hunter2" }],
      [{ ref: "", digest }],
      Array.from({ length: 1001 }, (_, i) => ({ ref: `r/app:${i}`, digest })),
    ];
    for (const images of bad)
      await expect(log.append({ ...entry(2), images })).rejects.toMatchObject({
        code: "AUDIT_INVALID_ENTRY",
      });
    await log.close();
    expect(await readFile(file, "utf8")).not.toContain("hunter2");
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 1 });
  });

  it("digests a Secret by its key names only, so its values cannot be guessed from the log", () => {
    const secret = (value: string, key = "password") => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "shop" },
      data: { [key]: Buffer.from(value).toString("base64") },
    });
    expect(objectDigest(secret("hunter2"))).toBe(objectDigest(secret("correct horse")));
    expect(objectDigest(secret("hunter2"))).not.toBe(objectDigest(secret("hunter2", "token")));
    const cm = (v: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { k: v },
    });
    expect(objectDigest(cm("a"))).not.toBe(objectDigest(cm("b")));
    expect(objectDigest(cm("a"))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("verifyAuditLog detects tampering and names the first bad record", () => {
  it("a changed record (hash left alone): HASH_MISMATCH on its line", async () => {
    const { file } = await writeLog(5);
    const ls = await lines(file);
    ls[2] = ls[2]!.replace('"name":"web-3"', '"name":"evil-3"');
    await rewrite(file, ls);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      records: 2,
      firstBad: { line: 3, seq: 3, reason: "HASH_MISMATCH" },
    });
  });

  it("a changed and re-hashed record: the next record's chain breaks (unsigned log)", async () => {
    const { file } = await writeLog(5);
    const ls = await lines(file);
    const r = JSON.parse(ls[2]!) as Record<string, unknown>;
    ls[2] = JSON.stringify(rehash({ ...r, result: "refused" }));
    await rewrite(file, ls);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      firstBad: { line: 4, seq: 4, reason: "CHAIN_BROKEN" },
    });
  });

  it("a changed and re-hashed record in a signed log: BAD_SIGNATURE on its own line", async () => {
    const { file } = await writeLog(5, true);
    const ls = await lines(file);
    const r = JSON.parse(ls[2]!) as Record<string, unknown>;
    ls[2] = JSON.stringify({ ...rehash({ ...r, result: "refused" }), sig: r["sig"] });
    await rewrite(file, ls);
    const result = await verifyAuditLog(file, { publicKey: loadAuditPublicKey(keys.pubPem) });
    expect(result).toMatchObject({
      ok: false,
      records: 2,
      firstBad: { line: 3, seq: 3, reason: "BAD_SIGNATURE" },
    });
  });

  it("a removed record: SEQUENCE at the line where it is missing", async () => {
    const { file } = await writeLog(5);
    const ls = await lines(file);
    ls.splice(1, 1);
    await rewrite(file, ls);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      records: 1,
      firstBad: { line: 2, seq: 3, reason: "SEQUENCE" },
    });
  });

  it("a removed first record: SEQUENCE on line 1", async () => {
    const { file } = await writeLog(3);
    const ls = await lines(file);
    await rewrite(file, ls.slice(1));
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "SEQUENCE" },
    });
  });

  it("an inserted record: a duplicated line, or a forged one chained in, breaks at the insertion", async () => {
    const { file } = await writeLog(4);
    const ls = await lines(file);
    await rewrite(file, [...ls.slice(0, 2), ls[1]!, ...ls.slice(2)]);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      firstBad: { line: 3, reason: "SEQUENCE" },
    });

    // A forged record with the right seq and prev, hashed correctly: the record after it no longer fits.
    const second = JSON.parse(ls[1]!) as AuditRecord;
    const forged = rehash({
      ...second,
      seq: 3,
      prev: second.hash,
      id: "00000000-0000-4000-8000-000000000000",
    });
    await rewrite(file, [...ls.slice(0, 2), JSON.stringify(forged), ...ls.slice(2)]);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      records: 3,
      firstBad: { line: 4, seq: 3, reason: "SEQUENCE" },
    });
  });

  it("reordered records: SEQUENCE at the first moved line", async () => {
    const { file } = await writeLog(5);
    const ls = await lines(file);
    [ls[2], ls[3]] = [ls[3]!, ls[2]!];
    await rewrite(file, ls);
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      records: 2,
      firstBad: { line: 3, seq: 4, reason: "SEQUENCE" },
    });
  });

  it("a truncated last line: TRUNCATED, with the complete records before it counted", async () => {
    const { file } = await writeLog(3);
    const text = await readFile(file, "utf8");
    await writeFile(file, text.slice(0, text.length - 20));
    expect(await verifyAuditLog(file)).toMatchObject({
      ok: false,
      records: 2,
      firstBad: { line: 3, reason: "TRUNCATED" },
    });
  });

  it("garbage in a line: MALFORMED", () => {
    expect(verifyAuditText("not json\n")).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "MALFORMED" },
    });
    expect(verifyAuditText('{"v":1}\n')).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "MALFORMED" },
    });
  });

  it("records removed from the end: TAIL_MISSING against the head recorded elsewhere", async () => {
    const { file, records } = await writeLog(4);
    const ls = await lines(file);
    await rewrite(file, ls.slice(0, 2));
    const expectedHead = { seq: 4, hash: records[3]!.hash };
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true, records: 2 });
    expect(await verifyAuditLog(file, { expectedHead })).toMatchObject({
      ok: false,
      firstBad: { reason: "TAIL_MISSING" },
    });
    await rewrite(file, ls);
    expect(await verifyAuditLog(file, { expectedHead })).toMatchObject({ ok: true, records: 4 });
  });

  it("records removed from the end: TAIL_MISSING when a record id kept elsewhere is gone", async () => {
    const { file, records } = await writeLog(3);
    const ls = await lines(file);
    expect(await verifyAuditLog(file, { expectedRecordId: records[2]!.id })).toMatchObject({ ok: true });
    expect(await verifyAuditLog(file, { expectedRecordId: records[0]!.id })).toMatchObject({ ok: true });
    await rewrite(file, ls.slice(0, 2));
    expect(await verifyAuditLog(file, { expectedRecordId: records[2]!.id })).toMatchObject({
      ok: false,
      records: 2,
      firstBad: { line: 3, reason: "TAIL_MISSING" },
    });
  });

  it("an empty log has nothing wrong, and nothing checked", () => {
    expect(verifyAuditText("")).toEqual({
      ok: true,
      status: "unchecked",
      signed: 0,
      records: 0,
      head: { seq: 0, hash: GENESIS },
    });
  });
});

describe("signed audit logs", () => {
  it("every record carries an ed25519 signature that openssl verifies", async () => {
    const { file, records } = await writeLog(2, true);
    expect(await verifyAuditLog(file, { publicKey: loadAuditPublicKey(keys.pubPem) })).toMatchObject({
      ok: true,
      records: 2,
    });
    const msg = path.join(dir, "msg");
    const sig = path.join(dir, "sig");
    await writeFile(msg, records[1]!.hash);
    await writeFile(sig, Buffer.from(records[1]!.sig!, "base64"));
    const { stdout } = await run("openssl", [
      "pkeyutl",
      "-verify",
      "-pubin",
      "-inkey",
      keys.pub,
      "-rawin",
      "-in",
      msg,
      "-sigfile",
      sig,
    ]);
    expect(stdout).toMatch(/Signature Verified Successfully/);
  });

  it("an unsigned log does not pass when a key is required", async () => {
    const { file } = await writeLog(2);
    expect(await verifyAuditLog(file, { publicKey: loadAuditPublicKey(keys.pubPem) })).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "UNSIGNED" },
    });
  });

  it("a log signed by another key does not pass: its records name a key id that is not given", async () => {
    const { file } = await writeLog(2, true);
    const other = await opensslKeyPair(dir, "other");
    expect(await verifyAuditLog(file, { publicKey: loadAuditPublicKey(other.pubPem) })).toMatchObject({
      ok: false,
      firstBad: { line: 1, reason: "UNKNOWN_KEY" },
    });
  });

  it("refuses keys that are not ed25519", async () => {
    const rsa = path.join(dir, "rsa.key");
    await run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa]);
    expect(() => loadAuditSigningKey(Buffer.from("x").toString())).toThrow();
    const rsaPem = await readFile(rsa, "utf8");
    expect(() => loadAuditSigningKey(rsaPem)).toThrow(/must be ed25519/);
  });
});
