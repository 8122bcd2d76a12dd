// The Prometheus series of `gitward run`: reconcile outcomes, refusals, drift, leadership. Owns its own
// registry (never prom-client's global one) so tests and embedders get a clean set. Label values come
// from cluster data, so every reason is checked against a closed pattern and counted against a cap.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export const RECONCILE_RESULTS = ["applied", "unchanged", "refused", "failed"] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

export const DRIFT_ACTIONS = ["detected", "reverted"] as const;
export type DriftAction = (typeof DRIFT_ACTIONS)[number];

/** A reason label must look like a code (UNSIGNED, POLICY_FAILED, image:NOT_FOUND); anything else is OTHER. */
const REASON_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const OTHER_REASON = "OTHER";
export const UNKNOWN_REASON = "UNKNOWN";
/**
 * The pattern alone still admits endless distinct codes; past this many per application, new ones are
 * folded into OTHER so a hostile source of reasons cannot grow the series without bound.
 */
export const MAX_REASONS_PER_APPLICATION = 32;

/** From 10 ms (an unchanged revision) to 5 min (a large apply with health checks). */
export const RECONCILE_BUCKETS_SECONDS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
] as const;

export interface ReconcileObservation {
  /** "namespace/name" of the Application. */
  application: string;
  result: ReconcileResult;
  seconds: number;
  /** Why a revision was refused or the reconcile failed (UNSIGNED, POLICY_FAILED...). */
  reason?: string;
  objectsManaged?: number;
  /** When the reconcile ended; defaults to the current time. */
  now?: Date;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconcileDuration: Histogram<"application" | "result">;
  private readonly revisionsApplied: Counter<"application">;
  private readonly revisionsRefused: Counter<"application" | "reason">;
  private readonly driftEvents: Counter<"application" | "action">;
  private readonly lastSuccess: Gauge<"application">;
  private readonly objectsManaged: Gauge<"application">;
  private readonly leader: Gauge;
  private readonly shardsHeld: Gauge;
  private readonly sealingKeyTime: Gauge;
  private readonly sealingKeys: Gauge;
  /** Reason labels in use per application, so that forget() can remove exactly those series. */
  private readonly reasons = new Map<string, Set<string>>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.reconcileDuration = new Histogram({
      name: "gitward_reconcile_duration_seconds",
      help: "Time one reconcile of an Application took, by result.",
      labelNames: ["application", "result"] as const,
      buckets: [...RECONCILE_BUCKETS_SECONDS],
      registers,
    });
    this.revisionsApplied = new Counter({
      name: "gitward_revisions_applied_total",
      help: "Revisions applied to the cluster.",
      labelNames: ["application"] as const,
      registers,
    });
    this.revisionsRefused = new Counter({
      name: "gitward_revisions_refused_total",
      help: "Revisions refused or reconciles failed, by reason code.",
      labelNames: ["application", "reason"] as const,
      registers,
    });
    this.driftEvents = new Counter({
      name: "gitward_drift_events_total",
      help: "Drift of managed objects from the applied revision, detected or reverted.",
      labelNames: ["application", "action"] as const,
      registers,
    });
    this.lastSuccess = new Gauge({
      name: "gitward_last_successful_reconcile_timestamp_seconds",
      help: "Unix time of the last reconcile that ended applied or unchanged.",
      labelNames: ["application"] as const,
      registers,
    });
    this.objectsManaged = new Gauge({
      name: "gitward_objects_managed",
      help: "Objects in the Application's inventory.",
      labelNames: ["application"] as const,
      registers,
    });
    this.leader = new Gauge({
      name: "gitward_leader",
      help: "1 when this replica holds the leader lease (or, with shards, at least one shard), else 0.",
      registers,
    });
    this.leader.set(0);
    this.shardsHeld = new Gauge({
      name: "gitward_shards_held",
      help: "Shards whose Lease this replica holds (gitward run --shards above 1; else 0).",
      registers,
    });
    this.sealingKeyTime = new Gauge({
      name: "gitward_sealing_key_newest_timestamp_seconds",
      help: "Unix time the newest sealing key was made (its certificate's notBefore); alert when it is older than the rotation period.",
      registers,
    });
    this.sealingKeys = new Gauge({
      name: "gitward_sealing_keys",
      help: "Usable sealing keys the operator holds.",
      registers,
    });
  }

  /** The sealing keys as last read: how many, and when the newest was made (undefined: none, or no date). */
  setSealingKeys(count: number, newest: Date | undefined): void {
    this.sealingKeys.set(count);
    if (newest === undefined) this.sealingKeyTime.reset();
    else this.sealingKeyTime.set(newest.getTime() / 1000);
  }

  observeReconcile(o: ReconcileObservation): void {
    const { application, result } = o;
    this.reconcileDuration.observe({ application, result }, o.seconds);
    switch (result) {
      case "applied":
        this.revisionsApplied.inc({ application });
        this.markSuccess(application, o.now);
        break;
      case "unchanged":
        this.markSuccess(application, o.now);
        break;
      case "refused":
      case "failed":
        this.revisionsRefused.inc({ application, reason: this.reasonLabel(application, o.reason) });
        break;
    }
    if (o.objectsManaged !== undefined) this.setObjectsManaged(application, o.objectsManaged);
  }

  driftEvent(application: string, action: DriftAction): void {
    this.driftEvents.inc({ application, action });
  }

  setObjectsManaged(application: string, n: number): void {
    this.objectsManaged.set({ application }, n);
  }

  setLeader(isLeader: boolean): void {
    this.leader.set(isLeader ? 1 : 0);
  }

  setShardsHeld(n: number): void {
    this.shardsHeld.set(n);
  }

  /** Removes every series of an Application that was deleted, so its last values do not linger. */
  forget(application: string): void {
    for (const result of RECONCILE_RESULTS) this.reconcileDuration.remove({ application, result });
    for (const action of DRIFT_ACTIONS) this.driftEvents.remove({ application, action });
    for (const reason of this.reasons.get(application) ?? []) {
      this.revisionsRefused.remove({ application, reason });
    }
    this.reasons.delete(application);
    this.revisionsApplied.remove({ application });
    this.lastSuccess.remove({ application });
    this.objectsManaged.remove({ application });
  }

  /** The exposition text for GET /metrics. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private markSuccess(application: string, now: Date = new Date()): void {
    this.lastSuccess.set({ application }, now.getTime() / 1000);
  }

  /** The reason as a label value: a code-like string, within the per-application cap, else OTHER. */
  private reasonLabel(application: string, reason: string = UNKNOWN_REASON): string {
    const label = REASON_PATTERN.test(reason) ? reason : OTHER_REASON;
    let seen = this.reasons.get(application);
    if (seen === undefined) {
      seen = new Set();
      this.reasons.set(application, seen);
    }
    if (seen.has(label)) return label;
    const folded = seen.size < MAX_REASONS_PER_APPLICATION ? label : OTHER_REASON;
    seen.add(folded);
    return folded;
  }
}
