// Appends records to a JSON Lines audit log: one writer per file (a lock file, held while open), appends
// serialised through an in-process queue, each line written with one write() and fsync'ed before the
// record is reported as written. On open, the chain resumes from the last line of the existing file.
import type { KeyObject } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { lock } from "proper-lockfile";
import { auditKeyId } from "./keys.js";
import {
  MAX_RECORD_BYTES,
  entryProblem,
  headOfLine,
  sealRecord,
  GENESIS,
  type AuditEntry,
  type AuditRecord,
} from "./record.js";

export const AuditErrorCode = {
  /** Another writer holds the log's lock. */
  Locked: "AUDIT_LOCKED",
  /** The last line of the existing log is not a valid record (truncated or changed): run `audit verify`. */
  Damaged: "AUDIT_DAMAGED",
  /** The entry does not match the record schema (e.g. a field that is not allowed). */
  InvalidEntry: "AUDIT_INVALID_ENTRY",
  /** The log was closed, or its lock was lost. */
  Closed: "AUDIT_CLOSED",
  Io: "AUDIT_IO",
} as const;
export type AuditErrorCode = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

export class AuditError extends Error {
  override readonly name = "AuditError";
  constructor(
    readonly code: AuditErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where records go: the file log below, or the cluster's trail (cluster-log.ts). */
export interface AuditSink {
  append(entry: AuditEntry): Promise<AuditRecord>;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  path: string;
  /** ed25519 private key: every record then carries `sig`, checkable with the public key. */
  signingKey?: KeyObject;
  /** Injectable clock for tests. */
  now?: () => Date;
  /** A lock older than this (ms) is taken to belong to a dead process (default 10 s). */
  staleLockMs?: number;
  /**
   * Cut off an incomplete last line (a write cut short by a crash) instead of refusing to open; the
   * number of bytes cut is in `recoveredBytes`. A complete but invalid last record is always refused.
   */
  recoverIncompleteTail?: boolean;
}

interface Head {
  seq: number;
  hash: string;
}

export class AuditLog implements AuditSink {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private lockLost: Error | undefined;
  /** Bytes of an incomplete last line cut off on open (recoverIncompleteTail); 0 when none. */
  recoveredBytes = 0;
  private readonly keyId: string | undefined;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly release: () => Promise<void>,
    private head: Head,
    private readonly options: AuditLogOptions,
  ) {
    this.keyId = options.signingKey === undefined ? undefined : auditKeyId(options.signingKey);
  }

  /** Opens (creating if needed) the log for appending, taking its lock and resuming its chain. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const { path } = options;
    let file: FileHandle;
    try {
      file = await open(path, "a+", 0o640);
    } catch (err) {
      throw new AuditError(AuditErrorCode.Io, `cannot open audit log ${path}: ${errorText(err)}`);
    }
    let release: () => Promise<void>;
    let log: AuditLog | undefined;
    try {
      const stale = Math.max(options.staleLockMs ?? 10_000, 2_000);
      release = await lock(path, {
        realpath: false,
        stale,
        update: Math.floor(stale / 2),
        onCompromised: (err) => {
          // Fail closed: another process may be writing now, so this one stops appending.
          if (log !== undefined) log.lockLost = err;
        },
      });
    } catch (err) {
      await file.close();
      const code = (err as { code?: unknown }).code;
      if (code === "ELOCKED") {
        throw new AuditError(AuditErrorCode.Locked, `audit log ${path} is open in another writer`);
      }
      throw new AuditError(AuditErrorCode.Io, `cannot lock audit log ${path}: ${errorText(err)}`);
    }
    try {
      const { cut, ...head } = await readHead(file, path, options.recoverIncompleteTail === true);
      log = new AuditLog(path, file, release, head, options);
      log.recoveredBytes = cut;
      return log;
    } catch (err) {
      await file.close();
      await release();
      throw err;
    }
  }

  /** The seq and hash of the last record written (seq 0 and GENESIS for an empty log). */
  get last(): Readonly<Head> {
    return { ...this.head };
  }

  /** Validates, chains, signs and durably appends one record; resolves with the record written. */
  append(entry: AuditEntry): Promise<AuditRecord> {
    const result = this.queue.then(() => this.write(entry));
    // Keep the queue going after a failed append; the caller sees the failure through `result`.
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async write(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) throw new AuditError(AuditErrorCode.Closed, `audit log ${this.path} is closed`);
    if (this.lockLost !== undefined) {
      throw new AuditError(
        AuditErrorCode.Closed,
        `lost the lock of audit log ${this.path}: ${this.lockLost.message}`,
      );
    }
    const problem = entryProblem(entry);
    if (problem !== undefined) {
      throw new AuditError(AuditErrorCode.InvalidEntry, `audit entry rejected at ${problem}`);
    }
    const record = sealRecord(entry, this.head, {
      ...(this.options.now === undefined ? {} : { now: this.options.now }),
      ...(this.keyId === undefined ? {} : { keyId: this.keyId }),
      ...(this.options.signingKey === undefined ? {} : { signingKey: this.options.signingKey }),
    });
    const line = JSON.stringify(record) + "\n";
    if (Buffer.byteLength(line) > MAX_RECORD_BYTES) {
      // `audit verify` refuses longer lines; writing one would make the log unverifiable.
      throw new AuditError(
        AuditErrorCode.InvalidEntry,
        `audit record of ${Buffer.byteLength(line)} bytes is over the limit of ${MAX_RECORD_BYTES}`,
      );
    }
    try {
      await this.file.write(line);
      await this.file.sync();
    } catch (err) {
      throw new AuditError(AuditErrorCode.Io, `cannot append to audit log ${this.path}: ${errorText(err)}`);
    }
    this.head = { seq: record.seq, hash: record.hash };
    return record;
  }

  /** Waits for queued appends, then releases the file and its lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.file.close();
    await this.release().catch(() => undefined);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Offset where the line that ends just before `end` starts: scans backwards in chunks, not the whole file. */
async function lineStart(file: FileHandle, end: number): Promise<number> {
  const chunk = 64 * 1024;
  let start = end;
  while (start > 0) {
    const from = Math.max(0, start - chunk);
    const buf = Buffer.alloc(start - from);
    await file.read(buf, 0, buf.length, from);
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) return from + nl + 1;
    start = from;
  }
  return 0;
}

/**
 * Finds the last record of the log and checks it is complete and self-consistent, to chain from. An
 * incomplete last line is refused, or with `recoverIncompleteTail` cut off: it is a write that never
 * completed, so its append was never reported as done and nothing acknowledged is lost.
 */
async function readHead(file: FileHandle, path: string, recover: boolean): Promise<Head & { cut: number }> {
  let { size } = await file.stat();
  let cut = 0;
  if (size === 0) return { seq: 0, hash: GENESIS, cut };
  const last = Buffer.alloc(1);
  await file.read(last, 0, 1, size - 1);
  if (last[0] !== 0x0a) {
    const tailStart = await lineStart(file, size);
    if (!recover) {
      throw new AuditError(
        AuditErrorCode.Damaged,
        `audit log ${path} ends in an incomplete line at byte ${tailStart} (a crash during a write, or ` +
          "tampering): run `gitward audit verify`, then repair it or open with recoverIncompleteTail",
      );
    }
    await file.truncate(tailStart);
    cut = size - tailStart;
    size = tailStart;
    if (size === 0) return { seq: 0, hash: GENESIS, cut };
  }
  const start = await lineStart(file, size - 1);
  const buf = Buffer.alloc(size - 1 - start);
  await file.read(buf, 0, buf.length, start);
  const head = headOfLine(buf.toString("utf8"));
  if ("problem" in head) {
    throw new AuditError(
      AuditErrorCode.Damaged,
      `the last record of audit log ${path} (at byte ${start}) is not valid (${head.problem}): ` +
        "run `gitward audit verify` before writing",
    );
  }
  return { ...head, cut };
}
