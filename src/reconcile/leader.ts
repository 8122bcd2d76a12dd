// Leader election among `gitward run` replicas over a coordination.k8s.io/v1 Lease, with client-go's
// semantics: the holder renews every retry period, a follower takes the lease only after it has seen the
// record unchanged for a whole lease duration by its own clock, and every write carries a resourceVersion.
//
// `isLeader` is a fence, not a flag: it turns false as soon as the last successful renewal is older than the
// renew deadline, which is shorter than the lease duration, so a leader that cannot reach the API server
// stops writing before any follower may start.
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { longSleep } from "./long-timer.js";

export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

export type LeaderLogLevel = "debug" | "info" | "warn";

export interface LeaderElectionOptions {
  cluster: ClusterClient;
  /** Namespace of the Lease; it must exist. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity (the pod name, usually); it is written to spec.holderIdentity. */
  identity: string;
  /** How long followers wait, from the last change of the record they saw, before taking over. */
  leaseDurationMs?: number;
  /** How long the leader keeps acting without a successful renewal; shorter than leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. */
  retryPeriodMs?: number;
  now?: () => number;
  /** Resolves after `ms`, or early when `signal` aborts (it must not reject). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: (level: LeaderLogLevel, message: string, fields?: Record<string, unknown>) => void;
  /**
   * Asked before taking a Lease that is vacant or expired (never before renewing one already ours). It
   * returns undefined to decline, or a function that is told whether the take succeeded: a replica that
   * holds shards uses it to stay within its fair share while several of its electors race (shards.ts).
   */
  mayAcquire?: () => ((acquired: boolean) => void) | undefined;
  /**
   * While this says false, a follower does not even read the Lease (it could not take it anyway); whoever
   * set it feeds the elector what it reads instead (`observeLease`), so expiry is still judged from a
   * continuous observation. Absent: always read.
   */
  wantsLease?: () => boolean;
}

/** The fields of a Lease spec that election reads, parsed defensively: anyone allowed to write Leases in
 * the namespace can put anything there, and a malformed field must not stop the election. */
interface LeaseRecord {
  /** "" when vacant (never acquired, or released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number | undefined;
  readonly acquireTime: string | undefined;
  readonly renewTime: string | undefined;
  readonly leaseTransitions: number;
}

/** What one attempt to acquire or renew found. */
type Attempt =
  | { readonly result: "held"; readonly startedAt: number }
  | { readonly result: "held-by-other"; readonly holder: string }
  /** Vacant or expired, but the mayAcquire gate said no. */
  | { readonly result: "declined" }
  | { readonly result: "failed"; readonly message: string; readonly code: string | undefined };

const LEASE_API = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

/** A Kubernetes MicroTime: RFC 3339 in UTC with six fractional digits (Date has milliseconds only). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function parseRecord(lease: KubeObject): LeaseRecord {
  const spec = lease["spec"];
  const s: Record<string, unknown> = typeof spec === "object" && spec !== null ? { ...spec } : {};
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const count = (v: unknown): number | undefined =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return {
    holderIdentity: str(s["holderIdentity"]) ?? "",
    leaseDurationSeconds: count(s["leaseDurationSeconds"]),
    acquireTime: str(s["acquireTime"]),
    renewTime: str(s["renewTime"]),
    leaseTransitions: count(s["leaseTransitions"]) ?? 0,
  };
}

function specOf(record: LeaseRecord): Record<string, unknown> {
  return {
    holderIdentity: record.holderIdentity,
    ...(record.leaseDurationSeconds === undefined
      ? {}
      : { leaseDurationSeconds: record.leaseDurationSeconds }),
    ...(record.acquireTime === undefined ? {} : { acquireTime: record.acquireTime }),
    ...(record.renewTime === undefined ? {} : { renewTime: record.renewTime }),
    leaseTransitions: record.leaseTransitions,
  };
}

function isConflict(err: unknown): boolean {
  return err instanceof ClusterError && err.code === ClusterErrorCode.Conflict;
}

export class LeaderElector {
  private readonly cluster: ClusterClient;
  private readonly ref: ObjectRef;
  private readonly namespace: string;
  private readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly log: (level: LeaderLogLevel, message: string, fields?: Record<string, unknown>) => void;
  private readonly mayAcquire: () => ((acquired: boolean) => void) | undefined;
  private readonly wantsLease: () => boolean;
  /** The Lease as we last wrote it: a renewal replaces it directly (one request); a 409 says it changed. */
  private lastWritten: KubeObject | undefined;

  private state: "new" | "running" | "stopped" = "new";
  private controller = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  /** Attempts still on the wire, including ones the renew deadline gave up on. */
  private readonly pending = new Set<Promise<Attempt>>();

  private leading = false;
  /** When the last successful renewal *started*: the fence counts from before the write, to be safe. */
  private lastRenewAt = Number.NEGATIVE_INFINITY;
  /** The record last seen and when (by our clock) it was first seen that way: expiry is judged from this,
   * never from the holder's renewTime, so clock skew between replicas cannot shorten anyone's lease. */
  private observed: { record: LeaseRecord; key: string; at: number } | undefined;
  private lastFailure: string | undefined;

  private readonly startedListeners: (() => void)[] = [];
  private readonly stoppedListeners: (() => void)[] = [];
  private readonly waiters = new Set<(leading: boolean) => void>();

  constructor(opts: LeaderElectionOptions) {
    this.cluster = opts.cluster;
    this.namespace = opts.namespace;
    this.ref = { ...LEASE_API, namespace: opts.namespace, name: opts.name };
    this.identity = opts.identity;
    this.leaseDurationMs = opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    this.now = opts.now ?? Date.now;
    // Not a plain setTimeout: a lease duration past 2^31-1 ms would make every sleep 1 ms (a busy loop).
    this.sleep = opts.sleep ?? longSleep;
    this.log = opts.log ?? (() => undefined);
    this.mayAcquire = opts.mayAcquire ?? (() => () => undefined);
    this.wantsLease = opts.wantsLease ?? (() => true);
    if (opts.identity === "") throw new RangeError("leader election needs a non-empty identity");
    if (opts.namespace === "" || opts.name === "")
      throw new RangeError("leader election needs the namespace and name of its Lease");
    // client-go's rules: the leader must give up (renew deadline) before followers may take over (lease
    // duration), and must get several renewals into its deadline.
    if (!(this.retryPeriodMs > 0)) throw new RangeError("retryPeriodMs must be greater than 0");
    if (!(this.renewDeadlineMs > this.retryPeriodMs))
      throw new RangeError(
        `renewDeadlineMs (${this.renewDeadlineMs}) must be greater than retryPeriodMs (${this.retryPeriodMs})`,
      );
    if (!(this.leaseDurationMs > this.renewDeadlineMs))
      throw new RangeError(
        `leaseDurationMs (${this.leaseDurationMs}) must be greater than renewDeadlineMs (${this.renewDeadlineMs})`,
      );
    // The Lease holds whole seconds; rounding up never lets a follower take over early.
    this.leaseDurationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
  }

  /** Starts the loop: tries to acquire every retryPeriod; once leader, renews every retryPeriod. */
  start(): void {
    if (this.state === "running") return;
    if (this.state === "stopped")
      throw new Error("a stopped LeaderElector cannot be started again; make a new one");
    this.state = "running";
    this.loop = this.run(this.controller.signal);
  }

  /** True only while the lease is held AND the last successful renew is younger than renewDeadline. */
  get isLeader(): boolean {
    return this.leading && this.now() - this.lastRenewAt < this.renewDeadlineMs;
  }

  /** The holder last observed (for logs/status); undefined when the lease is vacant or unread. */
  get observedHolder(): string | undefined {
    const holder = this.observed?.record.holderIdentity;
    return holder === "" ? undefined : holder;
  }

  /** Resolves true when this replica becomes leader; false if it is stopped or `signal` aborts first. */
  waitForLeadership(signal?: AbortSignal): Promise<boolean> {
    if (this.leading) return Promise.resolve(true);
    if (this.state === "stopped" || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (leading: boolean): void => {
        this.waiters.delete(settle);
        signal?.removeEventListener("abort", onAbort);
        resolve(leading);
      };
      const onAbort = (): void => {
        settle(false);
      };
      this.waiters.add(settle);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A read of the Lease made by someone else (see `wantsLease`): remembered as if this elector read it. */
  observeLease(lease: KubeObject): void {
    if (lease.metadata.name === this.ref.name && lease.metadata.namespace === this.namespace)
      this.observe(lease);
  }

  onStartedLeading(cb: () => void): void {
    this.startedListeners.push(cb);
  }

  onStoppedLeading(cb: () => void): void {
    this.stoppedListeners.push(cb);
  }

  /**
   * Stops the loop. A leader first lowers its fence (isLeader false, onStoppedLeading), then, when `release`
   * is true (the default), clears holderIdentity so a follower takes over at once instead of waiting out
   * the lease.
   */
  stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopping ??= this.shutdown(opts.release ?? true);
    return this.stopping;
  }

  private async shutdown(release: boolean): Promise<void> {
    const wasRunning = this.state === "running";
    this.state = "stopped";
    this.controller.abort();
    await this.loop;
    const wasLeading = this.leading;
    if (wasLeading) this.loseLeadership("the elector was stopped");
    for (const settle of [...this.waiters]) settle(false);
    if (wasRunning && wasLeading && release) await this.release();
  }

  // ---- the loop -----------------------------------------------------------------------------------

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.leading) await this.renewRound(signal);
      else await this.acquireRound(signal);
      // A leader never sleeps past its deadline, so a loss is noticed (and announced) on time. After a
      // stop the sleep returns at once and the loop ends.
      const untilDeadline = this.lastRenewAt + this.renewDeadlineMs - this.now();
      await this.sleep(
        this.leading ? Math.max(0, Math.min(this.retryPeriodMs, untilDeadline)) : this.retryPeriodMs,
        signal,
      );
    }
  }

  private async acquireRound(signal: AbortSignal): Promise<void> {
    if (!this.wantsLease()) return;
    // No deadline here: a follower that waits on a slow server loses nothing. stop() must not wait for it.
    const attempt = await this.unlessAborted(this.track(this.attempt(signal)), signal);
    if (attempt === undefined) return;
    switch (attempt.result) {
      case "held":
        // An acquisition that took longer than the deadline is not fresh enough to act on; the next
        // round renews the lease, which is ours on the server, and then leads.
        if (this.now() - attempt.startedAt < this.renewDeadlineMs) {
          this.lastRenewAt = attempt.startedAt;
          this.recovered();
          this.becomeLeader();
        }
        return;
      case "held-by-other":
      case "declined":
        this.recovered();
        return;
      case "failed":
        this.failed(attempt);
        return;
    }
  }

  private async renewRound(signal: AbortSignal): Promise<void> {
    const remaining = this.lastRenewAt + this.renewDeadlineMs - this.now();
    if (remaining <= 0) {
      this.loseLeadership(`no successful renewal within the renew deadline of ${this.renewDeadlineMs} ms`);
      return;
    }
    // The client retries 5xx and network errors inside one call for longer than a deadline may be, so
    // the deadline is a timer that does not wait for it. Ending the round (done, deadline or stop) also
    // tells an attempt still reading not to write: once the fence is down, a late renewal would only make
    // followers wait longer.
    const round = new AbortController();
    const endRound = (): void => {
      round.abort();
    };
    signal.addEventListener("abort", endRound, { once: true });
    const attempt = await Promise.race([
      this.track(this.attempt(round.signal)),
      this.sleep(remaining, round.signal).then(() => undefined),
    ]);
    endRound();
    signal.removeEventListener("abort", endRound);
    if (signal.aborted) return;
    if (attempt === undefined) {
      this.loseLeadership(`no successful renewal within the renew deadline of ${this.renewDeadlineMs} ms`);
      return;
    }
    switch (attempt.result) {
      case "held":
        this.lastRenewAt = Math.max(this.lastRenewAt, attempt.startedAt);
        this.recovered();
        return;
      case "held-by-other":
        this.loseLeadership(`the lease is now held by ${attempt.holder}`);
        return;
      case "declined":
        this.loseLeadership("the lease was cleared by someone else");
        return;
      case "failed":
        this.failed(attempt);
        if (this.lastRenewAt + this.renewDeadlineMs <= this.now())
          this.loseLeadership(
            `no successful renewal within the renew deadline of ${this.renewDeadlineMs} ms`,
          );
        return;
    }
  }

  // ---- one attempt --------------------------------------------------------------------------------

  /** Reads the lease and takes or renews it if it is vacant, ours, or expired by our observation. Never
   * rejects: failures are values, so an attempt the deadline abandoned cannot become an unhandled error. */
  private async attempt(signal: AbortSignal): Promise<Attempt> {
    const startedAt = this.now();
    const renewing = this.leading ? this.lastWritten : undefined;
    this.lastWritten = undefined;
    try {
      const live = renewing ?? (await this.cluster.get(this.ref));
      if (signal.aborted) return this.failure("the attempt was abandoned", undefined);
      if (live === undefined) return await this.take(() => this.create(startedAt));
      const old = this.observe(live);
      if (old.holderIdentity !== "" && old.holderIdentity !== this.identity && !this.expired(old))
        return { result: "held-by-other", holder: old.holderIdentity };
      const ours = old.holderIdentity === this.identity;
      if (ours) return await this.write(live, old, startedAt);
      return await this.take(() => this.write(live, old, startedAt));
    } catch (err) {
      if (isConflict(err)) return await this.afterConflict();
      return this.failureOf(err);
    }
  }

  /** A take of a vacant, expired or missing Lease, if the mayAcquire gate allows it. */
  private async take(write: () => Promise<Attempt>): Promise<Attempt> {
    const done = this.mayAcquire();
    if (done === undefined) return { result: "declined" };
    let acquired = false;
    try {
      const attempt = await write();
      acquired = attempt.result === "held";
      return attempt;
    } finally {
      done(acquired);
    }
  }

  /** Writes our record over `live` (renewal when `old` names us); a 409 is thrown to the caller. */
  private async write(live: KubeObject, old: LeaseRecord, startedAt: number): Promise<Attempt> {
    const now = this.now();
    const ours = old.holderIdentity === this.identity;
    const next: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: ours ? (old.acquireTime ?? microTime(now)) : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: ours ? old.leaseTransitions : old.leaseTransitions + 1,
    };
    const written = await this.cluster.replace({ ...live, spec: specOf(next) });
    this.observe(written);
    this.lastWritten = written;
    return { result: "held", startedAt };
  }

  private async create(startedAt: number): Promise<Attempt> {
    const now = microTime(this.now());
    const record: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    try {
      const created = await this.cluster.create({
        ...LEASE_API,
        metadata: { name: this.ref.name, namespace: this.namespace },
        spec: specOf(record),
      });
      this.observe(created);
      this.lastWritten = created;
      return { result: "held", startedAt };
    } catch (err) {
      // 409 AlreadyExists: another replica created it first.
      if (isConflict(err)) return await this.afterConflict();
      if (err instanceof ClusterError && err.code === ClusterErrorCode.NotFound) {
        return this.failure(
          `cannot create Lease ${this.namespace}/${this.ref.name}: namespace "${this.namespace}" does not ` +
            `exist; create it, or run leader election in a namespace that exists`,
          err.code,
        );
      }
      return this.failureOf(err);
    }
  }

  /** Someone wrote the lease between our read and our write: read who holds it now. */
  private async afterConflict(): Promise<Attempt> {
    try {
      const live = await this.cluster.get(this.ref);
      const holder = live === undefined ? "" : this.observe(live).holderIdentity;
      if (holder !== "" && holder !== this.identity) return { result: "held-by-other", holder };
      // Vacant, gone, or ours (an earlier renewal of ours that landed late): try again next period.
      return this.failure(
        `the Lease ${this.describe()} changed while it was being written`,
        ClusterErrorCode.Conflict,
      );
    } catch (err) {
      return this.failureOf(err);
    }
  }

  /** Remembers the record, and the time we first saw it so, when it differs from the last one seen. */
  private observe(lease: KubeObject): LeaseRecord {
    const record = parseRecord(lease);
    const key = JSON.stringify(specOf(record));
    if (this.observed?.key !== key) this.observed = { record, key, at: this.now() };
    return record;
  }

  /** Whether another holder's lease has run out: unchanged for a whole lease duration since we saw it. */
  private expired(record: LeaseRecord): boolean {
    const seenAt = this.observed?.at ?? this.now();
    return seenAt + this.leaseDurationOf(record) <= this.now();
  }

  /**
   * The duration to wait out for a record. The Lease holds whole seconds, so a record announcing what ours
   * rounds up to is taken to be a replica configured like us (our exact setting applies); a longer one is
   * honoured; a shorter one is not trusted to shorten our own wait.
   */
  private leaseDurationOf(record: LeaseRecord): number {
    const announced = record.leaseDurationSeconds;
    if (announced !== undefined && announced > this.leaseDurationSeconds) return announced * 1000;
    return this.leaseDurationMs;
  }

  // ---- release ------------------------------------------------------------------------------------

  /** Clears holderIdentity, only if the lease still names us, under its resourceVersion. */
  private async release(): Promise<void> {
    // A renewal still on the wire could otherwise land after the release and take the lease back.
    await this.settlePending();
    try {
      const live = await this.cluster.get(this.ref);
      if (live === undefined) return;
      const old = parseRecord(live);
      if (old.holderIdentity !== this.identity) return;
      const now = microTime(this.now());
      const released: LeaseRecord = {
        holderIdentity: "",
        // 1 s, the least the API accepts: a replica that does not know "" means vacant still waits little.
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: old.leaseTransitions,
      };
      this.observe(await this.cluster.replace({ ...live, spec: specOf(released) }));
      this.log("info", `released Lease ${this.describe()}`, this.fields());
    } catch (err) {
      const f = this.failureOf(err);
      this.log("warn", `could not release Lease ${this.describe()}; followers take over when it expires`, {
        ...this.fields(),
        error: f.message,
        ...(f.code === undefined ? {} : { code: f.code }),
      });
    }
  }

  /** Waits for attempts still on the wire, but no longer than the renew deadline. */
  private async settlePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const timer = new AbortController();
    await Promise.race([Promise.all([...this.pending]), this.sleep(this.renewDeadlineMs, timer.signal)]);
    timer.abort();
  }

  // ---- state changes ------------------------------------------------------------------------------

  private becomeLeader(): void {
    this.leading = true;
    this.log("info", `became leader of Lease ${this.describe()}`, this.fields());
    for (const settle of [...this.waiters]) settle(true);
    this.notify(this.startedListeners, "onStartedLeading");
  }

  private loseLeadership(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.lastRenewAt = Number.NEGATIVE_INFINITY;
    this.log(
      this.state === "stopped" ? "info" : "warn",
      `stopped leading Lease ${this.describe()}: ${reason}`,
      {
        ...this.fields(),
        reason,
      },
    );
    this.notify(this.stoppedListeners, "onStoppedLeading");
  }

  private notify(listeners: readonly (() => void)[], what: string): void {
    for (const cb of listeners) {
      try {
        cb();
      } catch (err) {
        // A listener's bug must not stop the election (a leader that cannot renew is worse).
        this.log(
          "warn",
          `a ${what} listener threw: ${err instanceof Error ? err.message : String(err)}`,
          this.fields(),
        );
      }
    }
  }

  /** Logs a failure when it first appears or changes, not once per retry period. */
  private failed(attempt: Extract<Attempt, { result: "failed" }>): void {
    if (attempt.message === this.lastFailure) return;
    this.lastFailure = attempt.message;
    this.log("warn", `leader election: ${attempt.message}; retrying every ${this.retryPeriodMs} ms`, {
      ...this.fields(),
      ...(attempt.code === undefined ? {} : { code: attempt.code }),
    });
  }

  private recovered(): void {
    if (this.lastFailure === undefined) return;
    this.lastFailure = undefined;
    this.log("info", `leader election: Lease ${this.describe()} is reachable again`, this.fields());
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private describe(): string {
    return `${this.namespace}/${this.ref.name}`;
  }

  private fields(): Record<string, unknown> {
    return {
      lease: this.describe(),
      replica: this.identity,
      ...(this.observedHolder === undefined ? {} : { holder: this.observedHolder }),
    };
  }

  private failure(message: string, code: string | undefined): Attempt {
    return { result: "failed", message, code };
  }

  /** Only the message and code: an error object can carry request options, headers and tokens. */
  private failureOf(err: unknown): Extract<Attempt, { result: "failed" }> {
    if (err instanceof ClusterError) {
      const hint =
        err.code === ClusterErrorCode.Forbidden
          ? `; gitward's identity needs get, create and update on leases in namespace ${this.namespace}`
          : "";
      return { result: "failed", message: `${err.message}${hint}`, code: err.code };
    }
    return { result: "failed", message: err instanceof Error ? err.message : String(err), code: undefined };
  }

  private track(p: Promise<Attempt>): Promise<Attempt> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private async unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
    if (signal.aborted) return undefined;
    let onAbort = (): void => undefined;
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = (): void => {
        resolve(undefined);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([p, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
