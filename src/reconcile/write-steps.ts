// The steps of a reconcile that touch the cluster: plan (diff against the live objects, inventory size,
// server-side dry run or access review before any write), apply (write-ahead inventory, foundations
// first), prune (by inventory only) and health (waiting for workloads to become ready).
import { randomUUID } from "node:crypto";
import { refOf } from "../cluster/client.js";
import { realSleep } from "../cluster/backoff.js";
import {
  accessReview,
  applyAll,
  dryRun,
  isFoundation,
  isWorkload,
  plan,
  prune,
  waitHealthy,
  type Plan,
} from "./apply.js";
import { crdScopes, type DesiredObject } from "./desired.js";
import {
  InventoryTooLargeError,
  OWNER_LABEL,
  keyOf,
  ownerLabelValue,
  type InventoryEntry,
} from "./inventory.js";
import { fail, keepsDrift, refuse, short, type Run } from "./reconcile-run.js";
import { ConditionType, type Step, type StepFailure } from "./steps.js";

export const planStep: Step<Run> = {
  name: "plan",
  async run(run) {
    const desired = run.desired ?? [];
    const concurrency = run.env.concurrency ?? 16;
    const p = await plan(run.env.cluster, run.id, desired, run.prevInventory, {
      selector: `${OWNER_LABEL}=${ownerLabelValue(run.id)}`,
      force: run.env.restore === true,
      impersonate: run.sa,
      keepDrift: keepsDrift(run),
      ...(run.env.liveVersions === undefined ? {} : { versions: run.env.liveVersions.forApp(run.id) }),
    });
    run.plan = p;
    const tooLarge = inventoryTooLarge(run, p);
    if (tooLarge !== undefined) return tooLarge;
    // Objects in namespaces this revision creates, or of kinds its CRDs define, cannot be dry-run before
    // those exist: they are dry-run right after the foundations are applied, still before themselves.
    const newNamespaces = new Set(
      p.changes.filter((d) => d.object.kind === "Namespace").map((d) => d.object.metadata.name),
    );
    const now = p.changes.filter((d) => !deferred(d, newNamespaces, run));
    const problems =
      run.env.preflight === "access-review" && run.env.dryRun !== true
        ? await accessReview(run.env.cluster, now, p.live, run.sa)
        : await dryRun(run.env.cluster, now, run.sa, concurrency, run.dryRunAnswers);
    if (problems.length > 0) return refusedByServer(run, problems);
    return undefined;
  },
};

/** The inventory entries the revision no longer has: what prune deletes (or, without prune, forgets). */
export function pruneCandidates(run: Run): InventoryEntry[] {
  const wanted = new Set((run.desired ?? []).map((d) => keyOf(refOf(d.object))));
  return [...run.inventory.entries()].filter(([k]) => !wanted.has(k)).map(([, e]) => e);
}

/**
 * Refuses, before any write, a revision whose inventory could not be stored (in parts of 1 MiB each):
 * applying it would leave objects that no inventory lists, which prune could then never remove.
 */
function inventoryTooLarge(run: Run, p: Plan): StepFailure | undefined {
  if (p.changes.length === 0) return undefined;
  const next = new Map(run.inventory);
  for (const d of run.desired ?? []) {
    const key = keyOf(refOf(d.object));
    // Every entry gets its object's uid once applied; a random one packs as badly as the real one will.
    next.set(key, entryOf(d, next.get(key)?.uid ?? p.live.get(key)?.metadata.uid ?? randomUUID()));
  }
  try {
    // Random uids pack as badly as the real ones will; the parts' own limits leave room to spare.
    run.env.state.assertFits([...next.values()]);
    return undefined;
  } catch (err) {
    if (!(err instanceof InventoryTooLargeError)) throw err;
    return refuse(
      ConditionType.Ready,
      "INVENTORY_TOO_LARGE",
      `revision ${short(run.fetched?.head ?? "")}: ${err.message}; nothing was applied`,
    );
  }
}

function deferred(d: DesiredObject, newNamespaces: ReadonlySet<string>, run: Run): boolean {
  if (isFoundation(d.object)) return false;
  if (d.object.metadata.namespace !== undefined && newNamespaces.has(d.object.metadata.namespace))
    return true;
  return crdScopes(run.manifests ?? []).has(`${d.object.apiVersion} ${d.object.kind}`);
}

function refusedByServer(run: Run, problems: readonly { code: string; message: string }[]): StepFailure {
  const reason = problems[0]?.code ?? "APPLY_REFUSED";
  return refuse(
    ConditionType.Ready,
    reason,
    `the API server refused revision ${short(run.fetched?.head ?? "")} for service account ${run.sa}: ${problems[0]?.message ?? ""}; nothing was applied`,
    problems.map((p) => `${p.code}: ${p.message}`),
  );
}

function entryOf(d: DesiredObject, uid: string | undefined): InventoryEntry {
  const r = refOf(d.object);
  return { ...r, hash: d.hash, ...(uid === undefined ? {} : { uid }) };
}

export const applyStep: Step<Run> = {
  name: "apply",
  async run(run) {
    const p = run.plan as Plan;
    if (p.changes.length === 0) return undefined;
    if (run.env.mayWrite?.() === false) {
      return refuse(
        ConditionType.Ready,
        "NOT_LEADER",
        "this replica no longer holds the leader lease; nothing was written, the leader applies",
      );
    }
    const { cluster } = run.env;
    const concurrency = run.env.concurrency ?? 16;
    // Write-ahead inventory: every object about to be applied is listed first, so a crash in the middle
    // leaves nothing that a later prune would not know about.
    const pending = p.changes.filter((d) => !run.inventory.has(keyOf(refOf(d.object))));
    if (pending.length > 0) {
      for (const d of pending) run.inventory.set(keyOf(refOf(d.object)), entryOf(d, undefined));
      run.writesBegan = true;
      await run.env.state.save(run.id, {
        status: run.previous?.status ?? {},
        inventory: [...run.inventory.values()],
        deployer: run.sa,
      });
    }
    run.writesBegan = true;
    const foundations = p.changes.filter((d) => isFoundation(d.object));
    const rest = p.changes.filter((d) => !isFoundation(d.object));
    const versions = run.env.liveVersions?.forApp(run.id);
    const first = await applyAll(cluster, foundations, run.sa, concurrency, versions);
    record(run, first.applied);
    if (first.problems.length > 0) return failedApply(run, first.problems);
    for (const d of foundations) {
      if (d.object.kind === "CustomResourceDefinition")
        await cluster.waitForCrdEstablished(d.object.metadata.name, { impersonate: run.sa });
    }
    if (foundations.length > 0) {
      const newNamespaces = new Set(
        foundations.filter((d) => d.object.kind === "Namespace").map((d) => d.object.metadata.name),
      );
      const late = rest.filter((d) => deferred(d, newNamespaces, run));
      const problems =
        run.env.preflight === "access-review"
          ? await accessReview(cluster, late, p.live, run.sa)
          : await dryRun(cluster, late, run.sa, concurrency);
      if (problems.length > 0) return { ...refusedByServer(run, problems), result: "failed" };
    }
    const second = await applyAll(cluster, rest, run.sa, concurrency, versions);
    record(run, second.applied);
    if (second.problems.length > 0) return failedApply(run, second.problems);
    return undefined;
  },
};

function record(run: Run, applied: { desired: DesiredObject; uid: string | undefined }[]): void {
  run.applied.push(...applied);
  for (const a of applied) run.inventory.set(keyOf(refOf(a.desired.object)), entryOf(a.desired, a.uid));
}

function failedApply(run: Run, problems: readonly { code: string; message: string }[]): StepFailure {
  return fail(
    ConditionType.Ready,
    problems[0]?.code ?? "APPLY_FAILED",
    `applying revision ${short(run.fetched?.head ?? "")} failed after ${run.applied.length} object(s): ${problems[0]?.message ?? ""}; the next reconcile retries`,
    problems.map((p) => `${p.code}: ${p.message}`),
  );
}

export const pruneStep: Step<Run> = {
  name: "prune",
  async run(run) {
    const candidates = pruneCandidates(run);
    if (candidates.length === 0) return undefined;
    if (run.app.spec.prune !== true) {
      // Without prune, removed objects stay in the cluster and leave the inventory: gitward no longer
      // manages them, and will never delete them later.
      for (const e of candidates) run.inventory.delete(keyOf(e));
      return undefined;
    }
    run.writesBegan = true;
    const out = await prune(run.env.cluster, run.id, candidates, run.sa, run.env.concurrency ?? 16);
    for (const e of out.pruned) run.inventory.delete(keyOf(e));
    for (const s of out.skipped) {
      run.inventory.delete(keyOf(s.entry));
      run.env.log?.(`prune: ${s.why}`);
    }
    run.pruned.push(...out.pruned);
    if (out.failed.length > 0) {
      return fail(
        ConditionType.Ready,
        "PRUNE_FAILED",
        `pruning failed for ${out.failed.length} object(s): ${out.failed[0]?.message ?? ""}; they stay in the inventory`,
        out.failed.map((f) => f.message),
      );
    }
    return undefined;
  },
};

export const health: Step<Run> = {
  name: "health",
  async run(run) {
    const workloads = (run.desired ?? []).map((d) => d.object).filter(isWorkload);
    if (workloads.length === 0) return undefined;
    const health = await waitHealthy(run.env.cluster, workloads, {
      timeoutMs: run.env.healthTimeoutMs ?? 60_000,
      sleep: run.env.sleep ?? realSleep,
      impersonate: run.sa,
    });
    const waiting = health.notReady;
    if (waiting.length === 0) return undefined;
    if (health.failed) {
      return fail(
        ConditionType.Healthy,
        "HEALTH_FAILED",
        `${waiting.length} workload(s) failed and will not become ready by waiting: ${waiting[0] ?? ""}`,
        waiting,
      );
    }
    return fail(
      ConditionType.Healthy,
      "HEALTH_TIMEOUT",
      `${waiting.length} workload(s) not ready in time: ${waiting[0] ?? ""}`,
      waiting,
    );
  },
  marks(run) {
    const n = (run.desired ?? []).filter((d) => isWorkload(d.object)).length;
    return { condition: ConditionType.Healthy, reason: "Healthy", message: `${n} workload(s) ready` };
  },
};
