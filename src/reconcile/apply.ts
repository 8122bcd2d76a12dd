// The writing half of a reconcile: plan (which desired objects differ from what runs), a server-side dry
// run of every change as the application's service account (so RBAC or validation refusals stop the
// revision before any write), the apply itself (namespaces and CRDs first, CRDs waited for), prune by
// inventory, and the health wait for workloads.
import {
  describeRef,
  refOf,
  type ClusterClient,
  type KubeObject,
  type ObjectRef,
} from "../cluster/client.js";
import { versioned } from "../cluster/by-version.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { liveMatches } from "./compare.js";
import { findDrift, type DriftFinding } from "./drift.js";
import type { DesiredObject } from "./desired.js";
import { isOwnedBy, keyOf, type AppId, type InventoryEntry } from "./inventory.js";

/** Runs `fn` over `items` with at most `limit` at once; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Namespaces and CRDs go first: everything else may live in or be defined by them. */
export function isFoundation(o: KubeObject): boolean {
  return (
    (o.apiVersion === "v1" && o.kind === "Namespace") ||
    (o.apiVersion.startsWith("apiextensions.k8s.io/") && o.kind === "CustomResourceDefinition")
  );
}

export interface Plan {
  /** Objects to apply (differ from, or missing in, the cluster), foundations first. */
  readonly changes: DesiredObject[];
  readonly unchanged: number;
  /**
   * Live objects by key (owned by the application); metadata only for those known unchanged by their
   * resourceVersion, so use it for presence and identity, not content.
   */
  readonly live: ReadonlyMap<string, KubeObject>;
  /**
   * Objects that git did not change since the last apply (same hash in the inventory) but that differ
   * live or are gone: drift. They are in `changes` too, unless the plan was asked to keep drift.
   */
  readonly drift: DriftFinding[];
}

/** What this process last saw of an object, when it held what git says (by hash). */
export interface SeenVersion {
  readonly uid: string;
  readonly resourceVersion: string;
  readonly hash: string;
}

/**
 * Per application, the resourceVersion at which each managed object was last seen holding what git says.
 * The API server changes an object's resourceVersion on every write, by anyone, so an object whose uid and
 * resourceVersion are still the same holds the same content: a no-op plan then needs only a metadata list,
 * not the objects' content. Kept in memory only (the operator's process); nothing is trusted from disk.
 */
export class LiveVersions {
  private readonly apps = new Map<string, Map<string, SeenVersion>>();

  forApp(app: AppId): Map<string, SeenVersion> {
    const id = `${app.namespace}/${app.name}`;
    let m = this.apps.get(id);
    if (m === undefined) {
      m = new Map();
      this.apps.set(id, m);
    }
    return m;
  }
}

/** Remembers `live` as holding `d` when it does (after an apply, or a plan that compared it). */
export function noteVersion(
  versions: Map<string, SeenVersion> | undefined,
  d: DesiredObject,
  live: KubeObject,
): void {
  if (versions === undefined) return;
  const key = keyOf(refOf(d.object));
  // Without a uid and a resourceVersion such an object is always read in full.
  if (versioned(live) && liveMatches(d.object, live)) {
    const { uid, resourceVersion } = live.metadata;
    versions.set(key, { uid, resourceVersion, hash: d.hash });
  } else versions.delete(key);
}

interface ListGroup {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
}

/** Above this many objects of a group to read in full, one list is cheaper than a read each. */
const READ_EACH_LIMIT = 24;

/**
 * Reads the application's live objects (by ownership label, one list per kind and namespace, as the
 * application's service account, so gitward's own identity needs no read access to application objects)
 * and keeps the desired objects that differ: missing, changed in git since the last apply, or changed in
 * the cluster. With `versions`, objects whose uid and resourceVersion are those last seen holding the same
 * hash are known unchanged from a metadata-only list; only the others are read in full.
 */
export async function plan(
  cluster: ClusterClient,
  app: AppId,
  desired: readonly DesiredObject[],
  previous: ReadonlyMap<string, InventoryEntry>,
  opts: {
    selector: string;
    force: boolean;
    impersonate: string;
    /** Leave drifted objects as they are (drift: alert in the operator): report them, do not apply. */
    keepDrift?: boolean;
    /** Versions last seen matching git (see LiveVersions); updated by the plan. */
    versions?: Map<string, SeenVersion>;
  },
): Promise<Plan> {
  const lists = new Map<string, ListGroup>();
  const byKey = new Map<string, DesiredObject>();
  for (const d of desired) {
    const { apiVersion, kind } = d.object;
    const namespace = d.namespaced ? d.object.metadata.namespace : undefined;
    byKey.set(keyOf(refOf(d.object)), d);
    lists.set(`${apiVersion} ${kind} ${namespace ?? ""}`, {
      apiVersion,
      kind,
      ...(namespace === undefined ? {} : { namespace }),
    });
  }
  const versions = opts.force ? undefined : opts.versions;
  const read = async (g: ListGroup, metadataOnly: boolean): Promise<KubeObject[]> => {
    try {
      const items = await cluster.list(g.apiVersion, g.kind, {
        labelSelector: opts.selector,
        impersonate: opts.impersonate,
        metadataOnly,
        ...(g.namespace === undefined ? {} : { namespace: g.namespace }),
      });
      return items.filter((item) => isOwnedBy(item, app));
    } catch (err) {
      // A kind whose CRD, or a namespace that, arrives with this revision has no objects yet.
      if (err instanceof ClusterError && err.code === ClusterErrorCode.UnknownKind) return [];
      if (err instanceof ClusterError && err.code === ClusterErrorCode.NotFound) return [];
      // Not allowed to read there: the objects count as changed, and the dry run as the same account
      // names each one the API server refuses.
      if (err instanceof ClusterError && err.code === ClusterErrorCode.Forbidden) return [];
      throw err;
    }
  };
  const live = new Map<string, KubeObject>();
  /** Objects known unchanged by their resourceVersion (their entry in `live` is metadata only). */
  const unchangedSince = new Set<string>();
  await mapLimit([...lists.values()], 8, async (g) => {
    if (versions === undefined) {
      for (const item of await read(g, false)) live.set(keyOf(refOf(item)), item);
      return;
    }
    const toRead: KubeObject[] = [];
    for (const item of await read(g, true)) {
      const key = keyOf(refOf(item));
      live.set(key, item);
      const d = byKey.get(key);
      const seen = versions.get(key);
      if (d === undefined) continue;
      if (
        seen !== undefined &&
        seen.hash === d.hash &&
        seen.uid === item.metadata.uid &&
        seen.resourceVersion === item.metadata.resourceVersion
      )
        unchangedSince.add(key);
      else toRead.push(item);
    }
    if (toRead.length > READ_EACH_LIMIT) {
      for (const item of await read(g, false)) {
        const key = keyOf(refOf(item));
        if (!unchangedSince.has(key)) live.set(key, item);
      }
      return;
    }
    await mapLimit(toRead, 8, async (item) => {
      const key = keyOf(refOf(item));
      const full = await cluster.get(refOf(item), { impersonate: opts.impersonate });
      if (full !== undefined && isOwnedBy(full, app)) live.set(key, full);
      else live.delete(key);
    });
  });
  const changes: DesiredObject[] = [];
  const drift: DriftFinding[] = [];
  let unchanged = 0;
  for (const d of desired) {
    const key = keyOf(refOf(d.object));
    const l = live.get(key);
    const before = previous.get(key);
    const same =
      !opts.force &&
      l !== undefined &&
      before?.hash === d.hash &&
      before.uid === l.metadata.uid &&
      (unchangedSince.has(key) || liveMatches(d.object, l));
    if (same) {
      unchanged++;
      if (!unchangedSince.has(key)) noteVersion(versions, d, l);
      continue;
    }
    versions?.delete(key);
    // Git says the same as when it was applied, yet the cluster differs: someone else changed it. An entry
    // without a uid was never applied (a write-ahead entry of a run killed before it created the object),
    // so its object missing or different is unfinished work, not drift.
    const applied = before?.uid !== undefined && before.hash === d.hash;
    const drifted = !opts.force && applied ? findDrift(d, l) : undefined;
    if (drifted !== undefined) {
      drift.push(drifted);
      if (opts.keepDrift === true) continue;
    }
    changes.push(d);
  }
  if (versions !== undefined) for (const k of [...versions.keys()]) if (!byKey.has(k)) versions.delete(k);
  changes.sort((a, b) => Number(isFoundation(b.object)) - Number(isFoundation(a.object)));
  return { changes, unchanged, live, drift };
}

export interface ApplyProblem {
  readonly ref: ObjectRef;
  readonly code: string;
  readonly message: string;
}

function problemOf(d: DesiredObject, err: unknown): ApplyProblem {
  const ref = refOf(d.object);
  const code = err instanceof ClusterError ? err.code : "INTERNAL_ERROR";
  const text = err instanceof Error ? err.message : String(err);
  return { ref, code, message: `${d.origin.file}:${d.origin.line}: ${describeRef(ref)}: ${text}` };
}

/** Dry-runs each object; returns the refusals, and keeps the server's answers in `answers` when given. */
export async function dryRun(
  cluster: ClusterClient,
  objects: readonly DesiredObject[],
  impersonate: string,
  concurrency: number,
  answers?: Map<string, KubeObject>,
): Promise<ApplyProblem[]> {
  const results = await mapLimit(objects, concurrency, async (d) => {
    try {
      const answer = await cluster.apply(d.object, { impersonate, dryRun: true });
      answers?.set(keyOf(refOf(d.object)), answer);
      return undefined;
    } catch (err) {
      return problemOf(d, err);
    }
  });
  return results.filter((p): p is ApplyProblem => p !== undefined);
}

/**
 * The cheaper preflight: one SelfSubjectAccessReview, made as the application's account, per distinct
 * group, resource, namespace and verb the changes need ("create" for new objects, "patch" for existing
 * ones). It proves RBAC before any write, but not what only a dry run shows (validation, admission).
 */
export async function accessReview(
  cluster: ClusterClient,
  objects: readonly DesiredObject[],
  live: ReadonlyMap<string, KubeObject>,
  impersonate: string,
): Promise<ApplyProblem[]> {
  const checks = new Map<
    string,
    { group: string; resource: string; namespace?: string; verb: string; objects: DesiredObject[] }
  >();
  for (const d of objects) {
    const info = await cluster.resource(d.object.apiVersion, d.object.kind);
    const group = d.object.apiVersion.includes("/") ? (d.object.apiVersion.split("/")[0] ?? "") : "";
    const namespace = info.namespaced ? d.object.metadata.namespace : undefined;
    const verb = live.has(keyOf(refOf(d.object))) ? "patch" : "create";
    const k = [group, info.plural, namespace ?? "", verb].join("\u0000");
    const c = checks.get(k) ?? {
      group,
      resource: info.plural,
      verb,
      objects: [],
      ...(namespace === undefined ? {} : { namespace }),
    };
    c.objects.push(d);
    checks.set(k, c);
  }
  const problems: ApplyProblem[] = [];
  await mapLimit([...checks.values()], 8, async (c) => {
    const review = await cluster.create(
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        metadata: { name: "gitward" },
        spec: {
          resourceAttributes: {
            group: c.group,
            resource: c.resource,
            verb: c.verb,
            ...(c.namespace === undefined ? {} : { namespace: c.namespace }),
          },
        },
      },
      { impersonate },
    );
    if ((review["status"] as { allowed?: unknown } | undefined)?.allowed === true) return;
    for (const d of c.objects) {
      problems.push({
        ref: refOf(d.object),
        code: ClusterErrorCode.Forbidden,
        message: `${d.origin.file}:${d.origin.line}: ${describeRef(refOf(d.object))}: ${impersonate} may not ${c.verb} ${c.resource}${c.namespace === undefined ? "" : ` in namespace ${c.namespace}`}`,
      });
    }
  });
  return problems;
}

export interface ApplyOutcome {
  /** Objects applied, with the uid the server gave them. */
  readonly applied: { desired: DesiredObject; uid: string | undefined }[];
  readonly problems: ApplyProblem[];
}

/** Applies objects as `impersonate`; stops starting new ones after the first failure. */
export async function applyAll(
  cluster: ClusterClient,
  objects: readonly DesiredObject[],
  impersonate: string,
  concurrency: number,
  versions?: Map<string, SeenVersion>,
): Promise<ApplyOutcome> {
  const applied: { desired: DesiredObject; uid: string | undefined }[] = [];
  const problems: ApplyProblem[] = [];
  await mapLimit(objects, concurrency, async (d) => {
    if (problems.length > 0) return;
    try {
      const out = await cluster.apply(d.object, { impersonate });
      applied.push({ desired: d, uid: out.metadata.uid });
      noteVersion(versions, d, out);
    } catch (err) {
      problems.push(problemOf(d, err));
    }
  });
  return { applied, problems };
}

export interface PruneOutcome {
  readonly pruned: InventoryEntry[];
  /** Entries left alone because the live object is not this application's (label or uid differ). */
  readonly skipped: { entry: InventoryEntry; why: string }[];
  /** Entries whose deletion failed: they stay in the inventory. */
  readonly failed: { entry: InventoryEntry; message: string }[];
}

/**
 * Deletes the objects of `candidates` (previous inventory minus the new desired set), each only when the
 * live object still carries this application's label and has the uid gitward recorded, and only with that
 * uid as the delete precondition. Namespaces and CRDs go last.
 */
export async function prune(
  cluster: ClusterClient,
  app: AppId,
  candidates: readonly InventoryEntry[],
  impersonate: string,
  concurrency: number,
): Promise<PruneOutcome> {
  const pruned: InventoryEntry[] = [];
  const skipped: { entry: InventoryEntry; why: string }[] = [];
  const failed: { entry: InventoryEntry; message: string }[] = [];
  const foundation = (e: InventoryEntry) => e.kind === "Namespace" || e.kind === "CustomResourceDefinition";
  const waves = [candidates.filter((e) => !foundation(e)), candidates.filter(foundation)];
  for (const wave of waves) {
    await mapLimit(wave, concurrency, async (entry) => {
      try {
        const live = await cluster.get(entry, { impersonate });
        if (live === undefined) {
          pruned.push(entry);
          return;
        }
        if (!isOwnedBy(live, app)) {
          skipped.push({
            entry,
            why: `${describeRef(entry)} does not carry this application's label: left alone`,
          });
          return;
        }
        if (entry.uid !== undefined && live.metadata.uid !== entry.uid) {
          skipped.push({
            entry,
            why: `${describeRef(entry)} is another object than the one applied (uid differs): left alone`,
          });
          return;
        }
        const uid = live.metadata.uid;
        await cluster.delete(entry, { impersonate, ...(uid === undefined ? {} : { uid }) });
        pruned.push(entry);
      } catch (err) {
        failed.push({
          entry,
          message: `${describeRef(entry)}: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    });
  }
  return { pruned, skipped, failed };
}

const WORKLOADS = new Set(["apps/v1 Deployment", "apps/v1 StatefulSet", "apps/v1 DaemonSet", "batch/v1 Job"]);

export function isWorkload(o: KubeObject): boolean {
  return WORKLOADS.has(`${o.apiVersion} ${o.kind}`);
}

type Fields = Record<string, unknown>;

const fieldsAt = (v: unknown): Fields =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Fields) : {};
const count = (v: unknown): number => (typeof v === "number" ? v : 0);

/** The condition of `type` in a status, if any. */
function conditionOf(status: Fields, type: string): Fields | undefined {
  const list = status["conditions"];
  if (!Array.isArray(list)) return undefined;
  return list.map(fieldsAt).find((c) => c["type"] === type);
}

/** Why a workload is not ready; `final` when waiting cannot change that (only a new revision or a person). */
interface NotReady {
  readonly why: string;
  readonly final: boolean;
}

const notYet = (why: string): NotReady => ({ why, final: false });
const givenUp = (why: string): NotReady => ({ why, final: true });

/**
 * The readiness rules, in one place. Those of `kubectl rollout status` (Deployments, StatefulSets,
 * DaemonSets: the controller has seen the current spec and the rollout is complete), and for Jobs, which it
 * does not cover, those of `kubectl wait --for=condition=Complete`. The status is the cluster's word, read
 * defensively: a field of the wrong type counts as absent.
 */
function readiness(o: KubeObject): NotReady | undefined {
  const generation = typeof o.metadata["generation"] === "number" ? o.metadata["generation"] : 1;
  const spec = fieldsAt(o["spec"]);
  const st = fieldsAt(o["status"]);
  if (o.kind === "Job") return jobNotComplete(spec, st);
  // A status from before the last spec change says nothing about the rollout of the current one.
  if (count(st["observedGeneration"]) < generation)
    return notYet("the controller has not yet observed the spec");
  const replicas = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
  switch (o.kind) {
    case "Deployment":
      return deploymentNotRolledOut(replicas, st);
    case "StatefulSet":
      return statefulSetNotRolledOut(replicas, spec, st);
    case "DaemonSet":
      return daemonSetNotRolledOut(spec, st);
    default:
      // Not a kind of WORKLOADS: with no rule to judge it by, it is never counted ready.
      return notYet(`no readiness rule for ${o.kind}`);
  }
}

/** Why a workload is not ready yet, or undefined when it is (see readiness). */
export function notReady(o: KubeObject): string | undefined {
  return readiness(o)?.why;
}

/**
 * True when the workload will not become ready by waiting: a Job that failed, or a Deployment whose
 * controller gave up on the current spec (ProgressDeadlineExceeded).
 */
export function failedForGood(o: KubeObject): boolean {
  return readiness(o)?.final === true;
}

function deploymentNotRolledOut(replicas: number, st: Fields): NotReady | undefined {
  // The controller gives up after spec.progressDeadlineSeconds and says so here; it stays failed.
  const progressing = conditionOf(st, "Progressing");
  if (progressing?.["reason"] === "ProgressDeadlineExceeded")
    return givenUp(
      `exceeded its progress deadline${typeof progressing["message"] === "string" ? `: ${progressing["message"]}` : ""}`,
    );
  const updated = count(st["updatedReplicas"]);
  if (updated < replicas) return notYet(`${updated}/${replicas} replicas updated`);
  const old = count(st["replicas"]) - updated;
  if (old > 0) return notYet(`${old} old replica(s) pending termination`);
  const available = count(st["availableReplicas"]);
  if (available < updated) return notYet(`${available}/${updated} updated replicas available`);
  return undefined;
}

function statefulSetNotRolledOut(replicas: number, spec: Fields, st: Fields): NotReady | undefined {
  const ready = count(st["readyReplicas"]);
  if (ready < replicas) return notYet(`${ready}/${replicas} replicas ready`);
  const strategy = fieldsAt(spec["updateStrategy"]);
  // OnDelete: pods take the new revision only when someone deletes them; there is no rollout to wait for.
  if (strategy["type"] === "OnDelete") return undefined;
  // RollingUpdate (the default) updates the pods from the highest ordinal down to the partition (default 0).
  const partition = count(fieldsAt(strategy["rollingUpdate"])["partition"]);
  const want = Math.max(0, replicas - partition);
  const updated = count(st["updatedReplicas"]);
  if (updated < want) return notYet(`${updated}/${want} replicas updated`);
  return undefined;
}

function daemonSetNotRolledOut(spec: Fields, st: Fields): NotReady | undefined {
  // No node to run on is a finished rollout (desired 0), as kubectl sees it.
  const desired = count(st["desiredNumberScheduled"]);
  const onDelete = fieldsAt(spec["updateStrategy"])["type"] === "OnDelete";
  const updated = count(st["updatedNumberScheduled"]);
  if (!onDelete && updated < desired) return notYet(`${updated}/${desired} pods updated`);
  const available = count(st["numberAvailable"]);
  if (available < desired) return notYet(`${available}/${desired} pods available`);
  return undefined;
}

function jobNotComplete(spec: Fields, st: Fields): NotReady | undefined {
  const failure = conditionOf(st, "Failed");
  if (failure?.["status"] === "True")
    return givenUp(`the job failed${typeof failure["reason"] === "string" ? ` (${failure["reason"]})` : ""}`);
  if (conditionOf(st, "Complete")?.["status"] === "True") return undefined;
  if (spec["suspend"] === true) return notYet("the job is suspended");
  const completions = typeof spec["completions"] === "number" ? spec["completions"] : 1;
  return notYet(`the job has not completed (${count(st["succeeded"])}/${completions} pods succeeded)`);
}

export interface HealthOutcome {
  /** "Kind ns/name: why" for each workload not ready at the end. */
  readonly notReady: string[];
  /** True when the wait ended early because every workload left has failed for good. */
  readonly failed: boolean;
}

/**
 * Polls each workload until it is ready or `timeoutMs` passes, and stops early when every workload still
 * waited for has failed for good (waiting out the timeout would change nothing).
 */
export async function waitHealthy(
  cluster: ClusterClient,
  workloads: readonly KubeObject[],
  opts: { timeoutMs: number; sleep: (ms: number) => Promise<void>; impersonate: string },
): Promise<HealthOutcome> {
  const { timeoutMs, sleep } = opts;
  const deadline = Date.now() + timeoutMs;
  let pending = [...workloads];
  let why: string[] = [];
  for (let i = 0; pending.length > 0; i++) {
    const states = await mapLimit(pending, 8, async (w) => {
      const live = await cluster.get(refOf(w), { impersonate: opts.impersonate });
      return live === undefined ? notYet("missing") : readiness(live);
    });
    why = [];
    const still: KubeObject[] = [];
    const final: boolean[] = [];
    states.forEach((s, j) => {
      const w = pending[j];
      if (s !== undefined && w !== undefined) {
        still.push(w);
        why.push(`${describeRef(refOf(w))}: ${s.why}`);
        final.push(s.final);
      }
    });
    pending = still;
    if (pending.length > 0 && final.every(Boolean)) return { notReady: why, failed: true };
    if (pending.length === 0 || Date.now() >= deadline) break;
    await sleep(Math.min(100 * 2 ** i, 1_000));
  }
  return { notReady: why, failed: false };
}
