import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAuditSigningKey } from "../../src/audit/keys.js";
import { AuditLog } from "../../src/audit/writer.js";
import { entry, opensslKeyPair } from "../audit/support.js";
import { cliEntry } from "../support/tools.js";

const run = promisify(execFile);

async function gitward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
let log: string;
let keys: Awaited<ReturnType<typeof opensslKeyPair>>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-cli-audit-"));
  keys = await opensslKeyPair(dir);
  log = path.join(dir, "audit.jsonl");
  const writer = await AuditLog.open({ path: log, signingKey: loadAuditSigningKey(keys.privPem) });
  for (let i = 1; i <= 3; i++) await writer.append(entry(i));
  await writer.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("gitward audit verify", () => {
  it("exits 0 on an intact log, in text and JSON", async () => {
    const text = await gitward("audit", "verify", log, "--key", keys.pub);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/intact, 3 record\(s\), 3 signed; head seq 3 sha256:[0-9a-f]{64}/);
    const json = await gitward("audit", "verify", log, "--key", keys.pub, "-o", "json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      status: "intact",
      records: 3,
      head: { seq: 3 },
    });
  });

  it("exits 1 and names the first bad record when a record was changed", async () => {
    const broken = path.join(dir, "broken.jsonl");
    const text = await readFile(log, "utf8");
    await writeFile(broken, text.replace('"name":"web-2"', '"name":"web-x"'));
    const r = await gitward("audit", "verify", broken, "-o", "json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      records: 1,
      firstBad: { line: 2, seq: 2, reason: "HASH_MISMATCH" },
    });
    const t = await gitward("audit", "verify", broken);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/BROKEN at line 2 \(seq 2\): HASH_MISMATCH/);
  });

  it("exits 1 when a record id kept elsewhere is no longer in the log", async () => {
    const lines = (await readFile(log, "utf8")).split("\n").filter((l) => l !== "");
    const lastId = (JSON.parse(lines[2]!) as { id: string }).id;
    expect((await gitward("audit", "verify", log, "--key", keys.pub, "--expect-record", lastId)).code).toBe(
      0,
    );
    const cut = path.join(dir, "cut.jsonl");
    await writeFile(
      cut,
      lines
        .slice(0, 2)
        .map((l) => l + "\n")
        .join(""),
    );
    const r = await gitward("audit", "verify", cut, "--key", keys.pub, "--expect-record", lastId);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/TAIL_MISSING/);
  });

  it("exits 1 when the log was not signed by --key", async () => {
    const other = await opensslKeyPair(dir, "other");
    const r = await gitward("audit", "verify", log, "--key", other.pub);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/UNKNOWN_KEY: record seq 1 is signed by key ed25519:[0-9a-f]{16}, not by/);
    // Both keys given (a rotation): the one the records name is used.
    expect((await gitward("audit", "verify", log, "--key", other.pub, "--key", keys.pub)).code).toBe(0);
  });

  it("exits 3 and says UNSIGNED for an unsigned log, UNCHECKED for a signed log without --key", async () => {
    const unsigned = path.join(dir, "unsigned.jsonl");
    const writer = await AuditLog.open({ path: unsigned });
    await writer.append(entry(1));
    await writer.close();
    const u = await gitward("audit", "verify", unsigned);
    expect(u.code).toBe(3);
    expect(u.stdout).toMatch(/: UNSIGNED \(hash chain holds, but no record is signed/);
    expect(u.stdout).not.toMatch(/intact/);
    const c = await gitward("audit", "verify", log, "-o", "json");
    expect(c.code).toBe(3);
    expect(JSON.parse(c.stdout)).toMatchObject({ ok: true, status: "unchecked", signed: 3 });
    // With a key, an unsigned log is broken at its first record.
    const k = await gitward("audit", "verify", unsigned, "--key", keys.pub);
    expect(k.code).toBe(1);
    expect(k.stdout).toMatch(/BROKEN at line 1 \(seq 1\): UNSIGNED/);
  });

  it("keygen writes a key pair the writer signs with and verify checks, and never overwrites it", async () => {
    const out = path.join(dir, "keygen");
    await mkdir(out);
    const r = await gitward("audit", "keygen", "--out-dir", out, "-o", "json");
    expect(r.code).toBe(0);
    const made = JSON.parse(r.stdout) as { keyId: string; privateKey: string; publicKey: string };
    expect(made.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
    expect((await stat(made.privateKey)).mode & 0o777).toBe(0o600);
    const signedLog = path.join(out, "audit.jsonl");
    const writer = await AuditLog.open({
      path: signedLog,
      signingKey: loadAuditSigningKey(await readFile(made.privateKey, "utf8")),
    });
    await writer.append(entry(1));
    await writer.close();
    expect((await gitward("audit", "verify", signedLog, "--key", made.publicKey)).code).toBe(0);
    const again = await gitward("audit", "keygen", "--out-dir", out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/audit\.key: exists already/);
  });

  it("exits 1 with LINE_TOO_LONG on a line over --max-line-bytes", async () => {
    const long = path.join(dir, "long.jsonl");
    await writeFile(long, (await readFile(log, "utf8")) + "x".repeat(4096) + "\n");
    const r = await gitward("audit", "verify", long, "--key", keys.pub, "--max-line-bytes", "2048");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at line 4: LINE_TOO_LONG: line 4 is longer than 2048 bytes/);
  });

  it("exits 2 when the file or the key is missing or unreadable", async () => {
    const missing = await gitward("audit", "verify", path.join(dir, "nope.jsonl"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.jsonl: cannot read the audit log: ENOENT/);
    const badKey = await gitward("audit", "verify", log, "--key", log);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/not an ed25519 public key/);
    const noArg = await gitward("audit", "verify");
    expect(noArg.code).toBe(2);
  });

  it("documents the exit codes in --help", async () => {
    const r = await gitward("audit", "verify", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit 0 intact, 1 broken/);
  });
});
