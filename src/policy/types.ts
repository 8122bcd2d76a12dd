// The contract of the policy stage: rules that see the whole rendered revision, the findings they report
// (rule id, severity, message, remediation, object and file:line origin) and the report that gathers
// them with the exemptions that were honoured.
import type { Severity } from "../config/types.js";
import type { Manifest, Origin } from "../render/types.js";
import { isRecord } from "../json/record.js";
export { isRecord } from "../json/record.js";

export type { Severity };

/** Order of severities, lowest first; `atLeast` compares with it. */
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];

export function atLeast(s: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(threshold);
}

/** Which object a finding is about; absent for findings on a file (the secret scanner). */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly message: string;
  readonly remediation: string;
  readonly object?: ObjectRef;
  /** JSON pointer (RFC 6901) of the offending field in the object, when the rule names one. */
  readonly path?: string;
  /** Where the offending field is written when known (directory renders), else where the object starts. */
  readonly origin: Origin;
}

export interface Exemption {
  readonly ruleId: string;
  readonly reason: string;
  readonly object: ObjectRef;
  readonly origin: Origin;
  /** How many findings this exemption suppressed. */
  readonly suppressed: number;
}

/** What a rule sees: every object of the revision, plus the context the application gives. */
export interface Revision {
  readonly manifests: readonly Manifest[];
  /** The namespace the application deploys to, when it targets one. */
  readonly destinationNamespace?: string;
  /**
   * Set when the revision is one object under admission (src/admission): the real request and old object,
   * which CEL rules see as `request` and `oldObject` instead of a CREATE by gitward.
   */
  readonly admission?: {
    readonly request: Readonly<Record<string, unknown>>;
    readonly oldObject: Readonly<Record<string, unknown>> | null;
    readonly namespaceObject?: Readonly<Record<string, unknown>> | null;
  };
}

/** A rule's raw report: the object (or a bare origin) and what is wrong with it. */
export interface Hit {
  readonly manifest?: Manifest;
  readonly origin?: Origin;
  /** JSON pointer of the offending field in `manifest.object` (or of its nearest parent when it is absent). */
  readonly path?: string;
  readonly message: string;
}

export interface Rule {
  /** Stable id, e.g. "pod-security/privileged"; used in exemptions, SARIF and JSON. */
  readonly id: string;
  readonly severity: Severity;
  /** One line on what the rule requires. */
  readonly title: string;
  readonly remediation: string;
  readonly check: (rev: Revision) => Iterable<Hit>;
}

export interface Pack {
  readonly id: string;
  readonly description: string;
  readonly rules: readonly Rule[];
}

export function refOf(m: Manifest): ObjectRef {
  return {
    apiVersion: m.apiVersion,
    kind: m.kind,
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
    name: m.name,
  };
}

/** Reads a nested field of untrusted data without assuming its shape. */
export function field(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A short printable form of an untrusted value for messages (never "[object Object]"). */
export function show(v: unknown): string {
  const s = typeof v === "string" ? v : ((JSON.stringify(v) as string | undefined) ?? "undefined");
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
