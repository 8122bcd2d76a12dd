// The audit trail as the day-to-day commands read it: from the cluster (the chunked ConfigMaps of
// cluster-log.ts) or from a file (a `gitward run --audit-log` or an export), always chain-checked before a
// record is believed, then filtered to one Application for `history` and `rollback`.
import { readFile } from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import type { ClusterClient } from "../cluster/client.js";
import { ConfigError } from "../config/errors.js";
import { readClusterTrail } from "../audit/cluster-log.js";
import type { AuditRecord } from "../audit/record.js";
import { verifyAuditText, type AuditVerifyResult } from "../audit/verify.js";

export interface TrailSource {
  /** A file (JSON Lines); otherwise the cluster's trail. */
  readonly file?: string;
  readonly cluster?: ClusterClient;
  readonly systemNamespace?: string;
  /** A partial log (an export with --since): the chain is checked from its first record. */
  readonly partial?: boolean;
  readonly publicKeys?: readonly KeyObject[];
}

export interface Trail {
  /** For messages: the file, or "cluster trail in NAMESPACE". */
  readonly where: string;
  readonly text: string;
  readonly verdict: AuditVerifyResult;
  /** Chunks the cluster trail lacks between its first and last (each breaks the chain). */
  readonly missingChunks: readonly number[];
}

export async function readTrail(src: TrailSource): Promise<Trail> {
  let text: string;
  let where: string;
  let missingChunks: number[] = [];
  if (src.file !== undefined) {
    where = src.file;
    try {
      text = await readFile(src.file, "utf8");
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new ConfigError(
        `cannot read the audit log: ${typeof code === "string" ? code : "error"}`,
        src.file,
      );
    }
  } else {
    if (src.cluster === undefined) throw new TypeError("readTrail: give a file or a cluster");
    const ns = src.systemNamespace ?? "gitward-system";
    where = `cluster trail in ${ns}`;
    const read = await readClusterTrail(src.cluster, { namespace: ns });
    text = read.text;
    missingChunks = read.missing;
  }
  const verdict = verifyAuditText(text, {
    ...(src.partial === true ? { partial: true } : {}),
    ...(src.publicKeys === undefined ? {} : { publicKeys: src.publicKeys }),
  });
  return { where, text, verdict, missingChunks };
}

/**
 * The records of a trail whose chain holds; a broken one is refused, naming the first bad record, since a
 * decision (a rollback) must not rest on records that may have been changed.
 */
export function trustedRecords(trail: Trail): AuditRecord[] {
  if (!trail.verdict.ok) {
    const bad = trail.verdict.firstBad;
    throw new ConfigError(
      `the audit trail does not verify (${bad?.reason ?? "BROKEN"}: ${bad?.message ?? ""}); run \`gitward audit verify\``,
      trail.where,
    );
  }
  return trail.text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditRecord);
}

export function recordsOf(records: readonly AuditRecord[], namespace: string, name: string): AuditRecord[] {
  return records.filter((r) => r.application.namespace === namespace && r.application.name === name);
}

/** Results that mean the revision passed every gate and was in force. */
export const IN_FORCE_RESULTS: ReadonlySet<string> = new Set(["applied", "rolled-back", "unchanged"]);
