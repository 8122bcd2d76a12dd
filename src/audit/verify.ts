// Verifies an audit log: each line a well-formed record whose hash matches its content, whose seq follows
// the one before and whose prev is the hash before it, and, given the operator's public key(s), signed by
// one of them under the key id it names. The file is read as a stream of lines, each capped in length, so a
// hostile log cannot make the verifier build a huge string. The first line that fails is named, with a
// reason code, so a changed, removed, inserted or reordered record is found; removing records at the end
// is only visible against an expected head (see docs/adr). A chain alone proves nothing against someone who
// can write the file (they can recompute it), so a log is "intact" only when its signatures were checked.
import { createReadStream } from "node:fs";
import type { KeyObject } from "node:crypto";
import { auditKeyId } from "./keys.js";
import {
  GENESIS,
  MAX_RECORD_BYTES,
  recordHash,
  recordProblem,
  verifyHashSignature,
  type AuditRecord,
} from "./record.js";

export const AuditVerifyReason = {
  /** The last line has no newline: a write was cut short, or the file was truncated. */
  Truncated: "TRUNCATED",
  /** The line is not JSON, or not a record of the expected shape. */
  Malformed: "MALFORMED",
  /** The line is longer than any record the writer writes (MAX_RECORD_BYTES): refused unread. */
  LineTooLong: "LINE_TOO_LONG",
  /** The record's content does not match its hash: the record was changed. */
  HashMismatch: "HASH_MISMATCH",
  /** seq does not follow the previous record: a record was removed, inserted or moved. */
  Sequence: "SEQUENCE",
  /** prev is not the previous record's hash. */
  ChainBroken: "CHAIN_BROKEN",
  /** A public key was given and the record carries no signature. */
  Unsigned: "UNSIGNED",
  /** The record names a key id that none of the given public keys has. */
  UnknownKey: "UNKNOWN_KEY",
  /** The signature does not verify with the given public key. */
  BadSignature: "BAD_SIGNATURE",
  /** The log ends before the expected head (records removed from its end). */
  TailMissing: "TAIL_MISSING",
} as const;
export type AuditVerifyReason = (typeof AuditVerifyReason)[keyof typeof AuditVerifyReason];

/**
 * intact: chain and every signature verified with the given key(s). unsigned: the chain holds, but no
 * record is signed (anyone who can write the file could have rewritten it). unchecked: the chain holds and
 * records are signed, but no key was given to check them. broken: a check failed (firstBad says which).
 */
export type AuditLogStatus = "intact" | "unsigned" | "unchecked" | "broken";

export interface VerifyOptions {
  /** ed25519 public key: every record must carry a valid signature by it. */
  publicKey?: KeyObject;
  /** Several public keys (the current and earlier ones after a rotation): each record by one of them. */
  publicKeys?: readonly KeyObject[];
  /** Longest line read (default MAX_RECORD_BYTES); a longer one is refused as LINE_TOO_LONG. */
  maxLineBytes?: number;
  /** The head recorded elsewhere: the log must reach it, with that hash. */
  expectedHead?: { seq: number; hash: string };
  /** A record id recorded elsewhere (an Application's status.lastAuditRecord): the log must hold it. */
  expectedRecordId?: string;
  /**
   * The log is a part of a longer chain (`audit export --since`): the first record may have any seq and
   * prev, and the chain is checked from it. Records removed before it cannot be detected, so say so.
   */
  partial?: boolean;
}

export interface AuditVerifyResult {
  /** No check failed: the chain holds (and, with keys, every signature). See `status` for what that proves. */
  ok: boolean;
  status: AuditLogStatus;
  /** Records that carry a signature, among those verified. */
  signed: number;
  /** Records that verified, before the first bad one. */
  records: number;
  /** The last good record's seq and hash (seq 0 and GENESIS when none). */
  head: { seq: number; hash: string };
  firstBad?: { line: number; seq?: number; reason: AuditVerifyReason; message: string };
}

/**
 * Reads and verifies the log at `path` line by line, never holding more than one line (at most
 * `maxLineBytes`) in memory; throws only when the file cannot be read.
 */
export async function verifyAuditLog(path: string, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const max = options.maxLineBytes ?? MAX_RECORD_BYTES;
  const chain = new ChainCheck(options);
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  let parts: Buffer[] = [];
  let partBytes = 0;
  let lineNo = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
        lineNo += 1;
        // The cap counts the newline, as the writer's does.
        if (partBytes + (nl - from) + 1 > max) return chain.tooLong(lineNo, max);
        parts.push(chunk.subarray(from, nl));
        const failed = chain.line(Buffer.concat(parts).toString("utf8"), lineNo);
        if (failed !== undefined) return failed;
        parts = [];
        partBytes = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        partBytes += chunk.length - from;
        if (partBytes >= max) return chain.tooLong(lineNo + 1, max);
        // Copied: the stream may reuse its chunk's memory.
        parts.push(Buffer.from(chunk.subarray(from)));
      }
    }
  } finally {
    stream.destroy();
  }
  return chain.end(lineNo, partBytes > 0);
}

/** Verifies the text of an audit log. */
export function verifyAuditText(text: string, options: VerifyOptions = {}): AuditVerifyResult {
  const lines = text.split("\n");
  const tail = lines.pop(); // "" when the text ends with a newline, as a complete log does
  const chain = new ChainCheck(options);
  const max = options.maxLineBytes ?? MAX_RECORD_BYTES;
  for (const [i, line] of lines.entries()) {
    if (Buffer.byteLength(line) + 1 > max) return chain.tooLong(i + 1, max);
    const failed = chain.line(line, i + 1);
    if (failed !== undefined) return failed;
  }
  if (tail !== undefined && Buffer.byteLength(tail) >= max) return chain.tooLong(lines.length + 1, max);
  return chain.end(lines.length, tail !== undefined && tail !== "");
}

/** The checks of one log, fed one line at a time. */
class ChainCheck {
  private head = { seq: 0, hash: GENESIS };
  private signed = 0;
  /** Records verified so far (head.seq, except in a partial log). */
  private count = 0;
  private sawExpectedId: boolean;
  private readonly keys: ReadonlyMap<string, KeyObject>;

  constructor(private readonly options: VerifyOptions) {
    this.sawExpectedId = options.expectedRecordId === undefined;
    const keys = [
      ...(options.publicKey === undefined ? [] : [options.publicKey]),
      ...(options.publicKeys ?? []),
    ];
    this.keys = new Map(keys.map((k) => [auditKeyId(k), k]));
  }

  private bad(line: number, reason: AuditVerifyReason, message: string, seq?: number): AuditVerifyResult {
    return {
      ok: false,
      status: "broken",
      signed: this.signed,
      records: this.count,
      head: this.head,
      firstBad: { line, reason, message, ...(seq === undefined ? {} : { seq }) },
    };
  }

  tooLong(line: number, max: number): AuditVerifyResult {
    return this.bad(
      line,
      AuditVerifyReason.LineTooLong,
      `line ${line} is longer than ${max} bytes, more than any audit record: the log is damaged or was ` +
        "tampered with (nothing past this point was read)",
    );
  }

  /** Checks one line (without its newline); returns the failure, or undefined when the record is good. */
  line(line: string, lineNo: number): AuditVerifyResult | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return this.bad(lineNo, AuditVerifyReason.Malformed, `line ${lineNo} is not JSON`);
    }
    const problem = recordProblem(parsed);
    if (problem !== undefined) {
      const seq = (parsed as { seq?: unknown } | null)?.seq;
      return this.bad(
        lineNo,
        AuditVerifyReason.Malformed,
        `line ${lineNo} is not an audit record (${problem})`,
        typeof seq === "number" ? seq : undefined,
      );
    }
    const record = parsed as AuditRecord;
    if (this.options.partial === true && lineNo === 1) {
      this.head = { seq: record.seq - 1, hash: record.prev };
    }
    const head = this.head;
    if (recordHash(record) !== record.hash) {
      return this.bad(
        lineNo,
        AuditVerifyReason.HashMismatch,
        `record seq ${record.seq} on line ${lineNo} was changed: its content does not match its hash`,
        record.seq,
      );
    }
    if (record.seq !== head.seq + 1) {
      return this.bad(
        lineNo,
        AuditVerifyReason.Sequence,
        `line ${lineNo} holds seq ${record.seq} where seq ${head.seq + 1} belongs: ` +
          "a record was removed, inserted or moved",
        record.seq,
      );
    }
    if (record.prev !== head.hash) {
      return this.bad(
        lineNo,
        AuditVerifyReason.ChainBroken,
        `record seq ${record.seq} on line ${lineNo} does not chain to the record before it`,
        record.seq,
      );
    }
    const sigProblem = this.signatureProblem(record, lineNo);
    if (sigProblem !== undefined) return sigProblem;
    const expected = this.options.expectedHead;
    if (expected !== undefined && record.seq === expected.seq && record.hash !== expected.hash) {
      return this.bad(
        lineNo,
        AuditVerifyReason.ChainBroken,
        `record seq ${record.seq} on line ${lineNo} is not the one recorded as the head: the log was rewritten`,
        record.seq,
      );
    }
    if (record.id === this.options.expectedRecordId) this.sawExpectedId = true;
    if (record.sig !== undefined) this.signed += 1;
    this.head = { seq: record.seq, hash: record.hash };
    this.count += 1;
    return undefined;
  }

  /** With keys: a signature is required, by the key its kid names (any given key for records without one). */
  private signatureProblem(record: AuditRecord, lineNo: number): AuditVerifyResult | undefined {
    if (this.keys.size === 0) return undefined;
    if (record.sig === undefined) {
      return this.bad(
        lineNo,
        AuditVerifyReason.Unsigned,
        `record seq ${record.seq} is not signed`,
        record.seq,
      );
    }
    const candidates = record.kid === undefined ? [...this.keys.values()] : [this.keys.get(record.kid)];
    if (candidates[0] === undefined) {
      return this.bad(
        lineNo,
        AuditVerifyReason.UnknownKey,
        `record seq ${record.seq} is signed by key ${record.kid ?? ""}, not by the given key(s) ` +
          [...this.keys.keys()].join(", "),
        record.seq,
      );
    }
    const sig = record.sig;
    if (!candidates.some((k) => k !== undefined && verifyHashSignature(record.hash, sig, k))) {
      return this.bad(
        lineNo,
        AuditVerifyReason.BadSignature,
        `record seq ${record.seq} has a signature that does not verify with the given key`,
        record.seq,
      );
    }
    return undefined;
  }

  /** After the last line: `lines` complete lines were read, and `partial` says whether bytes followed. */
  end(lines: number, partial: boolean): AuditVerifyResult {
    const head = this.head;
    if (partial) {
      return this.bad(
        lines + 1,
        AuditVerifyReason.Truncated,
        `line ${lines + 1} is incomplete (no newline): the log was cut short`,
      );
    }
    const expected = this.options.expectedHead;
    if (expected !== undefined && head.seq < expected.seq) {
      return this.bad(
        lines + 1,
        AuditVerifyReason.TailMissing,
        `the log ends at seq ${head.seq}, but seq ${expected.seq} was recorded: records were removed from its end`,
      );
    }
    if (!this.sawExpectedId) {
      return this.bad(
        lines + 1,
        AuditVerifyReason.TailMissing,
        `the log does not hold record ${this.options.expectedRecordId ?? ""}, which was recorded as written: ` +
          "records were removed from its end",
      );
    }
    const status: AuditLogStatus =
      this.keys.size > 0 ? "intact" : this.signed === 0 && head.seq > 0 ? "unsigned" : "unchecked";
    return { ok: true, status, signed: this.signed, records: this.count, head };
  }
}
