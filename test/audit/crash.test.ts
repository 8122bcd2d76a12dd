// Crash safety of the audit writer across processes: a writer in another process holds the lock; once it
// is killed with SIGKILL its lock goes stale and a new writer resumes the chain; a write cut short is cut
// off on request, never chained onto. Uses the built writer (dist/), as `npm test` builds first.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { AuditLog } from "../../src/audit/writer.js";
import { repoRoot } from "../support/tools.js";
import { entry } from "./support.js";

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-audit-crash-"));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** Starts a process that opens the log, appends `count` records, prints "ready" and waits to be killed. */
async function writerProcess(log: string, count: number): Promise<ChildProcess> {
  const writer = pathToFileURL(path.join(repoRoot, "dist", "src", "audit", "writer.js")).href;
  const script = path.join(dir, "writer.mjs");
  await writeFile(
    script,
    `import { AuditLog } from ${JSON.stringify(writer)};
const entry = JSON.parse(process.argv[3]);
const log = await AuditLog.open({ path: process.argv[2], staleLockMs: 2000 });
for (let i = 0; i < ${count}; i++) await log.append(entry);
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, [script, log, JSON.stringify(entry(1))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve();
    });
    child.on("exit", (code) => {
      reject(new Error(`writer process exited with ${String(code)}`));
    });
  });
  return child;
}

describe("audit writer crash safety", () => {
  it("one writer across processes; after SIGKILL the lock goes stale and the chain resumes", async () => {
    const log = path.join(dir, "shared.jsonl");
    const child = await writerProcess(log, 3);
    await expect(AuditLog.open({ path: log, staleLockMs: 2000 })).rejects.toMatchObject({
      code: "AUDIT_LOCKED",
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    const deadline = Date.now() + 10_000;
    let writer: AuditLog | undefined;
    while (writer === undefined) {
      try {
        writer = await AuditLog.open({ path: log, staleLockMs: 2000 });
      } catch (err) {
        if ((err as { code?: string }).code !== "AUDIT_LOCKED" || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(writer.last.seq).toBe(3);
    const next = await writer.append(entry(4));
    await writer.close();
    expect(next.seq).toBe(4);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, records: 4 });
  });

  it("cuts off a write that was cut short only when asked, and chains on from the last whole record", async () => {
    const log = path.join(dir, "torn.jsonl");
    const first = await AuditLog.open({ path: log });
    await first.append(entry(1));
    const second = await first.append(entry(2));
    await first.close();
    const whole = await readFile(log, "utf8");
    await appendFile(log, JSON.stringify(entry(3)).slice(0, 50));

    await expect(AuditLog.open({ path: log })).rejects.toMatchObject({ code: "AUDIT_DAMAGED" });
    const recovered = await AuditLog.open({ path: log, recoverIncompleteTail: true });
    expect(recovered.recoveredBytes).toBe(50);
    expect(recovered.last).toEqual({ seq: 2, hash: second.hash });
    await recovered.append(entry(3));
    await recovered.close();
    expect((await readFile(log, "utf8")).startsWith(whole)).toBe(true);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, records: 3 });
  });

  it("never cuts off a complete record, even when asked to recover", async () => {
    const log = path.join(dir, "changed.jsonl");
    const w = await AuditLog.open({ path: log });
    await w.append(entry(1));
    await w.close();
    const text = await readFile(log, "utf8");
    await writeFile(log, text.replace('"result":"applied"', '"result":"failed"'));
    await expect(AuditLog.open({ path: log, recoverIncompleteTail: true })).rejects.toMatchObject({
      code: "AUDIT_DAMAGED",
    });
    expect(await readFile(log, "utf8")).toBe(text.replace('"result":"applied"', '"result":"failed"'));
  });

  it("recovers a log whose only line was cut short to an empty chain", async () => {
    const log = path.join(dir, "only-torn.jsonl");
    await writeFile(log, '{"v":1,"seq":1');
    const w = await AuditLog.open({ path: log, recoverIncompleteTail: true });
    const r = await w.append(entry(1));
    await w.close();
    expect(r.seq).toBe(1);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, records: 1 });
  });
});
