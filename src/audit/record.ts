// The audit record: what gitward did to which objects, for which commit and signer, and why. Typed and
// schema-checked so that no free-form field can carry a secret value; hashed over RFC 8785 canonical JSON
// so any change to a written record is detectable, and chained through `prev` to the record before it.
import { createHash, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import canonicalize from "canonicalize";
import { Type, type Static } from "@sinclair/typebox";
import { Code, Count, Digest, firstProblem, Ident, Revision, UtcTime } from "../config/fields.js";
import { KEY_ID_PATTERN } from "./keys.js";

/** `prev` of the first record of a log. */
export const GENESIS = "sha256:" + "0".repeat(64);
export const RECORD_VERSION = 1;
/**
 * The longest record line (with its newline) the writer writes and `audit verify` reads: about 80,000
 * object references. Anything longer in a log is hostile or damaged, and is refused without reading it whole.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export const AuditObjectRefSchema = Type.Object(
  {
    apiVersion: Ident(),
    kind: Ident(),
    namespace: Type.Optional(Ident(63)),
    name: Ident(),
    /** objectDigest() of the manifest as applied (for a Secret, of its keys only). */
    digest: Digest,
  },
  { additionalProperties: false },
);

export const AuditSignerSchema = Type.Object(
  {
    /** The signer's name in the TrustPolicy. */
    name: Ident(),
    /** Key fingerprint, e.g. "SHA256:..." (ssh) or an OpenPGP fingerprint. */
    key: Type.Optional(Ident(200)),
    /** How many of the revision's new commits this signer signed. */
    commits: Type.Optional(Count),
  },
  { additionalProperties: false },
);

export const FindingsSummarySchema = Type.Object(
  {
    total: Count,
    bySeverity: Type.Object(
      { low: Count, medium: Count, high: Count, critical: Count },
      { additionalProperties: false },
    ),
    /** Distinct rule or verdict codes among the findings (at most 100). */
    codes: Type.Array(Code, { maxItems: 100 }),
  },
  { additionalProperties: false },
);

export const AuditResultSchema = Type.Union([
  Type.Literal("applied"),
  Type.Literal("unchanged"),
  Type.Literal("refused"),
  Type.Literal("failed"),
  Type.Literal("drift-detected"),
  Type.Literal("drift-reverted"),
  /** A managed object changed at admission by a member of a TrustPolicy admission.breakGlass group. */
  Type.Literal("break-glass"),
  /** An earlier revision applied again under a rollback pin (`gitward rollback`), fully verified. */
  Type.Literal("rolled-back"),
]);

export const AuditActorSchema = Type.Object(
  {
    type: Type.Union([Type.Literal("operator"), Type.Literal("user"), Type.Literal("service-account")]),
    /** e.g. "system:serviceaccount:gitward-system:gitward", or the local user running the CLI. */
    name: Ident(),
  },
  { additionalProperties: false },
);

export const DriftChangeSchema = Type.Object(
  {
    object: Type.Omit(AuditObjectRefSchema, ["digest"]),
    /** Field paths that changed (e.g. "spec.replicas"), never their values. */
    fields: Type.Array(Ident(512), { maxItems: 200 }),
    /** The field manager that made the change (from managedFields), or "deleted". */
    manager: Ident(),
  },
  { additionalProperties: false },
);

/** What a caller hands to AuditLog.append(): no free-form text, so no room for secret values. */
export const AuditEntrySchema = Type.Object(
  {
    application: Type.Object({ namespace: Ident(63), name: Ident() }, { additionalProperties: false }),
    revision: Revision,
    signers: Type.Array(AuditSignerSchema),
    findings: FindingsSummarySchema,
    applied: Type.Array(AuditObjectRefSchema),
    pruned: Type.Array(AuditObjectRefSchema),
    result: AuditResultSchema,
    /** Verdict code when refused or failed (UNSIGNED, NOT_AUTHORIZED_FOR_PATH, POLICY, ...). */
    reason: Type.Optional(Code),
    drift: Type.Optional(Type.Array(DriftChangeSchema)),
    /** Image tags resolved to digests in this reconcile ("registry/repo:tag" → "sha256:..."). */
    images: Type.Optional(
      Type.Array(Type.Object({ ref: Ident(), digest: Digest }, { additionalProperties: false }), {
        maxItems: 1000,
      }),
    ),
    actor: AuditActorSchema,
  },
  { additionalProperties: false },
);

export const AuditRecordSchema = Type.Composite(
  [
    Type.Object({
      v: Type.Literal(RECORD_VERSION),
      seq: Type.Integer({ minimum: 1 }),
      id: Type.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" }),
      time: UtcTime,
      prev: Digest,
      /** Id of the key that signed the record (keys.ts auditKeyId); covered by the hash, so by `sig`. */
      kid: Type.Optional(Type.String({ pattern: KEY_ID_PATTERN })),
    }),
    AuditEntrySchema,
    Type.Object({ hash: Digest, sig: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9+/=]+$" })) }),
  ],
  { additionalProperties: false },
);

export type AuditObjectRef = Static<typeof AuditObjectRefSchema>;
export type AuditSigner = Static<typeof AuditSignerSchema>;
export type FindingsSummary = Static<typeof FindingsSummarySchema>;
export type AuditResult = Static<typeof AuditResultSchema>;
export type AuditActor = Static<typeof AuditActorSchema>;
export type DriftChange = Static<typeof DriftChangeSchema>;
export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditRecord = Static<typeof AuditRecordSchema>;

/** First schema problem of an entry, as "path: message", or undefined when it is well-formed. */
export function entryProblem(entry: unknown): string | undefined {
  return firstProblem(AuditEntrySchema, entry);
}

export function recordProblem(record: unknown): string | undefined {
  return firstProblem(AuditRecordSchema, record);
}

function sha256(text: string): string {
  return "sha256:" + createHash("sha256").update(text, "utf8").digest("hex");
}

function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value cannot be serialised as canonical JSON");
  return text;
}

/** The hash of a record: sha256 over the canonical JSON of every field except `hash` and `sig`. */
export function recordHash(
  record: Omit<AuditRecord, "hash" | "sig"> & { hash?: string; sig?: string },
): string {
  const { hash: _hash, sig: _sig, ...body } = record;
  return sha256(canonical(body));
}

/** ed25519 signature (base64) over the record's hash string. */
export function signHash(hash: string, privateKey: KeyObject): string {
  return sign(null, Buffer.from(hash, "utf8"), privateKey).toString("base64");
}

export function verifyHashSignature(hash: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(hash, "utf8"), publicKey, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

/**
 * Digest of an object as applied, for the audit record. A Secret's values are left out (only its key
 * names count): a plain hash of low-entropy secret values could be brute-forced from the audit log.
 */
export function objectDigest(manifest: Readonly<Record<string, unknown>>): string {
  let subject: unknown = manifest;
  if (
    manifest["kind"] === "Secret" &&
    (manifest["apiVersion"] === "v1" || manifest["apiVersion"] === undefined)
  ) {
    const keysOf = (v: unknown): string[] =>
      typeof v === "object" && v !== null ? Object.keys(v).sort() : [];
    const { data, stringData, ...rest } = manifest;
    subject = { ...rest, dataKeys: keysOf(data), stringDataKeys: keysOf(stringData) };
  }
  return sha256(canonical(subject));
}

export interface SealOptions {
  readonly now?: () => Date;
  /** auditKeyId() of `signingKey`, named in the record so a verifier picks the right key. */
  readonly keyId?: string;
  readonly signingKey?: KeyObject;
}

/** The next record of a chain whose last record is `head`: numbered, timed, chained, hashed and signed. */
export function sealRecord(
  entry: AuditEntry,
  head: { seq: number; hash: string },
  opts: SealOptions = {},
): AuditRecord {
  const body = {
    v: RECORD_VERSION,
    seq: head.seq + 1,
    id: randomUUID(),
    time: (opts.now?.() ?? new Date()).toISOString(),
    prev: head.hash,
    ...(opts.keyId === undefined ? {} : { kid: opts.keyId }),
    ...structuredClone(entry),
  } as const;
  const hash = recordHash(body);
  return {
    ...body,
    hash,
    ...(opts.signingKey === undefined ? {} : { sig: signHash(hash, opts.signingKey) }),
  };
}

/**
 * The chain head a writer continues from: the seq and hash of `line`, the last record written, or why it
 * cannot be trusted ("not JSON", a schema problem, "hash mismatch").
 */
export function headOfLine(line: string): { seq: number; hash: string } | { problem: string } {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return { problem: "not JSON" };
  }
  const problem = recordProblem(record);
  if (problem !== undefined) return { problem };
  const r = record as AuditRecord;
  if (recordHash(r) !== r.hash) return { problem: "hash mismatch" };
  return { seq: r.seq, hash: r.hash };
}
