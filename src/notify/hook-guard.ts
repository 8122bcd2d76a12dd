// What keeps verified push webhooks from costing more than they are worth: repeats of one delivery (a
// host's retry, or a captured request sent again) are dropped by delivery id, and the reconciles that
// webhooks trigger are rate-limited per Application with a token bucket. Both stores are bounded, so no
// sequence of requests grows memory without limit.

export interface HookGuardLimits {
  /** Deliveries remembered (per process, across Applications); the oldest is forgotten first. */
  readonly deliveries: number;
  /** How long a delivery id is remembered (ms). */
  readonly deliveryTtlMs: number;
  /** Triggers an Application may take at once... */
  readonly burst: number;
  /** ...and one more every this many ms. */
  readonly refillMs: number;
}

/** 10,000 ids of at most ~700 bytes each: a few MB at worst. Five triggers at once, then one per 10 s. */
export const DEFAULT_HOOK_LIMITS: HookGuardLimits = {
  deliveries: 10_000,
  deliveryTtlMs: 24 * 3_600_000,
  burst: 5,
  refillMs: 10_000,
};

export type HookAdmission =
  | { ok: true }
  | { ok: false; reason: "DUPLICATE" }
  | { ok: false; reason: "RATE_LIMITED"; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class HookGuard {
  /** delivery key → when it was first seen; a Map keeps insertion order, so the oldest comes first. */
  private readonly seen = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly limits: HookGuardLimits;

  constructor(
    limits: Partial<HookGuardLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_HOOK_LIMITS, ...limits };
  }

  /**
   * Whether a verified delivery for `app` may trigger a reconcile; when it may, the delivery is
   * remembered and a token spent. A rate-limited delivery is not remembered, so the host's retry of it
   * after Retry-After is still taken.
   */
  admit(app: string, delivery: string | undefined): HookAdmission {
    const t = this.now();
    this.forgetExpired(t);
    const key = delivery === undefined ? undefined : `${app}\u0000${delivery}`;
    if (key !== undefined && this.seen.has(key)) return { ok: false, reason: "DUPLICATE" };
    const wait = this.take(app, t);
    if (wait > 0) return { ok: false, reason: "RATE_LIMITED", retryAfterSeconds: Math.ceil(wait / 1000) };
    if (key !== undefined) {
      if (this.seen.size >= this.limits.deliveries) this.dropOldest(this.seen);
      this.seen.set(key, t);
    }
    return { ok: true };
  }

  /** Takes a token from the application's bucket: 0 when taken, else the ms until one is there. */
  private take(app: string, t: number): number {
    const { burst, refillMs } = this.limits;
    const b = this.buckets.get(app) ?? { tokens: burst, at: t };
    const tokens = Math.min(burst, b.tokens + Math.max(0, t - b.at) / refillMs);
    // Re-inserted so that the least recently used bucket is the one dropped when there are too many.
    this.buckets.delete(app);
    if (this.buckets.size >= this.limits.deliveries) this.dropOldest(this.buckets);
    if (tokens < 1) {
      this.buckets.set(app, { tokens, at: t });
      return (1 - tokens) * refillMs;
    }
    this.buckets.set(app, { tokens: tokens - 1, at: t });
    return 0;
  }

  private forgetExpired(t: number): void {
    for (const [key, at] of this.seen) {
      if (t - at < this.limits.deliveryTtlMs) break;
      this.seen.delete(key);
    }
  }

  private dropOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}
