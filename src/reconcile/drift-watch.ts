// The operator's drift watch: one list+watch per kind and namespace of an application's managed objects
// (by gitward's ownership label, as the application's own service account), judging every change against
// what the revision in force says. A drift is reported once until the object holds what git says again;
// a missed event is caught by the relist after a broken or expired watch, and by the interval reconcile.
import { abortableSleep } from "../cluster/backoff.js";
import { refOf, type ClusterClient, type KubeObject, type WatchEvent } from "../cluster/client.js";
import type { DesiredObject } from "./desired.js";
import { driftSignature, findDrift, type DriftFinding } from "./drift.js";
import { OWNER_LABEL, keyOf, ownerLabelValue, type AppId } from "./inventory.js";

export interface DriftWatchOptions {
  readonly cluster: ClusterClient;
  readonly app: AppId;
  /** The application's service account user: every read is made as it. */
  readonly impersonate: string;
  /** Called once for each new drift, in the order seen. */
  readonly onDrift: (finding: DriftFinding, desired: DesiredObject) => void;
  readonly log?: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
  /** Waits between retries; must return early when the signal aborts, so stop() never waits out a backoff. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Group {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly abort: AbortController;
  done: Promise<void>;
}

const MAX_RETRY_MS = 30_000;

function groupKey(d: DesiredObject): string {
  return `${d.object.apiVersion} ${d.object.kind} ${d.namespaced ? (d.object.metadata.namespace ?? "") : ""}`;
}

export class DriftWatcher {
  private desired = new Map<string, DesiredObject>();
  private readonly groups = new Map<string, Group>();
  /** Drift already reported, by object key: reported again only when it changes or after it was fixed. */
  private readonly reported = new Map<string, string>();
  private paused = false;
  private readonly pending = new Set<string>();
  private stopped = false;
  private readonly selector: string;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly opts: DriftWatchOptions) {
    this.selector = `${OWNER_LABEL}=${ownerLabelValue(opts.app)}`;
    this.sleep = opts.sleep ?? abortableSleep;
  }

  /** How many managed objects are drifted now, as far as this watch knows. */
  get drifted(): number {
    return this.reported.size;
  }

  /** How many watch streams are kept (one per kind and namespace). */
  get streams(): number {
    return this.groups.size;
  }

  /**
   * The objects of the revision now in force. Groups no longer needed stop; new ones start with a list.
   * Drift reported for objects that left the revision is forgotten.
   */
  setDesired(desired: readonly DesiredObject[]): void {
    if (this.stopped) return;
    this.desired = new Map(desired.map((d) => [keyOf(refOf(d.object)), d]));
    for (const k of [...this.reported.keys()]) if (!this.desired.has(k)) this.reported.delete(k);
    const wanted = new Map<string, DesiredObject>();
    for (const d of desired) if (!wanted.has(groupKey(d))) wanted.set(groupKey(d), d);
    for (const [k, g] of this.groups) {
      if (!wanted.has(k)) {
        g.abort.abort();
        this.groups.delete(k);
      }
    }
    for (const [k, d] of wanted) {
      if (this.groups.has(k)) continue;
      const g: Group = {
        apiVersion: d.object.apiVersion,
        kind: d.object.kind,
        ...(d.namespaced && d.object.metadata.namespace !== undefined
          ? { namespace: d.object.metadata.namespace }
          : {}),
        abort: new AbortController(),
        done: Promise.resolve(),
      };
      g.done = this.loop(g);
      this.groups.set(k, g);
    }
  }

  /**
   * Records drift found elsewhere (the interval reconcile's full comparison); true when it is new, so the
   * caller reports it, false when this drift was reported already.
   */
  accept(finding: DriftFinding): boolean {
    const key = keyOf(finding.object);
    const sig = driftSignature(finding);
    if (this.reported.get(key) === sig) return false;
    this.reported.set(key, sig);
    return true;
  }

  /** Forgets drift of an object that was just put back (revert), so a new change is reported again. */
  resolved(key: string): void {
    this.reported.delete(key);
  }

  /** While gitward itself applies (a reconcile), changes are noted but judged only on resume. */
  pause(): void {
    this.paused = true;
  }

  /** Judges the objects that changed while paused against the (possibly new) desired set. */
  async resume(): Promise<void> {
    this.paused = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      const d = this.desired.get(key);
      if (d !== undefined) await this.rereadAndJudge(key, d, "an object changed during a reconcile");
    }
  }

  /** Reads the object as the application's account and judges it; a failed read is logged, not judged. */
  private async rereadAndJudge(key: string, d: DesiredObject, what: string): Promise<void> {
    let live: KubeObject | undefined;
    try {
      live = await this.opts.cluster.get(refOf(d.object), { impersonate: this.opts.impersonate });
    } catch (err) {
      this.warn(`drift watch: reading ${what} failed`, err);
      return;
    }
    this.judge(key, d, live);
  }

  /** Ends the streams (this replica stopped leading); the next setDesired starts them again. */
  async suspend(): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const g of groups) g.abort.abort();
    await Promise.all(groups.map((g) => g.done));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.suspend();
  }

  private warn(message: string, err: unknown): void {
    this.opts.log?.("warn", message, {
      application: `${this.opts.app.namespace}/${this.opts.app.name}`,
      error: err instanceof Error ? err.message : String(err),
    });
  }

  private judge(key: string, d: DesiredObject, live: KubeObject | undefined): void {
    if (this.paused) {
      this.pending.add(key);
      return;
    }
    const finding = findDrift(d, live);
    if (finding === undefined) {
      this.reported.delete(key);
      return;
    }
    if (this.accept(finding)) this.opts.onDrift(finding, d);
  }

  private inGroup(g: Group, d: DesiredObject): boolean {
    return (
      d.object.apiVersion === g.apiVersion &&
      d.object.kind === g.kind &&
      (g.namespace === undefined || d.object.metadata.namespace === g.namespace)
    );
  }

  /** List, judge everything, then watch from the list's version until aborted; relist when needed. */
  private async loop(g: Group): Promise<void> {
    const signal = g.abort.signal;
    // A function, not the property: the abort lands while awaiting, which flow analysis cannot see.
    const aborted = (): boolean => signal.aborted;
    let failures = 0;
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await this.opts.cluster.listWithVersion(g.apiVersion, g.kind, {
            labelSelector: this.selector,
            impersonate: this.opts.impersonate,
            ...(g.namespace === undefined ? {} : { namespace: g.namespace }),
          });
          if (aborted()) return;
          const live = new Map(list.items.map((o) => [keyOf(refOf(o)), o]));
          for (const [key, d] of this.desired) {
            if (!this.inGroup(g, d)) continue;
            // Not listed: deleted, or its ownership label was taken off; a read tells which.
            const l =
              live.get(key) ??
              (await this.opts.cluster.get(refOf(d.object), { impersonate: this.opts.impersonate }));
            this.judge(key, d, l);
          }
          rv = list.resourceVersion;
        }
        const seen = { gone: false };
        let chain = Promise.resolve();
        const { status } = await this.opts.cluster.watch(g.apiVersion, g.kind, {
          labelSelector: this.selector,
          impersonate: this.opts.impersonate,
          resourceVersion: rv,
          signal,
          ...(g.namespace === undefined ? {} : { namespace: g.namespace }),
          onEvent: (ev: WatchEvent) => {
            if (ev.type === "ERROR") {
              seen.gone = true; // 410 Gone or another server-side end: start again from a list.
              return;
            }
            const v = ev.object.metadata.resourceVersion;
            if (typeof v === "string" && v !== "") rv = v;
            if (ev.type === "BOOKMARK") return;
            chain = chain.then(() => this.onEvent(ev));
          },
        });
        await chain;
        if (aborted()) return;
        if (status !== 200 || seen.gone) {
          rv = undefined;
          if (status !== 200 && status !== 410) throw new Error(`watch answered HTTP ${status}`);
        }
        failures = 0;
      } catch (err) {
        if (aborted()) return;
        rv = undefined;
        failures++;
        if (failures === 1 || failures % 10 === 0) {
          this.warn(`drift watch of ${g.kind} ${g.namespace ?? ""} failed; retrying`, err);
        }
        await this.sleep(Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }

  private async onEvent(ev: WatchEvent): Promise<void> {
    const key = keyOf(refOf(ev.object));
    const d = this.desired.get(key);
    if (d === undefined) return;
    if (ev.type !== "DELETED") {
      this.judge(key, d, ev.object);
      return;
    }
    // Gone from the watch: deleted, or its ownership label was taken off. Read it to tell which.
    await this.rereadAndJudge(key, d, "a removed object");
  }
}
