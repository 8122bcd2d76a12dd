// CVSS base scores from vectors: v3.0/v3.1 computed by the v3.1 specification's formulas (section 7.1) with
// its Roundup (Appendix A), then rated none/low/medium/high/critical (section 5). CVSS v4.0 vectors are
// scored in cvss4.ts (the specification's macro-vector method); both share the rating bands here.

export type Level = "none" | "low" | "medium" | "high" | "critical" | "unknown";

/** Severity order for comparisons; unknown is placed by the gate's policy, not here. */
export const LEVELS: readonly Level[] = ["none", "low", "medium", "high", "critical"];

export type CvssResult =
  | { readonly ok: true; readonly version: "3.0" | "3.1"; readonly score: number; readonly level: Level }
  | { readonly ok: false; readonly reason: string };

const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** v3.1 Appendix A: the smallest number with one decimal that is >= input, robust to float error. */
export function roundup(input: number): number {
  const i = Math.round(input * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** The rating of a score (CVSS v3.1 section 5, the same bands as v4.0). */
export function levelOf(score: number): Level {
  if (score === 0) return "none";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (score < 9) return "high";
  return "critical";
}

function pick(table: Readonly<Record<string, number>>, value: string | undefined): number | undefined {
  return value !== undefined && Object.hasOwn(table, value) ? table[value] : undefined;
}

/** Parses "CVSS:3.1/AV:N/..." and computes its base score; a malformed vector is an error value. */
export function cvss3(vector: string): CvssResult {
  const parts = vector.trim().split("/");
  const head = parts.shift();
  const version = head === "CVSS:3.1" ? "3.1" : head === "CVSS:3.0" ? "3.0" : undefined;
  if (version === undefined) return { ok: false, reason: `not a CVSS v3 vector: ${vector.slice(0, 80)}` };
  const m = new Map<string, string>();
  for (const p of parts) {
    const [k, v, extra] = p.split(":");
    if (k === undefined || v === undefined || extra !== undefined || m.has(k))
      return { ok: false, reason: `malformed metric "${p.slice(0, 20)}" in ${vector.slice(0, 80)}` };
    m.set(k, v);
  }
  const scope = m.get("S");
  const av = pick(WEIGHTS.AV, m.get("AV"));
  const ac = pick(WEIGHTS.AC, m.get("AC"));
  const ui = pick(WEIGHTS.UI, m.get("UI"));
  const c = pick(WEIGHTS.CIA, m.get("C"));
  const i = pick(WEIGHTS.CIA, m.get("I"));
  const a = pick(WEIGHTS.CIA, m.get("A"));
  const changed = scope === "C";
  const prTable = changed ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 };
  const pr = pick(prTable, m.get("PR"));
  if (
    (scope !== "U" && scope !== "C") ||
    av === undefined ||
    ac === undefined ||
    pr === undefined ||
    ui === undefined ||
    c === undefined ||
    i === undefined ||
    a === undefined
  ) {
    return { ok: false, reason: `a base metric is missing or invalid in ${vector.slice(0, 80)}` };
  }
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  const score =
    impact <= 0
      ? 0
      : changed
        ? roundup(Math.min(1.08 * (impact + exploitability), 10))
        : roundup(Math.min(impact + exploitability, 10));
  return { ok: true, version, score, level: levelOf(score) };
}

/** A publisher's word for severity (GHSA "MODERATE", Debian/Ubuntu "important"...) as a level. */
export function levelFromLabel(label: unknown): Level | undefined {
  if (typeof label !== "string") return undefined;
  switch (label.trim().toLowerCase()) {
    case "none":
    case "negligible":
    case "unimportant":
      return "none";
    case "low":
      return "low";
    case "moderate":
    case "medium":
      return "medium";
    case "high":
    case "important":
      return "high";
    case "critical":
      return "critical";
    default:
      return undefined;
  }
}
