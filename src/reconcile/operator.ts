// The long-running operator behind `gitward run`: one worker per Application that reconciles on its
// interval (with jitter), at once on a verified push webhook, and watches the application's objects for
// drift between passes. Work for one application runs one task at a time (reconcile, revert, status),
// only while this replica is the leader (or holds the application's shard), and every outcome goes to the
// log, metrics, audit log and alerts.
import type { Application, TrustPolicy } from "../config/types.js";
import { INTERVAL_BOUNDS, parseDuration } from "../config/duration.js";
import { setLongTimeout, type LongTimer } from "./long-timer.js";
import { refOf, serviceAccountUser, type ClusterClient } from "../cluster/client.js";
import type { AuditActor, AuditEntry } from "../audit/record.js";
import { objectDigest } from "../audit/record.js";
import type { AuditSink } from "../audit/writer.js";
import { DEFAULT_SEVERITY, type GitwardEvent } from "../notify/events.js";
import type { Notifier } from "../notify/notifier.js";
import type { OperatorMetrics } from "../observe/metrics.js";
import type { SealingKeyRing } from "../secrets/keys.js";
import type { SourceCredentials } from "../source/fetch.js";
import { appIdOf, type DesiredObject } from "./desired.js";
import { DELETED, type DriftFinding } from "./drift.js";
import { DriftWatcher } from "./drift-watch.js";
import { emitEvent } from "./events.js";
import { LiveVersions, noteVersion } from "./apply.js";
import { keyOf, type AppId } from "./inventory.js";
import { reconcileApplication, type ReconcileEnv, type ReconcileReport } from "./reconcile.js";
import { auditDrift } from "./record.js";
import { RevisionCache } from "./revision-cache.js";
import type { StateStore } from "./state.js";
import { requestOf } from "../day2/app-control.js";

export type LogFn = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface OperatorOptions {
  /** gitward's own identity (reads its config, writes state and events; impersonates for the rest). */
  readonly cluster: ClusterClient;
  readonly state: StateStore;
  readonly cacheDir: string;
  readonly workDir?: string;
  readonly audit: AuditSink;
  readonly actor: AuditActor;
  /** The alert sinks in force (they can change with the config); none: no alerts. */
  readonly notifier?: () => Notifier | undefined;
  readonly metrics?: OperatorMetrics;
  readonly log: LogFn;
  /** Folder custom policy paths are relative to. */
  readonly configDir?: string;
  readonly sealingKeys: () => Promise<SealingKeyRing>;
  readonly credentials: (app: Application) => Promise<SourceCredentials | undefined>;
  /** This replica may work on an application only while this says so (the leader lease, or the Lease of
   * the application's shard); absent: always. */
  readonly isLeader?: (app: AppId) => boolean;
  /** Further reconcile settings (tools, health timeout, preflight...). */
  readonly env?: Partial<ReconcileEnv>;
  /** Jitter source (default Math.random): each interval is stretched or shrunk by up to 10%. */
  readonly random?: () => number;
}

export interface AppSnapshot {
  readonly application: AppId;
  readonly lastReport?: ReconcileReport;
  readonly drifted: number;
  readonly reconciles: number;
}

const appKey = (id: AppId): string => `${id.namespace}/${id.name}`;
const STAGES = new Set(["source", "verify", "render", "check", "plan", "apply", "prune", "health"]);
const CODE = /^[A-Za-z0-9][A-Za-z0-9_./:-]{0,127}$/;

/** Runs tasks of one application one after another. */
class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  push(task: () => Promise<void>, onError: (err: unknown) => void): Promise<void> {
    this.tail = this.tail.then(task).catch(onError);
    return this.tail;
  }

  idle(): Promise<void> {
    return this.tail;
  }
}

class AppWorker {
  readonly id: AppId;
  readonly queue = new SerialQueue();
  readonly watcher: DriftWatcher;
  timer: LongTimer | undefined;
  reconcileQueued = false;
  lastReport: ReconcileReport | undefined;
  reconciles = 0;
  statusDirty = false;

  constructor(
    public app: Application,
    private readonly op: Operator,
  ) {
    this.id = appIdOf(app);
    this.watcher = new DriftWatcher({
      cluster: op.opts.cluster,
      app: this.id,
      impersonate: serviceAccountUser(
        app.spec.destination.namespace,
        app.spec.destination.serviceAccountName,
      ),
      onDrift: (finding, desired) => {
        this.op.driftSeen(this, finding, desired);
      },
      log: (level, message, fields) => {
        op.opts.log(level, message, fields);
      },
    });
  }
}

export class Operator {
  private readonly workers = new Map<string, AppWorker>();
  private trusts = new Map<string, TrustPolicy>();
  private readonly cache = new RevisionCache();
  private readonly versions = new LiveVersions();
  private readonly pending = new Set<Promise<unknown>>();
  private stopping = false;
  private started = false;

  constructor(readonly opts: OperatorOptions) {}

  /** The Applications and TrustPolicies to run; workers are added, updated and removed to match. */
  setConfig(apps: readonly Application[], trusts: readonly TrustPolicy[]): void {
    this.trusts = new Map(trusts.map((t) => [t.metadata.name, t]));
    const wanted = new Map(apps.map((a) => [appKey(appIdOf(a)), a]));
    for (const [k, w] of this.workers) {
      const next = wanted.get(k);
      if (next === undefined) {
        this.removeWorker(k, w);
      } else if (JSON.stringify(next.spec) !== JSON.stringify(w.app.spec)) {
        w.app = next;
        if (this.started) this.trigger(w.id, "spec changed");
      } else if (requestOf(next) !== requestOf(w.app)) {
        // `gitward reconcile APP --now`: the annotation changed, so reconcile at once.
        w.app = next;
        if (this.started) this.trigger(w.id, `requested at ${requestOf(next) ?? "-"}`);
      }
    }
    for (const [k, a] of wanted) {
      if (this.workers.has(k)) continue;
      const w = new AppWorker(a, this);
      this.workers.set(k, w);
      if (this.started) {
        this.schedule(w, 0);
      }
    }
  }

  /** Starts the timers: every application reconciles at once, then on its interval. */
  start(): void {
    this.started = true;
    for (const w of this.workers.values()) this.schedule(w, 0);
  }

  /** The Application a webhook names (by name, or namespace/name), if this operator runs it. */
  find(ref: { namespace?: string; name: string }): Application | undefined {
    for (const w of this.workers.values()) {
      if (w.id.name === ref.name && (ref.namespace === undefined || ref.namespace === w.id.namespace))
        return w.app;
    }
    return undefined;
  }

  /** Reconciles an application as soon as its current task is done (a webhook, a changed spec). */
  trigger(id: AppId, why: string): boolean {
    const w = this.workers.get(appKey(id));
    if (w === undefined || this.stopping) return false;
    this.opts.log("info", `reconcile requested: ${why}`, { application: appKey(id) });
    this.enqueueReconcile(w);
    return true;
  }

  /** Reconciles every application (of those `which` picks) now: this replica just became the leader, or
   * took their shard. */
  triggerAll(why: string, which: (id: AppId) => boolean = () => true): void {
    for (const w of this.workers.values()) if (which(w.id)) this.trigger(w.id, why);
  }

  /** Stops the drift watches (this replica is no longer the leader, or lost their shard); the next
   * reconcile starts them. */
  async pauseWatches(which: (id: AppId) => boolean = () => true): Promise<void> {
    await Promise.all([...this.workers.values()].filter((w) => which(w.id)).map((w) => w.watcher.suspend()));
  }

  /** Resolves when no task of these applications is running or queued (their fence is already down, so
   * tasks queued meanwhile end at once): a shard is handed back only after this. */
  async idle(which: (id: AppId) => boolean): Promise<void> {
    const queues = [...this.workers.values()].filter((w) => which(w.id)).map((w) => w.queue);
    for (;;) {
      const tails = queues.map((q) => q.idle());
      await Promise.all(tails);
      if (queues.every((q, i) => q.idle() === tails[i])) return;
    }
  }

  snapshot(): AppSnapshot[] {
    return [...this.workers.values()].map((w) => ({
      application: w.id,
      ...(w.lastReport === undefined ? {} : { lastReport: w.lastReport }),
      drifted: w.watcher.drifted,
      reconciles: w.reconciles,
    }));
  }

  /** Whether every application this replica works on has been reconciled at least once (readiness). */
  get synced(): boolean {
    return [...this.workers.values()].every((w) => w.reconciles > 0 || !this.leader(w));
  }

  /** Graceful stop: no new work; the task in progress (an apply) finishes; watches and timers end. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.workers.values()) w.timer?.cancel();
    await Promise.all([...this.workers.values()].map((w) => w.queue.idle()));
    await Promise.all([...this.workers.values()].map((w) => w.watcher.stop()));
    await Promise.allSettled([...this.pending]);
  }

  // ---- scheduling ---------------------------------------------------------------------------------

  private intervalMs(w: AppWorker): number {
    const parsed = parseDuration(w.app.spec.interval ?? "1m") ?? 60_000;
    // Validation keeps intervals within INTERVAL_BOUNDS; an object that skipped it is held there too.
    const base = Math.min(INTERVAL_BOUNDS.maxMs, Math.max(INTERVAL_BOUNDS.minMs, parsed));
    const jitter = 1 + ((this.opts.random ?? Math.random)() * 2 - 1) * 0.1;
    return Math.max(INTERVAL_BOUNDS.minMs, Math.round(base * jitter));
  }

  private schedule(w: AppWorker, delayMs: number): void {
    w.timer?.cancel();
    if (this.stopping) return;
    // A long timer: a plain setTimeout past 2^31-1 ms would fire at once, and then every millisecond.
    w.timer = setLongTimeout(() => {
      this.enqueueReconcile(w);
      this.schedule(w, this.intervalMs(w));
    }, delayMs);
  }

  private enqueueReconcile(w: AppWorker): void {
    if (w.reconcileQueued || this.stopping) return;
    w.reconcileQueued = true;
    void w.queue.push(
      async () => {
        w.reconcileQueued = false;
        await this.reconcile(w);
      },
      (err) => {
        w.reconcileQueued = false;
        this.opts.log("error", "reconcile task failed", { application: appKey(w.id), error: errText(err) });
      },
    );
  }

  private removeWorker(k: string, w: AppWorker): void {
    w.timer?.cancel();
    this.workers.delete(k);
    void w.watcher.stop();
    this.opts.metrics?.forget(k);
    this.opts.log("info", "application removed; its objects stay as they are", { application: k });
  }

  /** A function, not the field: stop() may be called while a reconcile is awaited. */
  private halted(): boolean {
    return this.stopping;
  }

  private leader(w: AppWorker): boolean {
    return this.opts.isLeader?.(w.id) ?? true;
  }

  // ---- one reconcile ------------------------------------------------------------------------------

  private async reconcile(w: AppWorker): Promise<void> {
    if (this.stopping || !this.leader(w)) return;
    const trust = this.trusts.get(w.app.spec.trustPolicy);
    const application = appKey(w.id);
    if (trust === undefined) {
      this.opts.log("error", `TrustPolicy ${w.app.spec.trustPolicy} not found; nothing is applied`, {
        application,
      });
      return;
    }
    const started = performance.now();
    const got: { desired?: readonly DesiredObject[] } = {};
    w.watcher.pause();
    let report: ReconcileReport;
    // The pair of lines that bound this replica's work on the application (`--log-level debug`): they
    // show, across replicas, that no two ever worked on one application at once.
    this.opts.log("debug", "reconcile started", { application });
    try {
      const credentials = await this.opts.credentials(w.app);
      report = await reconcileApplication(w.app, trust, {
        cluster: this.opts.cluster,
        state: this.opts.state,
        cacheDir: this.opts.cacheDir,
        ...(this.opts.workDir === undefined ? {} : { workDir: this.opts.workDir }),
        audit: this.opts.audit,
        actor: this.opts.actor,
        sealingKeys: await this.opts.sealingKeys(),
        ...(this.opts.configDir === undefined ? {} : { configDir: this.opts.configDir }),
        ...(credentials === undefined ? {} : { credentials }),
        revisionCache: this.cache,
        liveVersions: this.versions,
        honorDriftMode: true,
        mayWrite: () => this.leader(w) && !this.stopping,
        onDesired: (_id, d) => {
          got.desired = d;
        },
        ...this.opts.env,
      });
    } finally {
      if (got.desired !== undefined && !this.halted()) w.watcher.setDesired(got.desired);
      this.opts.log("debug", "reconcile finished", { application });
    }
    w.reconciles++;
    w.lastReport = report;
    if (report.reason === "SUSPENDED") {
      // Suspended: no drift watch, so no drift correction, until a resume reconciles again.
      await w.watcher.suspend();
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    this.opts.metrics?.observeReconcile({
      application,
      result: report.result,
      seconds,
      ...(report.reason === undefined ? {} : { reason: report.reason }),
      objectsManaged: report.status.objectsApplied ?? 0,
    });
    const fields = {
      application,
      revision: report.revision,
      result: report.result,
      reason: report.reason,
      auditRecord: report.auditRecord,
      applied: report.applied.length,
      pruned: report.pruned.length,
      durationMs: Math.round(seconds * 1000),
    };
    const level = report.result === "refused" || report.result === "failed" ? "warn" : "info";
    if (report.result !== "unchanged" || report.drift.length > 0) {
      this.opts.log(level, report.message, fields);
    }
    this.alertFor(w, report);
    for (const f of report.drift) {
      if (!w.watcher.accept(f) && !report.driftReverted) continue;
      const action = report.driftReverted ? "reverted" : "detected";
      this.logDrift(w, f, action, report.auditRecord);
      // A pass that wrote nothing has no audit record of its own: the drift gets one.
      if (report.auditRecord === undefined && action === "detected") this.auditThenAlert(w, f);
      else this.alertDrift(w, f, action, report.auditRecord);
      if (report.driftReverted) w.watcher.resolved(keyOf(f.object));
    }
    await w.watcher.resume();
  }

  private alertFor(w: AppWorker, r: ReconcileReport): void {
    const base = {
      time: new Date().toISOString(),
      application: { namespace: w.id.namespace, name: w.id.name },
      ...(r.auditRecord === undefined ? {} : { auditRecord: r.auditRecord }),
    };
    if (r.result === "applied" && r.revision !== undefined) {
      this.notify({
        kind: "revision-applied",
        severity: DEFAULT_SEVERITY["revision-applied"],
        ...base,
        revision: r.revision,
        ...(r.signer === undefined ? {} : { signer: r.signer }),
        objectsApplied: r.applied.length,
        objectsPruned: r.pruned.length,
      });
      return;
    }
    if (r.result !== "refused" && r.result !== "failed") return;
    if (r.reason === "NOT_LEADER") return;
    const previous = w.lastReport?.status.lastAppliedRevision ?? r.status.lastAppliedRevision;
    if (r.reason === "HISTORY_REWRITTEN" && r.revision !== undefined && previous !== undefined) {
      this.notify({
        kind: "history-rewritten",
        severity: DEFAULT_SEVERITY["history-rewritten"],
        ...base,
        previous,
        current: r.revision,
      });
    }
    if (r.step === "health") {
      for (const d of r.details.slice(0, 10)) {
        const m = /^(\S+) (?:([^/\s]+)\/)?([^:\s]+): /.exec(d);
        if (m === null) continue;
        this.notify({
          kind: "health-degraded",
          severity: DEFAULT_SEVERITY["health-degraded"],
          ...base,
          object: {
            apiVersion: m[1] === "Job" ? "batch/v1" : "apps/v1",
            kind: m[1] as string,
            ...(m[2] === undefined ? {} : { namespace: m[2] }),
            name: m[3] as string,
          },
          reason: r.reason === "HEALTH_FAILED" ? "HEALTH_FAILED" : "HEALTH_TIMEOUT",
        });
      }
      return;
    }
    if (r.revision === undefined) return;
    this.notify({
      kind: "revision-refused",
      severity: DEFAULT_SEVERITY["revision-refused"],
      ...base,
      revision: r.revision,
      code: CODE.test(r.reason ?? "") ? (r.reason as string) : "REFUSED",
      stage: (STAGES.has(r.step ?? "") ? r.step : "apply") as "apply",
      findings: r.details.length,
    });
  }

  // ---- drift --------------------------------------------------------------------------------------

  /** A drift the watch found: reported at once; under `drift: revert` put back by the next task. */
  driftSeen(w: AppWorker, finding: DriftFinding, desired: DesiredObject): void {
    if (this.stopping || !this.leader(w) || w.app.spec.suspend === true) return;
    this.logDrift(w, finding, "detected");
    this.auditThenAlert(w, finding);
    if ((w.app.spec.drift ?? "alert") !== "revert") {
      this.saveDriftStatus(w);
      return;
    }
    void w.queue.push(
      () => this.revert(w, finding, desired),
      (err) => {
        this.opts.log("error", "drift revert failed", { application: appKey(w.id), error: errText(err) });
      },
    );
  }

  private async revert(w: AppWorker, finding: DriftFinding, desired: DesiredObject): Promise<void> {
    if (this.stopping || !this.leader(w) || w.app.spec.suspend === true) return;
    const sa = serviceAccountUser(
      w.app.spec.destination.namespace,
      w.app.spec.destination.serviceAccountName,
    );
    const live = await this.opts.cluster.apply(desired.object, { impersonate: sa, force: true });
    noteVersion(this.versions.forApp(w.id), desired, live);
    w.watcher.resolved(keyOf(finding.object));
    // A recreated object has a new uid: the inventory must follow, or prune would later skip it.
    const state = await this.opts.state.load(w.id);
    if (state !== undefined) {
      const key = keyOf(refOf(desired.object));
      const inventory = state.inventory.map((e) =>
        keyOf(e) === key && live.metadata.uid !== undefined ? { ...e, uid: live.metadata.uid } : e,
      );
      await this.opts.state.save(w.id, {
        status: { ...state.status, driftedObjects: w.watcher.drifted },
        inventory,
      });
    }
    const rec = await this.auditDrift(w, finding, "drift-reverted", [
      {
        apiVersion: desired.object.apiVersion,
        kind: desired.object.kind,
        name: desired.object.metadata.name,
        ...(desired.object.metadata.namespace === undefined
          ? {}
          : { namespace: desired.object.metadata.namespace }),
        digest: objectDigest(desired.object),
      },
    ]);
    this.logDrift(w, finding, "reverted", rec);
    this.alertDrift(w, finding, "reverted", rec);
  }

  /** The report itself, at once: log line and metric. */
  private logDrift(
    w: AppWorker,
    f: DriftFinding,
    action: "detected" | "reverted",
    auditRecord?: string,
  ): void {
    const application = appKey(w.id);
    this.opts.metrics?.driftEvent(application, action);
    this.opts.log("warn", driftLine(f, action), {
      application,
      object: f.object,
      fields: f.fields,
      manager: f.manager,
      deleted: f.manager === DELETED,
      action,
      ...(auditRecord === undefined ? {} : { auditRecord }),
    });
  }

  private alertDrift(
    w: AppWorker,
    f: DriftFinding,
    action: "detected" | "reverted",
    auditRecord?: string,
  ): void {
    const kind = action === "detected" ? "drift-detected" : "drift-reverted";
    this.eventDrift(w, f, action, auditRecord);
    this.notify({
      kind,
      severity: DEFAULT_SEVERITY[kind],
      time: new Date().toISOString(),
      application: { namespace: w.id.namespace, name: w.id.name },
      ...(auditRecord === undefined ? {} : { auditRecord }),
      object:
        f.object.namespace === undefined
          ? { apiVersion: f.object.apiVersion, kind: f.object.kind, name: f.object.name }
          : { ...f.object },
      fields: f.fields.slice(0, 50).map((p) => p.slice(0, 512)),
      manager: f.manager,
    });
  }

  /** The Kubernetes Event of a drift report, in the words of its log line (field paths, never values). */
  private eventDrift(
    w: AppWorker,
    f: DriftFinding,
    action: "detected" | "reverted",
    auditRecord?: string,
  ): void {
    const revision = w.lastReport?.status.lastAppliedRevision;
    const fields = f.fields.slice(0, 10).join(", ") + (f.fields.length > 10 ? ", ..." : "");
    const message =
      `${revision === undefined ? "" : `revision ${revision.slice(0, 12)}: `}${driftLine(f, action)}` +
      `${fields === "" ? "" : ` (${fields})`}${auditRecord === undefined ? "" : ` (audit record ${auditRecord})`}`;
    this.track(
      emitEvent(this.opts.cluster, this.opts.state.eventTarget(w.id), {
        type: action === "detected" ? "Warning" : "Normal",
        reason: action === "detected" ? "DriftDetected" : "DriftReverted",
        message,
        now: new Date().toISOString(),
      }).catch((err: unknown) => {
        this.opts.log("warn", "event for drift not written", {
          application: appKey(w.id),
          error: errText(err),
        });
      }),
    );
  }

  /** A drift-detected audit record, then the alert naming it (without it, should the write fail). */
  private auditThenAlert(w: AppWorker, f: DriftFinding): void {
    this.track(
      this.auditDrift(w, f, "drift-detected", []).then(
        (rec) => {
          this.alertDrift(w, f, "detected", rec);
        },
        (err: unknown) => {
          this.opts.log("error", "audit record for drift not written", {
            application: appKey(w.id),
            error: errText(err),
          });
          this.alertDrift(w, f, "detected");
        },
      ),
    );
  }

  private async auditDrift(
    w: AppWorker,
    f: DriftFinding,
    result: "drift-detected" | "drift-reverted",
    applied: AuditEntry["applied"],
  ): Promise<string | undefined> {
    const revision = w.lastReport?.status.lastAppliedRevision;
    if (revision === undefined) return undefined;
    const rec = await this.opts.audit.append({
      application: { namespace: w.id.namespace, name: w.id.name },
      revision,
      signers: [],
      findings: { total: 0, bySeverity: { low: 0, medium: 0, high: 0, critical: 0 }, codes: [] },
      applied,
      pruned: [],
      result,
      drift: [auditDrift(f)],
      actor: this.opts.actor,
    });
    return rec.id;
  }

  /** The drift count in the status, for `gitward status`; written by the application's queue. */
  private saveDriftStatus(w: AppWorker): void {
    if (w.statusDirty) return;
    w.statusDirty = true;
    void w.queue.push(
      async () => {
        w.statusDirty = false;
        if (!this.leader(w)) return;
        const state = await this.opts.state.load(w.id);
        if (state === undefined) return;
        await this.opts.state.save(w.id, {
          status: {
            ...state.status,
            driftedObjects: w.watcher.drifted,
            lastDriftTime: new Date().toISOString(),
          },
          inventory: state.inventory,
        });
      },
      (err) => {
        w.statusDirty = false;
        this.opts.log("warn", "drift status not saved", { application: appKey(w.id), error: errText(err) });
      },
    );
  }

  private notify(event: GitwardEvent): void {
    const n = this.opts.notifier?.();
    if (n === undefined) return;
    this.track(
      n.notify(event).then(
        (results) => {
          for (const r of results) {
            if (!r.delivered)
              this.opts.log("warn", `alert not delivered to ${r.sink}`, {
                kind: event.kind,
                attempts: r.attempts,
                ...(r.status === undefined ? {} : { status: r.status }),
              });
          }
        },
        (err: unknown) => {
          this.opts.log("error", "alert rejected", { kind: event.kind, error: errText(err) });
        },
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

/** The words of a drift report, the same in the log line and the Event. */
function driftLine(f: DriftFinding, action: "detected" | "reverted"): string {
  return `drift ${action}: ${f.object.kind} ${f.object.namespace ?? ""}/${f.object.name} by ${f.manager}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
