// A setTimeout that may wait longer than Node's timer ceiling. Node clamps any delay above 2^31-1 ms
// (about 24.8 days) to 1 ms, so `setTimeout(f, 720 * 3_600_000)` fires at once, and a loop that re-arms
// itself that way runs every millisecond. This re-arms in steps no longer than the ceiling instead.

/** The longest delay Node's setTimeout honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Stops the timer; `fn` will not run. */
  cancel(): void;
}

export interface LongTimerOptions {
  /** Unref each step so a waiting timer does not keep the process alive (default true). */
  readonly unref?: boolean;
  /** The longest single step (default and upper bound MAX_TIMER_MS); smaller only to test the chaining. */
  readonly maxStepMs?: number;
}

/** Runs `fn` once after `ms` (non-finite or negative: at once when NaN/negative, never when Infinity). */
export function setLongTimeout(fn: () => void, ms: number, opts: LongTimerOptions = {}): LongTimer {
  const step = Math.min(MAX_TIMER_MS, Math.max(1, opts.maxStepMs ?? MAX_TIMER_MS));
  let remaining = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (): void => {
    const wait = Math.min(remaining, step);
    timer = setTimeout(() => {
      remaining -= wait;
      if (cancelled) return;
      if (remaining > 0) arm();
      else fn();
    }, wait);
    if (opts.unref ?? true) timer.unref();
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Waits `ms` (in steps under the ceiling, so a long wait is never cut to 1 ms) or until `signal` aborts,
 * whichever comes first; never rejects. Holds the process open while waiting, as a plain sleep does.
 */
export function longSleep(ms: number, signal: AbortSignal, opts: LongTimerOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = setLongTimeout(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      ms,
      { unref: false, ...opts },
    );
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
