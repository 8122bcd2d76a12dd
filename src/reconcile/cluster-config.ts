// In-cluster configuration for `gitward run --in-cluster`: the Applications, TrustPolicies and AlertSinks
// read from gitward's CRDs, validated like gitward.yaml and watched, each change handed on as one ConfigSet;
// and a StateStore that keeps an Application's status in its status subresource and its inventory beside it.
import { createHash } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { abortableSleep, backoffDelay } from "../cluster/backoff.js";
import type { ClusterClient, KubeObject, ObjectRef, WatchEvent } from "../cluster/client.js";
import { ReadByVersion } from "../cluster/by-version.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { ConfigError } from "../config/errors.js";
import { validateClusterObject, type ConfigSet } from "../config/load.js";
import {
  API_VERSION,
  type AlertSink,
  type Application,
  type ApplicationStatus,
  type Condition,
  type TrustPolicy,
} from "../config/types.js";
import { frozenInventory, inventoryFromConfigMap, type AppId, type InventoryEntry } from "./inventory.js";
import { STATE_LABEL, type AppState, type StateStore, type StateStoreOptions } from "./state.js";
import {
  assertInventoryFits,
  hasParts,
  PartsCache,
  writeInventory,
  type HeadFields,
} from "./inventory-parts.js";
import { isRecord } from "../json/record.js";

export interface ClusterConfigWatch {
  stop(): Promise<void>;
}

export interface ClusterConfigOptions {
  readonly onChange: (config: ConfigSet) => Promise<void>;
  readonly log: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
  /** Quiet time after an event before onChange (default 100 ms), so a burst of events is one change. */
  readonly debounceMs?: number;
}

/** Reasons of the Ready condition written here; a reconcile of the Application replaces them with its own. */
export const ConfigReason = {
  /** The object fails the schema or a rule of validate.ts; it is left out of the configuration. */
  InvalidSpec: "InvalidSpec",
  /** The Application names a TrustPolicy that does not exist or is invalid; it is left out. */
  TrustPolicyNotFound: "TrustPolicyNotFound",
  /** Was refused before, is accepted now (an Application: until its next reconcile says more). */
  SpecAccepted: "SpecAccepted",
} as const;
export type ConfigReason = (typeof ConfigReason)[keyof typeof ConfigReason];

const WATCH_DEFAULTS = {
  debounceMs: 100,
  /** Events that keep coming still reach onChange this often. */
  maxDelayMs: 1_000,
  retryBaseMs: 250,
  retryMaxMs: 30_000,
  /** A watch that ends sooner than this counts as a failure, so a server that closes at once is not hammered. */
  healthyWatchMs: 1_000,
} as const;

const CONFIG_KINDS = ["TrustPolicy", "Application", "AlertSink"] as const;
type ConfigKind = (typeof CONFIG_KINDS)[number];
type ConfigObject = TrustPolicy | Application | AlertSink;

/** One object as last seen in the cluster, with the outcome of validating it on its own. */
interface Entry {
  readonly kind: ConfigKind;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly resourceVersion: string | undefined;
  readonly generation: number | undefined;
  readonly conditions: readonly Condition[];
  readonly verdict:
    { readonly ok: true; readonly object: ConfigObject } | { readonly ok: false; readonly problem: string };
}

/** What the whole set (cross-object rules included) makes of one entry. */
interface Judgement {
  readonly key: string;
  readonly entry: Entry;
  readonly refused?: { readonly reason: ConfigReason; readonly problem: string };
}

function keyOf(kind: ConfigKind, namespace: string | undefined, name: string): string {
  return `${kind}\u0000${namespace ?? ""}\u0000${name}`;
}

function describe(e: { kind: ConfigKind; namespace: string | undefined; name: string }): string {
  return `${e.kind} ${e.namespace === undefined ? "" : e.namespace + "/"}${e.name}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The conditions of a status, keeping only well-formed ones (status is writable by more than gitward). */
function conditionsOf(status: unknown): Condition[] {
  if (!isRecord(status) || !Array.isArray(status["conditions"])) return [];
  return status["conditions"].filter(
    (c): c is Condition =>
      isRecord(c) &&
      typeof c["type"] === "string" &&
      (c["status"] === "True" || c["status"] === "False" || c["status"] === "Unknown") &&
      typeof c["reason"] === "string" &&
      typeof c["message"] === "string" &&
      typeof c["lastTransitionTime"] === "string",
  );
}

/** The first problem only: enough to act on, and never the object's content. */
function firstProblem(err: unknown): string {
  if (err instanceof ConfigError) {
    const first = err.problems[0];
    return first === undefined ? err.message : `${first.where}: ${first.message}`;
  }
  return errorText(err);
}

/**
 * Lists and watches the three kinds cluster-wide as gitward's own identity. Resolves once the first
 * onChange has completed; rejects when the first lists fail (CRDs not installed, RBAC missing).
 */
export async function watchClusterConfig(
  cluster: ClusterClient,
  opts: ClusterConfigOptions,
): Promise<ClusterConfigWatch> {
  const watcher = new ConfigWatcher(cluster, opts);
  await watcher.start();
  return {
    stop: () => watcher.stop(),
  };
}

class ConfigWatcher {
  private readonly entries = new Map<string, Entry>();
  /** The problem last logged per object, so each is logged once, not at every event. */
  private readonly reported = new Map<string, string>();
  /** The condition last written per object (at which resourceVersion), so a refused write is not repeated. */
  private readonly attempted = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private delivered: ConfigSet | undefined;
  private live = false;
  private stopped = false;
  private pendingSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly opts: ClusterConfigOptions,
  ) {
    this.debounceMs = opts.debounceMs ?? WATCH_DEFAULTS.debounceMs;
    this.maxDelayMs = Math.max(WATCH_DEFAULTS.maxDelayMs, 10 * this.debounceMs);
  }

  async start(): Promise<void> {
    const listed = await Promise.all(
      CONFIG_KINDS.map(async (kind) => ({ kind, resourceVersion: await this.relist(kind) })),
    );
    // Not debounced: the operator waits for its first configuration.
    await this.deliver(true);
    this.live = true;
    for (const { kind, resourceVersion } of listed) this.loops.push(this.loop(kind, resourceVersion));
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.abort.abort();
      clearTimeout(this.timer);
      this.timer = undefined;
      await Promise.all(this.loops);
      await this.delivering;
    })();
    return this.stopping;
  }

  // ---- list and watch -----------------------------------------------------------------------------

  /** Reads every object of a kind afresh; objects no longer listed were deleted meanwhile. */
  private async relist(kind: ConfigKind): Promise<string> {
    const list = await this.cluster.listWithVersion(API_VERSION, kind);
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = this.observe(kind, obj);
      if (key !== undefined) seen.add(key);
    }
    for (const [key, e] of this.entries) {
      if (e.kind === kind && !seen.has(key)) this.forget(key);
    }
    return list.resourceVersion;
  }

  /** Watches from `from` until stopped; a 410, an ERROR event or a failure starts again from a list. */
  private async loop(kind: ConfigKind, from: string): Promise<void> {
    const signal = this.abort.signal;
    // A function, not the property: the abort lands while awaiting, which flow analysis cannot see.
    const aborted = (): boolean => signal.aborted;
    let rv: string | undefined = from;
    // Short watches and errors both slow the loop down; only errors are worth a warning.
    let failures = 0;
    let errors = 0;
    while (!aborted()) {
      try {
        rv ??= await this.relist(kind);
        if (aborted()) return;
        const started = Date.now();
        const seen = { gone: false };
        // Its own signal too: after an ERROR event nothing more is read, even if the server keeps it open.
        const local = new AbortController();
        const { status } = await this.cluster.watch(API_VERSION, kind, {
          resourceVersion: rv,
          signal: AbortSignal.any([signal, local.signal]),
          onEvent: (ev: WatchEvent) => {
            if (seen.gone) return;
            if (ev.type === "ERROR") {
              seen.gone = true; // 410 Gone or another server-side end: the events since rv are lost.
              local.abort();
              return;
            }
            const v = ev.object.metadata.resourceVersion;
            if (typeof v === "string" && v !== "") rv = v;
            if (ev.type === "BOOKMARK") return;
            if (ev.type === "DELETED") {
              const name: unknown = ev.object.metadata.name;
              if (typeof name === "string") this.forget(keyOf(kind, this.namespaceOf(kind, ev.object), name));
            } else {
              this.observe(kind, ev.object);
            }
          },
        });
        if (aborted()) return;
        if (seen.gone || status === 410) rv = undefined;
        else if (status !== 200) throw new Error(`the watch was answered with HTTP ${status}`);
        if (Date.now() - started >= WATCH_DEFAULTS.healthyWatchMs) {
          failures = 0;
          errors = 0;
        } else {
          failures++;
          await this.backoff(failures, signal);
        }
      } catch (err) {
        if (aborted()) return;
        rv = undefined;
        failures++;
        errors++;
        if (errors === 1 || errors % 10 === 0) {
          this.opts.log("warn", `the watch of ${kind} objects failed; listing again after a pause`, {
            kind,
            failures: errors,
            error: errorText(err),
          });
        }
        await this.backoff(failures, signal);
      }
    }
  }

  private backoff(failures: number, signal: AbortSignal): Promise<void> {
    const ms = backoffDelay(failures - 1, {
      baseMs: WATCH_DEFAULTS.retryBaseMs,
      maxMs: WATCH_DEFAULTS.retryMaxMs,
    });
    return abortableSleep(ms, signal);
  }

  private namespaceOf(kind: ConfigKind, obj: KubeObject): string | undefined {
    return kind === "TrustPolicy" ? undefined : obj.metadata.namespace;
  }

  /** Records an object as seen; returns its key (undefined for an object without a name). */
  private observe(kind: ConfigKind, obj: KubeObject): string | undefined {
    // Server input, but an object of a CRD anyone with create rights may write: read it defensively.
    const name: unknown = obj.metadata.name;
    if (typeof name !== "string") return undefined;
    const namespace = this.namespaceOf(kind, obj);
    const key = keyOf(kind, namespace, name);
    let verdict: Entry["verdict"];
    try {
      // Strips status and server metadata, then validates like a gitward.yaml document.
      verdict = { ok: true, object: validateClusterObject(obj, describe({ kind, namespace, name })) };
    } catch (err) {
      verdict = { ok: false, problem: firstProblem(err) };
    }
    const generation = obj.metadata["generation"];
    const entry: Entry = {
      kind,
      namespace,
      name,
      resourceVersion: obj.metadata.resourceVersion,
      generation: typeof generation === "number" ? generation : undefined,
      conditions: conditionsOf(obj["status"]),
      verdict,
    };
    if (!isDeepStrictEqual(this.entries.get(key), entry)) {
      this.entries.set(key, entry);
      this.changed();
    }
    return key;
  }

  private forget(key: string): void {
    this.reported.delete(key);
    this.attempted.delete(key);
    if (this.entries.delete(key)) this.changed();
  }

  // ---- delivery: debounced, one at a time ---------------------------------------------------------

  private changed(): void {
    if (!this.live || this.stopped) return;
    this.pendingSince ??= Date.now();
    // During a delivery changes only collect; the next one starts when it ends.
    if (this.delivering === undefined) this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const since = this.pendingSince ?? Date.now();
    const wait = Math.max(0, Math.min(this.debounceMs, since + this.maxDelayMs - Date.now()));
    this.timer = setTimeout(() => {
      this.fire();
    }, wait);
  }

  private fire(): void {
    this.timer = undefined;
    this.pendingSince = undefined;
    const run = this.deliver(false).catch((err: unknown) => {
      // The set stays undelivered, so the next event hands it on again.
      this.opts.log("error", "applying the cluster configuration failed", { error: errorText(err) });
    });
    this.delivering = run;
    void run.then(() => {
      this.delivering = undefined;
      if (this.pendingSince !== undefined && !this.stopped) this.arm();
    });
  }

  private async deliver(first: boolean): Promise<void> {
    if (this.stopped) return;
    const { set, judgements } = this.judge();
    this.report(judgements);
    // Status writes (ours and every reconcile's) are events too, but change nothing the operator uses.
    if (first || !isDeepStrictEqual(set, this.delivered)) {
      // A copy taken first: what onChange does with the set must not change what counts as delivered.
      const copy = structuredClone(set);
      await this.opts.onChange(set);
      this.delivered = copy;
    }
    await this.recordConditions(judgements);
  }

  // ---- judging the set ----------------------------------------------------------------------------

  /**
   * The valid objects, and what became of each. Of load.ts's cross-document rules only the TrustPolicy
   * reference applies: the API server already keeps names unique per kind and namespace.
   */
  private judge(): { set: ConfigSet; judgements: Judgement[] } {
    const set: ConfigSet = { trustPolicies: [], applications: [], alertSinks: [] };
    const policies = new Set<string>();
    const invalidPolicies = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.kind !== "TrustPolicy") continue;
      (e.verdict.ok ? policies : invalidPolicies).add(e.name);
    }
    const judgements: Judgement[] = [];
    for (const [key, entry] of this.entries) {
      const v = entry.verdict;
      if (!v.ok) {
        judgements.push({ key, entry, refused: { reason: ConfigReason.InvalidSpec, problem: v.problem } });
        continue;
      }
      const obj = v.object;
      switch (obj.kind) {
        case "TrustPolicy":
          set.trustPolicies.push(obj);
          break;
        case "AlertSink":
          set.alertSinks.push(obj);
          break;
        case "Application": {
          const ref = obj.spec.trustPolicy;
          if (!policies.has(ref)) {
            // Left out like a gitward.yaml that names no such policy: nothing of it may be applied.
            const why = invalidPolicies.has(ref) ? "which is invalid" : "which does not exist";
            judgements.push({
              key,
              entry,
              refused: {
                reason: ConfigReason.TrustPolicyNotFound,
                problem: `${describe(entry)} at spec.trustPolicy: names TrustPolicy ${JSON.stringify(ref)}, ${why}`,
              },
            });
            continue;
          }
          set.applications.push(obj);
          break;
        }
      }
      judgements.push({ key, entry });
    }
    const byName = (a: ConfigObject, b: ConfigObject): number =>
      `${a.metadata.namespace ?? ""}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace ?? ""}/${b.metadata.name}`,
      );
    set.trustPolicies.sort(byName);
    set.applications.sort(byName);
    set.alertSinks.sort(byName);
    return { set, judgements };
  }

  private report(judgements: readonly Judgement[]): void {
    for (const { key, entry, refused } of judgements) {
      const fields = {
        kind: entry.kind,
        ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }),
        name: entry.name,
      };
      if (refused !== undefined) {
        if (this.reported.get(key) === refused.problem) continue;
        this.reported.set(key, refused.problem);
        this.opts.log("warn", `${describe(entry)} is left out of the configuration: ${refused.problem}`, {
          ...fields,
          reason: refused.reason,
          problem: refused.problem,
        });
      } else if (this.reported.delete(key)) {
        this.opts.log("info", `${describe(entry)} is valid now and part of the configuration`, fields);
      }
    }
  }

  // ---- conditions ---------------------------------------------------------------------------------

  /** Best effort: Ready=False on refused objects, and our own stale refusal taken back once accepted. */
  private async recordConditions(judgements: readonly Judgement[]): Promise<void> {
    await Promise.all(judgements.map((j) => this.recordCondition(j)));
  }

  private async recordCondition({ key, entry, refused }: Judgement): Promise<void> {
    const ready = entry.conditions.find((c) => c.type === "Ready");
    let wanted: Pick<Condition, "status" | "reason" | "message">;
    if (refused !== undefined) {
      wanted = { status: "False", reason: refused.reason, message: refused.problem };
    } else if (
      ready?.reason === ConfigReason.InvalidSpec ||
      ready?.reason === ConfigReason.TrustPolicyNotFound
    ) {
      wanted =
        entry.kind === "Application"
          ? {
              status: "Unknown",
              reason: ConfigReason.SpecAccepted,
              message: "the spec is valid; waiting for a reconcile",
            }
          : { status: "True", reason: ConfigReason.SpecAccepted, message: "the spec is valid and in use" };
    } else {
      return;
    }
    if (
      ready?.status === wanted.status &&
      ready.reason === wanted.reason &&
      ready.message === wanted.message
    ) {
      return;
    }
    const attempt = `${entry.resourceVersion ?? ""}\u0000${wanted.reason}\u0000${wanted.message}`;
    if (this.attempted.get(key) === attempt) return;
    this.attempted.set(key, attempt);
    const condition: Condition = {
      type: "Ready",
      ...wanted,
      lastTransitionTime:
        ready?.status === wanted.status ? ready.lastTransitionTime : new Date().toISOString(),
      ...(entry.generation === undefined ? {} : { observedGeneration: entry.generation }),
    };
    const conditions =
      ready === undefined
        ? [...entry.conditions, condition]
        : entry.conditions.map((c) => (c.type === "Ready" ? condition : c));
    const ref: ObjectRef = {
      apiVersion: API_VERSION,
      kind: entry.kind,
      name: entry.name,
      ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }),
    };
    try {
      // The resourceVersion makes this a compare-and-swap: a status written meanwhile (by a reconcile)
      // is never overwritten with the stale conditions read here; its event brings us back.
      await this.cluster.mergePatch(
        ref,
        {
          metadata: entry.resourceVersion === undefined ? {} : { resourceVersion: entry.resourceVersion },
          status: { conditions },
        },
        { subresource: "status" },
      );
    } catch (err) {
      if (
        err instanceof ClusterError &&
        (err.code === ClusterErrorCode.Conflict || err.code === ClusterErrorCode.NotFound)
      ) {
        // Not written: the next delivery of this object (the event of whoever wrote it) tries again.
        this.attempted.delete(key);
        return;
      }
      this.opts.log("warn", `the Ready condition of ${describe(entry)} could not be written`, {
        kind: entry.kind,
        ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }),
        name: entry.name,
        error: errorText(err),
      });
    }
  }
}

// ---- state in the Application ---------------------------------------------------------------------

const INVENTORY_PREFIX = "gitward-inventory-";

/** The inventory ConfigMap's name; a name too long for it gets a hash, which stays unique. */
export function inventoryName(app: AppId): string {
  const full = `${INVENTORY_PREFIX}${app.name}`;
  if (full.length <= 253) return full;
  const digest = createHash("sha256").update(app.name).digest("hex").slice(0, 16);
  return `${full.slice(0, 236).replace(/[-.]+$/, "")}-${digest}`;
}

function statusOf(obj: KubeObject): ApplicationStatus {
  const status = obj["status"];
  return isRecord(status) ? status : {};
}

/**
 * The status in the Application's status subresource (what `kubectl get applications` shows); the
 * inventory, which can hold thousands of entries and would make the Application too big to read, in a
 * ConfigMap next to it, owned by it so that it goes when the Application is deleted.
 */
export class CrdStateStore implements StateStore {
  /**
   * The inventory ConfigMap, read in full only when its version moved (not on every pass): the entries
   * when inline, the head when it names parts (read once per version through `parts`).
   */
  private readonly inventories: ReadByVersion<readonly InventoryEntry[] | { readonly head: KubeObject }>;
  private readonly parts: PartsCache<readonly InventoryEntry[]>;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly systemNamespace: string,
    private readonly opts: StateStoreOptions = {},
  ) {
    this.inventories = new ReadByVersion(cluster, (cm) =>
      hasParts(cm) ? { head: cm } : frozenInventory(inventoryFromConfigMap(cm)),
    );
    this.parts = new PartsCache(cluster);
  }

  private async readInventory(app: AppId): Promise<readonly InventoryEntry[] | undefined> {
    const stored = await this.inventories.read(this.inventoryRef(app));
    if (stored === undefined || !("head" in stored)) return stored;
    return this.parts.resolve(stored, stored.head, frozenInventory);
  }

  /** undefined when the Application is gone, or nothing was ever saved for it. */
  async load(app: AppId): Promise<AppState | undefined> {
    try {
      const live = await this.cluster.get(this.applicationRef(app));
      if (live === undefined) return undefined;
      const status = statusOf(live);
      const inventory = await this.readInventory(app);
      if (inventory === undefined && Object.keys(status).length === 0) return undefined;
      return { status, inventory: inventory ?? [] };
    } catch (err) {
      throw this.explain(err, app);
    }
  }

  /**
   * The inventory first: a status that says "applied" must never point at an inventory that lacks the
   * objects applied, or prune would miss them. Nothing is written for an Application that is gone.
   */
  async save(app: AppId, state: AppState): Promise<void> {
    try {
      const live = await this.cluster.get(this.applicationRef(app));
      if (live === undefined) return;
      const ref = this.inventoryRef(app);
      this.inventories.forget(ref);
      const uid = live.metadata.uid;
      const written = await writeInventory({
        cluster: this.cluster,
        head: ref as ObjectRef & { namespace: string },
        entries: state.inventory,
        ...(uid === undefined ? {} : { ownerReferences: [this.ownerOf(app, uid)] }),
        ...(this.opts.partBytes === undefined ? {} : { partBytes: this.opts.partBytes }),
        writeHead: (fields) => this.cluster.apply(this.inventoryConfigMap(app, fields, uid)),
      });
      this.inventories.remember(ref, written, frozenInventory(state.inventory));
      await this.cluster.mergePatch(
        this.applicationRef(app),
        { status: replacing(statusOf(live), state.status) },
        { subresource: "status" },
      );
    } catch (err) {
      // Deleted meanwhile: the ConfigMap names the old uid as its owner, so the collector removes it.
      if (err instanceof ClusterError && err.code === ClusterErrorCode.NotFound) return;
      throw this.explain(err, app);
    }
  }

  assertFits(entries: readonly InventoryEntry[]): void {
    assertInventoryFits(entries, this.opts.partBytes);
  }

  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string } {
    return {
      apiVersion: "gitward.dev/v1alpha1",
      kind: "Application",
      namespace: app.namespace,
      name: app.name,
    };
  }

  private applicationRef(app: AppId): ObjectRef {
    return { apiVersion: API_VERSION, kind: "Application", namespace: app.namespace, name: app.name };
  }

  private inventoryRef(app: AppId): ObjectRef {
    return { apiVersion: "v1", kind: "ConfigMap", namespace: app.namespace, name: inventoryName(app) };
  }

  private ownerOf(app: AppId, uid: string): Record<string, unknown> {
    return { apiVersion: API_VERSION, kind: "Application", name: app.name, uid };
  }

  private inventoryConfigMap(app: AppId, fields: HeadFields, uid: string | undefined): KubeObject {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: inventoryName(app),
        namespace: app.namespace,
        labels: { [STATE_LABEL]: "true" },
        annotations: fields.annotations,
        ...(uid === undefined ? {} : { ownerReferences: [this.ownerOf(app, uid)] }),
      },
      ...(Object.keys(fields.data).length === 0 ? {} : { data: fields.data }),
      ...(Object.keys(fields.binaryData).length === 0 ? {} : { binaryData: fields.binaryData }),
    };
  }

  /** deploy/install grants ConfigMaps in the system namespace only: say so when that is the cause. */
  private explain(err: unknown, app: AppId): unknown {
    if (!(err instanceof ClusterError) || err.code !== ClusterErrorCode.Forbidden) return err;
    if (app.namespace === this.systemNamespace) return err;
    return new ClusterError(
      err.code,
      `${err.message}; gitward's Role covers ConfigMaps in ${this.systemNamespace} only: keep Applications ` +
        `there, or grant gitward its state in ${app.namespace} (\`gitward install --application-namespace ` +
        `${app.namespace}\`, deploy/examples/application-rbac.yaml)`,
      err.status,
    );
  }
}

/** A merge patch that replaces the whole status: fields the new one lacks are removed (null). */
function replacing(old: ApplicationStatus, next: ApplicationStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(old)) if (patch[key] === undefined) patch[key] = null;
  return patch;
}
