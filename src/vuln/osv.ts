// OSV records (ossf/osv-schema docs/schema.md), read defensively: an export is third-party input, so every
// field is checked for type and size and a record that does not fit is skipped with a reason, never
// trusted half-way. Only what matching and reporting use is kept.
import { isRecord } from "../json/record.js";
import { cvss3, levelFromLabel, type Level } from "./cvss.js";
import { cvss4 } from "./cvss4.js";

export type RangeType = "ECOSYSTEM" | "SEMVER" | "GIT";

export interface OsvEvent {
  readonly introduced?: string;
  readonly fixed?: string;
  readonly last_affected?: string;
  readonly limit?: string;
}

export interface OsvRange {
  readonly type: RangeType;
  readonly events: readonly OsvEvent[];
}

export interface OsvAffected {
  readonly ecosystem: string;
  readonly name: string;
  readonly purl?: string;
  readonly ranges: readonly OsvRange[];
  readonly versions: readonly string[];
  /** A severity label the publisher gives for this package (ecosystem_specific / database_specific). */
  readonly label?: Level;
}

/** How severe an advisory is, and where gitward took that from. */
export interface AdvisorySeverity {
  readonly level: Level;
  readonly score?: number;
  readonly vector?: string;
  /** "CVSS_V3" or "CVSS_V4" (computed from the vector), "label" (the publisher's), or "none given". */
  readonly source: string;
}

export interface Advisory {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly summary?: string;
  readonly modified?: string;
  readonly severity: AdvisorySeverity;
}

export interface ParsedRecord {
  readonly advisory: Advisory;
  readonly affected: readonly OsvAffected[];
  readonly withdrawn: boolean;
}

const MAX_TEXT = 4096;
const MAX_LIST = 10_000;

function str(v: unknown, max = MAX_TEXT): string | undefined {
  return typeof v === "string" && v.length > 0 && v.length <= max ? v : undefined;
}

function strings(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.slice(0, MAX_LIST).flatMap((x) => (str(x, 256) === undefined ? [] : [x as string]));
}

function events(v: unknown): OsvEvent[] {
  if (!Array.isArray(v)) return [];
  const out: OsvEvent[] = [];
  for (const e of v.slice(0, MAX_LIST)) {
    if (!isRecord(e)) continue;
    for (const k of ["introduced", "fixed", "last_affected", "limit"] as const) {
      const s = str(e[k], 256);
      if (s !== undefined) out.push({ [k]: s });
    }
  }
  return out;
}

function ranges(v: unknown): OsvRange[] {
  if (!Array.isArray(v)) return [];
  const out: OsvRange[] = [];
  for (const r of v.slice(0, MAX_LIST)) {
    if (!isRecord(r)) continue;
    const type = r["type"];
    if (type !== "ECOSYSTEM" && type !== "SEMVER" && type !== "GIT") continue;
    out.push({ type, events: events(r["events"]) });
  }
  return out;
}

function labelOf(...places: unknown[]): Level | undefined {
  for (const p of places) {
    if (!isRecord(p)) continue;
    const direct = levelFromLabel(p["severity"]);
    if (direct !== undefined) return direct;
    // Ubuntu and some others nest it: {"severity": [{"type": "Ubuntu", "score": "medium"}]}.
    const list = p["severity"];
    if (Array.isArray(list))
      for (const s of list) {
        // An entry without a usable label (a vector, an unknown word) does not decide: look further.
        const nested = isRecord(s) ? levelFromLabel(s["score"]) : undefined;
        if (nested !== undefined) return nested;
      }
  }
  return undefined;
}

/**
 * The advisory's severity: a computed CVSS v3 score first, then a computed CVSS v4 score, else the
 * publisher's label, else unknown. A vector that does not parse is passed over (the next source decides).
 */
function severityOf(rec: Record<string, unknown>, affectedLabel: Level | undefined): AdvisorySeverity {
  const list = Array.isArray(rec["severity"]) ? rec["severity"] : [];
  let v4: AdvisorySeverity | undefined;
  for (const s of list) {
    if (!isRecord(s)) continue;
    const score = str(s["score"], 512);
    if (score === undefined) continue;
    if (s["type"] === "CVSS_V3") {
      const r = cvss3(score);
      if (r.ok) return { level: r.level, score: r.score, vector: score, source: "CVSS_V3" };
    } else if (s["type"] === "CVSS_V4" && v4 === undefined) {
      const r = cvss4(score);
      if (r.ok) v4 = { level: r.level, score: r.score, vector: score, source: "CVSS_V4" };
    }
  }
  if (v4 !== undefined) return v4;
  const label = labelOf(rec["database_specific"]) ?? affectedLabel;
  if (label !== undefined) return { level: label, source: "label" };
  return { level: "unknown", source: "none given" };
}

/** One OSV record, or the reason it cannot be used. */
export function parseRecord(
  value: unknown,
): { ok: true; record: ParsedRecord } | { ok: false; reason: string } {
  if (!isRecord(value)) return { ok: false, reason: "not a JSON object" };
  const id = str(value["id"], 256);
  if (id === undefined) return { ok: false, reason: "no id" };
  const affected: OsvAffected[] = [];
  const list = Array.isArray(value["affected"]) ? value["affected"].slice(0, MAX_LIST) : [];
  for (const a of list) {
    if (!isRecord(a) || !isRecord(a["package"])) continue;
    const ecosystem = str(a["package"]["ecosystem"], 256);
    const name = str(a["package"]["name"], 1024);
    if (ecosystem === undefined || name === undefined) continue;
    const purl = str(a["package"]["purl"], 2048);
    const label = labelOf(a["ecosystem_specific"], a["database_specific"]);
    affected.push({
      ecosystem,
      name,
      ...(purl === undefined ? {} : { purl }),
      ranges: ranges(a["ranges"]),
      versions: strings(a["versions"]),
      ...(label === undefined ? {} : { label }),
    });
  }
  const summary = str(value["summary"], 1024);
  const modified = str(value["modified"], 64);
  // One severity per advisory: the first affected package's label stands in when the record has none.
  const severity = severityOf(value, affected.find((a) => a.label !== undefined)?.label);
  return {
    ok: true,
    record: {
      advisory: {
        id,
        aliases: strings(value["aliases"]),
        ...(summary === undefined ? {} : { summary }),
        ...(modified === undefined ? {} : { modified }),
        severity,
      },
      affected,
      withdrawn: str(value["withdrawn"], 64) !== undefined,
    },
  };
}
