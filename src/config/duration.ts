// Go-style durations ("30s", "1m", "1h30m", "1.5h", "250ms") as used by `spec.interval`, parsed to
// milliseconds. Written by hand because it is twenty lines and the format must match the CRD pattern
// (schema.ts DURATION_PATTERN) exactly, which general-purpose duration libraries do not promise.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const WHOLE = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/u;
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/gu;

/** Parses a duration to milliseconds; returns undefined when the text is not a valid duration. */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) {
    const [, amount, unit] = match;
    if (amount === undefined || unit === undefined) return undefined;
    const factor = UNIT_MS[unit];
    if (factor === undefined) return undefined;
    total += Number(amount) * factor;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Formats milliseconds the way people write intervals ("1h30m", "45s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join("");
}

/**
 * The intervals an Application may ask for. At least 1s: shorter would hammer the git server. At most 24h:
 * a revision (or a revert of drift) waiting longer than a day is a mistake, and anything near Node's
 * timer ceiling (2^31-1 ms, about 24.8 days) would overflow into a timer that fires every millisecond.
 */
export const INTERVAL_BOUNDS = { minMs: 1_000, maxMs: 24 * 3_600_000 } as const;

/** Why `text` is not an acceptable `spec.interval`, or undefined when it is one. */
export function intervalProblem(text: string): string | undefined {
  const ms = parseDuration(text);
  if (ms === undefined || ms < INTERVAL_BOUNDS.minMs) {
    return `interval ${text} is too short: at least ${formatDuration(INTERVAL_BOUNDS.minMs)}`;
  }
  if (ms > INTERVAL_BOUNDS.maxMs) {
    return `interval ${text} is too long: at most ${formatDuration(INTERVAL_BOUNDS.maxMs)}; use a webhook for prompt reconciles and a longer interval only as a fallback`;
  }
  return undefined;
}
