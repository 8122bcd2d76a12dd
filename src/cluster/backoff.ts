// Exponential backoff with full jitter for retried API calls. The sleep and the random source are
// injectable so tests can run the schedule without waiting.
import { setTimeout as delay } from "node:timers/promises";

export interface BackoffOptions {
  /** Attempts in all, the first included (default 8). */
  readonly attempts?: number;
  /** First delay ceiling in ms (default 100). */
  readonly baseMs?: number;
  /** Largest delay in ms (default 5,000). */
  readonly maxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export const BACKOFF_DEFAULTS = { attempts: 8, baseMs: 100, maxMs: 5_000 } as const;

/** Waits `ms`, or less when `signal` aborts first; never rejects (a stop is not an error). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(Math.max(0, ms), undefined, { signal }).then(
    () => undefined,
    () => undefined,
  );
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * The delay before retry number `retry` (0-based): uniformly random in [0, min(max, base * 2^retry)]
 * ("full jitter"), but never less than a server's Retry-After.
 */
export function backoffDelay(retry: number, opts: BackoffOptions, retryAfterMs?: number): number {
  const base = opts.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const max = opts.maxMs ?? BACKOFF_DEFAULTS.maxMs;
  const ceiling = Math.min(max, base * 2 ** retry);
  const jittered = Math.floor((opts.random ?? Math.random)() * ceiling);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, max));
}
