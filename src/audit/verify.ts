// Verifies an audit log: each line a well-formed record whose hash matches its content, whose seq follows
// the one before and whose prev is the hash before it, optionally signed by the expected ed25519 key.
// The first line that fails is named, with a reason code, so a changed, removed, inserted or reordered
// record is found; removing records at the end is only visible against an expected head (see docs/adr).
import { readFile } from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import { GENESIS, recordHash, recordProblem, verifyHashSignature, type AuditRecord } from "./record.js";

export const AuditVerifyReason = {
  /** The last line has no newline: a write was cut short, or the file was truncated. */
  Truncated: "TRUNCATED",
  /** The line is not JSON, or not a record of the expected shape. */
  Malformed: "MALFORMED",
  /** The record's content does not match its hash: the record was changed. */
  HashMismatch: "HASH_MISMATCH",
  /** seq does not follow the previous record: a record was removed, inserted or moved. */
  Sequence: "SEQUENCE",
  /** prev is not the previous record's hash. */
  ChainBroken: "CHAIN_BROKEN",
  /** A public key was given and the record carries no signature. */
  Unsigned: "UNSIGNED",
  /** The signature does not verify with the given public key. */
  BadSignature: "BAD_SIGNATURE",
  /** The log ends before the expected head (records removed from its end). */
  TailMissing: "TAIL_MISSING",
} as const;
export type AuditVerifyReason = (typeof AuditVerifyReason)[keyof typeof AuditVerifyReason];

export interface VerifyOptions {
  /** ed25519 public key: every record must carry a valid signature. */
  publicKey?: KeyObject;
  /** The head recorded elsewhere: the log must reach it, with that hash. */
  expectedHead?: { seq: number; hash: string };
  /** A record id recorded elsewhere (an Application's status.lastAuditRecord): the log must hold it. */
  expectedRecordId?: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Records that verified, before the first bad one. */
  records: number;
  /** The last good record's seq and hash (seq 0 and GENESIS when none). */
  head: { seq: number; hash: string };
  firstBad?: { line: number; seq?: number; reason: AuditVerifyReason; message: string };
}

/** Reads and verifies the log at `path`; throws only when the file cannot be read. */
export async function verifyAuditLog(path: string, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  return verifyAuditText(await readFile(path, "utf8"), options);
}

/** Verifies the text of an audit log. */
export function verifyAuditText(text: string, options: VerifyOptions = {}): AuditVerifyResult {
  const lines = text.split("\n");
  const tail = lines.pop(); // "" when the file ends with a newline, as a complete log does
  let head = { seq: 0, hash: GENESIS };
  const bad = (
    line: number,
    reason: AuditVerifyReason,
    message: string,
    seq?: number,
  ): AuditVerifyResult => ({
    ok: false,
    records: head.seq,
    head,
    firstBad: { line, reason, message, ...(seq === undefined ? {} : { seq }) },
  });

  let sawExpectedId = options.expectedRecordId === undefined;
  for (const [i, line] of lines.entries()) {
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return bad(lineNo, AuditVerifyReason.Malformed, `line ${lineNo} is not JSON`);
    }
    const problem = recordProblem(parsed);
    if (problem !== undefined) {
      const seq = (parsed as { seq?: unknown } | null)?.seq;
      return bad(
        lineNo,
        AuditVerifyReason.Malformed,
        `line ${lineNo} is not an audit record (${problem})`,
        typeof seq === "number" ? seq : undefined,
      );
    }
    const record = parsed as AuditRecord;
    if (recordHash(record) !== record.hash) {
      return bad(
        lineNo,
        AuditVerifyReason.HashMismatch,
        `record seq ${record.seq} on line ${lineNo} was changed: its content does not match its hash`,
        record.seq,
      );
    }
    if (record.seq !== head.seq + 1) {
      return bad(
        lineNo,
        AuditVerifyReason.Sequence,
        `line ${lineNo} holds seq ${record.seq} where seq ${head.seq + 1} belongs: ` +
          "a record was removed, inserted or moved",
        record.seq,
      );
    }
    if (record.prev !== head.hash) {
      return bad(
        lineNo,
        AuditVerifyReason.ChainBroken,
        `record seq ${record.seq} on line ${lineNo} does not chain to the record before it`,
        record.seq,
      );
    }
    if (options.publicKey !== undefined) {
      if (record.sig === undefined) {
        return bad(lineNo, AuditVerifyReason.Unsigned, `record seq ${record.seq} is not signed`, record.seq);
      }
      if (!verifyHashSignature(record.hash, record.sig, options.publicKey)) {
        return bad(
          lineNo,
          AuditVerifyReason.BadSignature,
          `record seq ${record.seq} has a signature that does not verify with the given key`,
          record.seq,
        );
      }
    }
    const expected = options.expectedHead;
    if (expected !== undefined && record.seq === expected.seq && record.hash !== expected.hash) {
      return bad(
        lineNo,
        AuditVerifyReason.ChainBroken,
        `record seq ${record.seq} on line ${lineNo} is not the one recorded as the head: the log was rewritten`,
        record.seq,
      );
    }
    if (record.id === options.expectedRecordId) sawExpectedId = true;
    head = { seq: record.seq, hash: record.hash };
  }
  if (tail !== undefined && tail !== "") {
    return bad(
      lines.length + 1,
      AuditVerifyReason.Truncated,
      `line ${lines.length + 1} is incomplete (no newline): the log was cut short`,
    );
  }
  const expected = options.expectedHead;
  if (expected !== undefined && head.seq < expected.seq) {
    return bad(
      lines.length + 1,
      AuditVerifyReason.TailMissing,
      `the log ends at seq ${head.seq}, but seq ${expected.seq} was recorded: records were removed from its end`,
    );
  }
  if (!sawExpectedId) {
    return bad(
      lines.length + 1,
      AuditVerifyReason.TailMissing,
      `the log does not hold record ${options.expectedRecordId ?? ""}, which was recorded as written: ` +
        "records were removed from its end",
    );
  }
  return { ok: true, records: head.seq, head };
}
