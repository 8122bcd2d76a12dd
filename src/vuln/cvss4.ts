// CVSS v4.0 scores from vectors, by the specification's scoring method (section 8.2): the vector's
// macro-vector (equivalence classes EQ1–EQ6) is looked up in FIRST's table of macro-vector scores, then
// lowered by the mean, over the EQs, of the vector's severity distance from the highest vector of its
// macro-vector as a share of the step to the next lower macro-vector. The table, the highest vectors and
// the depths below are the specification's data (as published with FIRST's reference calculator).

import { levelOf, type Level } from "./cvss.js";

export type Cvss4Result =
  | {
      readonly ok: true;
      readonly version: "4.0";
      readonly score: number;
      readonly level: Level;
      /** CVSS-B, CVSS-BT, CVSS-BE or CVSS-BTE: which metric groups the score took into account. */
      readonly nomenclature: string;
      readonly macroVector: string;
    }
  | { readonly ok: false; readonly reason: string };

const BASE = {
  AV: ["N", "A", "L", "P"],
  AC: ["L", "H"],
  AT: ["N", "P"],
  PR: ["N", "L", "H"],
  UI: ["N", "P", "A"],
  VC: ["H", "L", "N"],
  VI: ["H", "L", "N"],
  VA: ["H", "L", "N"],
  SC: ["H", "L", "N"],
  SI: ["H", "L", "N"],
  SA: ["H", "L", "N"],
} as const;
const THREAT = { E: ["X", "A", "P", "U"] } as const;
const ENVIRONMENTAL = {
  CR: ["X", "H", "M", "L"],
  IR: ["X", "H", "M", "L"],
  AR: ["X", "H", "M", "L"],
  MAV: ["X", "N", "A", "L", "P"],
  MAC: ["X", "L", "H"],
  MAT: ["X", "N", "P"],
  MPR: ["X", "N", "L", "H"],
  MUI: ["X", "N", "P", "A"],
  MVC: ["X", "H", "L", "N"],
  MVI: ["X", "H", "L", "N"],
  MVA: ["X", "H", "L", "N"],
  MSC: ["X", "H", "L", "N"],
  MSI: ["X", "S", "H", "L", "N"],
  MSA: ["X", "S", "H", "L", "N"],
} as const;
/** Supplemental metrics are valid in a vector but never change the score. */
const SUPPLEMENTAL = {
  S: ["X", "N", "P"],
  AU: ["X", "N", "Y"],
  R: ["X", "A", "U", "I"],
  V: ["X", "D", "C"],
  RE: ["X", "L", "M", "H"],
  U: ["X", "Clear", "Green", "Amber", "Red"],
} as const;
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  ...BASE,
  ...THREAT,
  ...ENVIRONMENTAL,
  ...SUPPLEMENTAL,
};

/**
 * Macro-vector scores, keyed by EQ1 EQ2 EQ3; each row holds EQ4 (0–2) × EQ5 (0–2) × EQ6 (0–1) in that order.
 * "-" marks the combinations that cannot occur (EQ3 = 2 with EQ6 = 0).
 */
const TABLE_ROWS: Readonly<Record<string, string>> = {
  "000": "10 9.9 9.8 9.5 9.5 9.2 10 9.6 9.3 8.7 9.1 8.1 9.3 9 8.9 8 8.1 6.8",
  "001": "9.8 9.5 9.5 9.2 9 8.4 9.3 9.2 8.9 8.1 8.1 6.5 8.8 8 7.8 7 6.9 4.8",
  "002": "- 9.2 - 8.2 - 7.2 - 7.9 - 6.9 - 5 - 6.9 - 5.5 - 2.7",
  "010": "9.9 9.7 9.5 9.2 9.2 8.5 9.5 9.1 9 8.3 8.4 7.1 9.2 8.1 8.2 7.1 7.2 5.3",
  "011": "9.5 9.3 9.2 8.5 8.5 7.3 9.2 8.2 8 7.2 7 5.9 8.4 7 7.1 5.2 5 3",
  "012": "- 8.6 - 7.5 - 5.2 - 7.1 - 5.2 - 2.9 - 6.3 - 2.9 - 1.7",
  "100": "9.8 9.5 9.4 8.7 9.1 8.1 9.4 8.9 8.6 7.4 7.7 6.4 8.7 7.5 7.4 6.3 6.3 4.9",
  "101": "9.4 8.9 8.8 7.7 7.6 6.7 8.6 7.6 7.4 5.8 5.9 5 7.2 5.7 5.7 5.2 5.2 2.5",
  "102": "- 8.3 - 7 - 5.4 - 6.5 - 5.8 - 2.6 - 5.3 - 2.1 - 1.3",
  "110": "9.5 9 8.8 7.6 7.6 7 9 7.7 7.5 6.2 6.1 5.3 7.7 6.6 6.8 5.9 5.2 3",
  "111": "8.9 7.8 7.6 6.7 6.2 5.8 7.4 5.9 5.7 5.7 4.7 2.3 6.1 5.2 5.7 2.9 2.4 1.6",
  "112": "- 7.1 - 5.9 - 3 - 5.8 - 2.6 - 1.5 - 2.3 - 1.3 - 0.6",
  "200": "9.3 8.7 8.6 7.2 7.5 5.8 8.6 7.4 7.4 6.1 5.6 3.4 7 5.4 5.2 4 4 2.2",
  "201": "8.5 7.5 7.4 5.5 6.2 5.1 7.2 5.7 5.5 4.1 4.6 1.9 5.3 3.6 3.4 1.9 1.9 0.8",
  "202": "- 6.4 - 5.1 - 2 - 4.7 - 2.1 - 1.1 - 2.4 - 0.9 - 0.4",
  "210": "8.8 7.5 7.3 5.3 6 5 7.3 5.5 5.9 4 4.1 2 5.4 4.3 4.5 2.2 2 1.1",
  "211": "7.5 5.5 5.8 4.5 4 2.1 6.1 5.1 4.8 1.8 2 0.9 4.6 1.8 1.7 0.7 0.8 0.2",
  "212": "- 5.3 - 2.4 - 1.4 - 2.4 - 1.2 - 0.5 - 1 - 0.3 - 0.1",
};

const TABLE: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (const [head, row] of Object.entries(TABLE_ROWS)) {
    const cells = row.split(" ");
    let i = 0;
    for (let eq4 = 0; eq4 < 3; eq4++)
      for (let eq5 = 0; eq5 < 3; eq5++)
        for (let eq6 = 0; eq6 < 2; eq6++) {
          const cell = cells[i++];
          if (cell !== undefined && cell !== "-") m.set(`${head}${eq4}${eq5}${eq6}`, Number(cell));
        }
  }
  return m;
})();

/** Severity levels within each metric, in steps (0 most severe), for the distance to a highest vector. */
const LEVEL: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  AV: { N: 0, A: 1, L: 2, P: 3 },
  PR: { N: 0, L: 1, H: 2 },
  UI: { N: 0, P: 1, A: 2 },
  AC: { L: 0, H: 1 },
  AT: { N: 0, P: 1 },
  VC: { H: 0, L: 1, N: 2 },
  VI: { H: 0, L: 1, N: 2 },
  VA: { H: 0, L: 1, N: 2 },
  SC: { H: 1, L: 2, N: 3 },
  SI: { S: 0, H: 1, L: 2, N: 3 },
  SA: { S: 0, H: 1, L: 2, N: 3 },
  CR: { H: 0, M: 1, L: 2 },
  IR: { H: 0, M: 1, L: 2 },
  AR: { H: 0, M: 1, L: 2 },
};

type Highest = Readonly<Record<string, string>>;
const vec = (s: string): Highest =>
  Object.fromEntries(s.split("/").map((p) => p.split(":") as [string, string]));

/** The highest-severity vectors of each EQ level (EQ3 and EQ6 together); EQ5 adds no distance. */
const HIGHEST = {
  eq1: [
    ["AV:N/PR:N/UI:N"],
    ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
    ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
  ],
  eq2: [["AC:L/AT:N"], ["AC:H/AT:N", "AC:L/AT:P"]],
  eq3eq6: {
    "00": ["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
    "01": ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"],
    "10": ["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
    "11": [
      "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
      "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
      "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
      "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
      "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
    ],
    "21": ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
  } as Readonly<Record<string, readonly string[]>>,
  eq4: [["SC:H/SI:S/SA:S"], ["SC:H/SI:H/SA:H"], ["SC:L/SI:L/SA:L"]],
} as const;

/** How many steps deep each macro-vector is (the specification's maximal severity distance, + 1). */
const DEPTH = {
  eq1: [1, 4, 5],
  eq2: [1, 2],
  eq3eq6: { "00": 7, "01": 6, "10": 8, "11": 8, "21": 10 } as Readonly<Record<string, number>>,
  eq4: [6, 5, 4],
} as const;

type Metrics = ReadonlyMap<string, string>;

/** The value a metric takes for scoring: its Modified value if set, the worst case for unset E/CR/IR/AR. */
function effective(m: Metrics, metric: string): string {
  const own = m.get(metric) ?? "X";
  if (own === "X" && metric === "E") return "A";
  if (own === "X" && (metric === "CR" || metric === "IR" || metric === "AR")) return "H";
  const modified = m.get(`M${metric}`);
  return modified !== undefined && modified !== "X" ? modified : own;
}

function macroVector(m: Metrics): [number, number, number, number, number, number] {
  const v = (k: string): string => effective(m, k);
  const av = v("AV");
  const anyN = av === "N" || v("PR") === "N" || v("UI") === "N";
  const allN = av === "N" && v("PR") === "N" && v("UI") === "N";
  const eq1 = allN ? 0 : anyN && av !== "P" ? 1 : 2;
  const eq2 = v("AC") === "L" && v("AT") === "N" ? 0 : 1;
  const [vc, vi, va] = [v("VC"), v("VI"), v("VA")];
  const eq3 = vc === "H" && vi === "H" ? 0 : vc === "H" || vi === "H" || va === "H" ? 1 : 2;
  const safety = v("SI") === "S" || v("SA") === "S";
  const eq4 = safety ? 0 : v("SC") === "H" || v("SI") === "H" || v("SA") === "H" ? 1 : 2;
  const e = v("E");
  const eq5 = e === "A" ? 0 : e === "P" ? 1 : 2;
  const eq6 =
    (v("CR") === "H" && vc === "H") || (v("IR") === "H" && vi === "H") || (v("AR") === "H" && va === "H")
      ? 0
      : 1;
  return [eq1, eq2, eq3, eq4, eq5, eq6];
}

/** Steps from the vector down to `highest` for each metric it names; undefined if the vector is above it. */
function distance(m: Metrics, highest: Highest): number | undefined {
  let sum = 0;
  for (const [metric, value] of Object.entries(highest)) {
    const levels = LEVEL[metric];
    const mine = levels?.[effective(m, metric)];
    const theirs = levels?.[value];
    if (mine === undefined || theirs === undefined || mine < theirs) return undefined;
    sum += mine - theirs;
  }
  return sum;
}

/** Round half up to one decimal, with the reference calculator's epsilon against float error. */
function round1(x: number): number {
  return Math.round((x + 1e-6) * 10) / 10;
}

function parse(vector: string): { ok: true; metrics: Metrics } | { ok: false; reason: string } {
  const short = vector.slice(0, 120);
  const parts = vector.trim().split("/");
  if (parts.shift() !== "CVSS:4.0") return { ok: false, reason: `not a CVSS v4.0 vector: ${short}` };
  const metrics = new Map<string, string>();
  for (const p of parts) {
    const [k, v, extra] = p.split(":");
    if (k === undefined || v === undefined || extra !== undefined || metrics.has(k))
      return { ok: false, reason: `malformed metric "${p.slice(0, 20)}" in ${short}` };
    const allowed = Object.hasOwn(ALLOWED, k) ? ALLOWED[k] : undefined;
    if (allowed?.includes(v) !== true)
      return { ok: false, reason: `unknown metric or value "${p.slice(0, 20)}" in ${short}` };
    metrics.set(k, v);
  }
  for (const k of Object.keys(BASE))
    if (!metrics.has(k)) return { ok: false, reason: `the base metric ${k} is missing in ${short}` };
  return { ok: true, metrics };
}

/** Parses "CVSS:4.0/AV:N/..." and computes its score; a malformed vector is an error value. */
export function cvss4(vector: string): Cvss4Result {
  const parsed = parse(vector);
  if (!parsed.ok) return parsed;
  const m = parsed.metrics;
  const eqs = macroVector(m);
  const [eq1, eq2, eq3, eq4, eq5, eq6] = eqs;
  const mv = eqs.join("");
  const set = (keys: readonly string[]): boolean => keys.some((k) => (m.get(k) ?? "X") !== "X");
  const nomenclature = `CVSS-B${set(Object.keys(THREAT)) ? "T" : ""}${set(Object.keys(ENVIRONMENTAL)) ? "E" : ""}`;
  const done = (score: number): Cvss4Result => ({
    ok: true,
    version: "4.0",
    score,
    level: levelOf(score),
    nomenclature,
    macroVector: mv,
  });
  // No impact on the vulnerable or any subsequent system: 0, whatever else the vector says.
  if (["VC", "VI", "VA", "SC", "SI", "SA"].every((k) => effective(m, k) === "N")) return done(0);
  const value = TABLE.get(mv);
  if (value === undefined) return { ok: false, reason: `no score for macro-vector ${mv} of ${vector}` };

  const at = (e: readonly number[]): number | undefined => TABLE.get(e.join(""));
  const lower = {
    eq1: at([eq1 + 1, eq2, eq3, eq4, eq5, eq6]),
    eq2: at([eq1, eq2 + 1, eq3, eq4, eq5, eq6]),
    // EQ3 and EQ6 step together: 00 has two lower neighbours (01 and 10), and the higher of them counts.
    eq3eq6:
      eq3 === 0 && eq6 === 0
        ? Math.max(at([eq1, eq2, 0, eq4, eq5, 1]) ?? -Infinity, at([eq1, eq2, 1, eq4, eq5, 0]) ?? -Infinity)
        : eq3 === 1 && eq6 === 0
          ? at([eq1, eq2, 1, eq4, eq5, 1])
          : at([eq1, eq2, eq3 + 1, eq4, eq5, eq6]),
    eq4: at([eq1, eq2, eq3, eq4 + 1, eq5, eq6]),
    eq5: at([eq1, eq2, eq3, eq4, eq5 + 1, eq6]),
  };

  // The first highest vector of the macro-vector (in the table's order) that the vector does not exceed.
  const k36 = `${eq3}${eq6}`;
  const h1 = HIGHEST.eq1[eq1] ?? [];
  const h2 = HIGHEST.eq2[eq2] ?? [];
  const h36 = HIGHEST.eq3eq6[k36] ?? [];
  const h4 = HIGHEST.eq4[eq4] ?? [];
  let dist: { eq1: number; eq2: number; eq3eq6: number; eq4: number } | undefined;
  search: for (const a of h1)
    for (const b of h2)
      for (const c of h36)
        for (const d of h4) {
          const d1 = distance(m, vec(a));
          const d2 = distance(m, vec(b));
          const d36 = distance(m, vec(c));
          const d4 = distance(m, vec(d));
          if (d1 === undefined || d2 === undefined || d36 === undefined || d4 === undefined) continue;
          dist = { eq1: d1, eq2: d2, eq3eq6: d36, eq4: d4 };
          break search;
        }
  if (dist === undefined) return { ok: false, reason: `no highest vector of ${mv} bounds ${vector}` };

  const depth = {
    eq1: DEPTH.eq1[eq1] ?? 1,
    eq2: DEPTH.eq2[eq2] ?? 1,
    eq3eq6: DEPTH.eq3eq6[k36] ?? 1,
    eq4: DEPTH.eq4[eq4] ?? 1,
  };
  let sum = 0;
  let existing = 0;
  for (const eq of ["eq1", "eq2", "eq3eq6", "eq4"] as const) {
    const next = lower[eq];
    if (next === undefined || next === -Infinity) continue;
    existing++;
    sum += (value - next) * (dist[eq] / depth[eq]);
  }
  // EQ5 has no distance inside a macro-vector, but a lower neighbour still counts toward the mean.
  if (lower.eq5 !== undefined) existing++;
  const mean = existing === 0 ? 0 : sum / existing;
  return done(round1(Math.min(10, Math.max(0, value - mean))));
}
