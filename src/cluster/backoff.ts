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

/** The longest delay Node's timers honour; a longer one fires after 1 ms. */
const MAX_STEP_MS = 2 ** 31 - 1;

/**
 * Waits `ms`, or less when `signal` aborts first; never rejects (a stop is not an error). A wait longer
 * than the timer ceiling (about 24.8 days) is taken in steps, so it is never cut to 1 ms.
 */
export async function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  let left = Math.max(0, ms);
  while (left > 0 && !signal.aborted) {
    const step = Math.min(left, MAX_STEP_MS);
    await delay(step, undefined, { signal }).catch(() => undefined);
    left -= step;
  }
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
