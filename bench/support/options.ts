// What several benchmarks share: numeric `--name value` arguments and quantiles of sorted samples.

/** The number after `name` in `args` (positive and finite), or `fallback`. */
export function numberOption(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** The `q` quantile (0..1, nearest rank) of `sorted`, rounded to 3 decimals; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round((sorted[i] ?? Number.NaN) * 1000) / 1000;
}
