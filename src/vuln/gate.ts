// The vulnerability gate: findings of one image against spec.images.vulnerabilities. Findings at or above
// failOn refuse the image; an advisory without a severity counts as `unknownSeverity` (default high) and
// every report says so; an ignore entry exempts an advisory (by id or alias) until it expires, after
// which it stops applying and the report names it. A database older than maxDbAge is a warning.
import { parseDuration } from "../config/duration.js";
import type { Severity, VulnerabilityPolicy } from "../config/types.js";
import type { VulnDb } from "./db.js";
import type { Level } from "./cvss.js";
import type { VulnFinding } from "./match.js";

export const GATE_DEFAULTS = { failOn: "high", unknownSeverity: "high" } as const;

const RANK: Readonly<Record<Exclude<Level, "unknown">, number>> = {
  none: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

export interface GatedFinding extends VulnFinding {
  /** The severity the gate counts: the advisory's, or unknownSeverity for an advisory without one. */
  readonly counted: Exclude<Level, "unknown">;
  /** At or above failOn and not exempted. */
  readonly blocking: boolean;
  /** The exemption that applies, if any. */
  readonly ignored?: { readonly reason: string; readonly expires?: string };
}

export interface GateVerdict {
  readonly passed: boolean;
  readonly failOn: Severity;
  readonly unknownSeverity: Severity;
  readonly findings: readonly GatedFinding[];
  /** Exemptions past their date: they no longer apply. */
  readonly expired: readonly { readonly id: string; readonly reason: string; readonly expires: string }[];
  readonly db: DbAge;
  /** Notes for people: stale database, unknown severities counted as high, matcher warnings. */
  readonly warnings: readonly string[];
}

export interface DbAge {
  readonly version: string;
  readonly importedAt: string;
  readonly ageHours: number;
  readonly maxAge?: string;
  readonly stale: boolean;
}

/** The age of the database at `now`, and whether it is past the policy's maxDbAge. */
export function dbAge(db: VulnDb, maxAge: string | undefined, now: Date): DbAge {
  const ms = now.getTime() - Date.parse(db.meta.importedAt);
  const limit = maxAge === undefined ? undefined : parseDuration(maxAge);
  return {
    version: db.digest,
    importedAt: db.meta.importedAt,
    ageHours: Math.round((ms / 3_600_000) * 10) / 10,
    ...(maxAge === undefined ? {} : { maxAge }),
    stale: limit !== undefined && ms > limit,
  };
}

/** Whether an ignore's `expires` has passed: a date means "through the end of that day, UTC". */
function hasExpired(expires: string, now: Date): boolean {
  const end = /^\d{4}-\d{2}-\d{2}$/u.test(expires)
    ? Date.parse(`${expires}T23:59:59.999Z`)
    : Date.parse(expires);
  return Number.isNaN(end) || now.getTime() > end;
}

export function evaluateGate(
  findings: readonly VulnFinding[],
  policy: VulnerabilityPolicy | undefined,
  db: VulnDb,
  opts: { readonly now: Date; readonly failOn?: Severity; readonly matchWarnings?: readonly string[] },
): GateVerdict {
  const failOn = opts.failOn ?? policy?.failOn ?? GATE_DEFAULTS.failOn;
  const unknownSeverity = policy?.unknownSeverity ?? GATE_DEFAULTS.unknownSeverity;
  const active = new Map<string, { reason: string; expires?: string }>();
  const expired: { id: string; reason: string; expires: string }[] = [];
  for (const ig of policy?.ignore ?? []) {
    if (ig.expires !== undefined && hasExpired(ig.expires, opts.now))
      expired.push({ id: ig.id, reason: ig.reason, expires: ig.expires });
    else
      active.set(ig.id, { reason: ig.reason, ...(ig.expires === undefined ? {} : { expires: ig.expires }) });
  }
  const gated: GatedFinding[] = findings.map((f) => {
    const counted = f.severity.level === "unknown" ? unknownSeverity : f.severity.level;
    const ignored = [f.id, ...f.aliases].map((id) => active.get(id)).find((x) => x !== undefined);
    const blocking = ignored === undefined && RANK[counted] >= RANK[failOn];
    return { ...f, counted, blocking, ...(ignored === undefined ? {} : { ignored }) };
  });
  const age = dbAge(db, policy?.maxDbAge, opts.now);
  const warnings: string[] = [];
  if (age.stale)
    warnings.push(
      `the vulnerability database was imported ${age.ageHours} h ago, more than maxDbAge ${age.maxAge ?? ""}: findings published since are not known; import a fresh export`,
    );
  const unknown = gated.filter((f) => f.severity.level === "unknown").length;
  if (unknown > 0)
    warnings.push(
      `${unknown} advisory(ies) give no severity: counted as ${unknownSeverity} (spec.images.vulnerabilities.unknownSeverity)`,
    );
  for (const e of expired)
    warnings.push(`the exemption of ${e.id} expired on ${e.expires} and no longer applies (${e.reason})`);
  warnings.push(...(opts.matchWarnings ?? []));
  return {
    passed: !gated.some((f) => f.blocking),
    failOn,
    unknownSeverity,
    findings: gated,
    expired,
    db: age,
    warnings,
  };
}
