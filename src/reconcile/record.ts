// The record step of a reconcile, made once at the end whatever path the run took (STYLE.md: Flux's
// deferred status patch): conditions, status, the audit record, the saved state and the Event, and the
// reports of a real run and of a dry run.
import type { ApplicationStatus, Condition } from "../config/types.js";
import { describeRef, refOf, type KubeObject } from "../cluster/client.js";
import type { AuditEntry, AuditObjectRef, DriftChange } from "../audit/record.js";
import { objectDigest } from "../audit/record.js";
import { requestOf } from "../day2/app-control.js";
import type { DriftFinding } from "./drift.js";
import { emitEvent } from "./events.js";
import {
  CODE_PATTERN,
  keepsDrift,
  short,
  signerOf,
  type ReconcileReport,
  type ReconcileResult,
  type Run,
} from "./reconcile-run.js";
import { ConditionType, type ConditionState, type StepsOutcome } from "./steps.js";
import { pruneCandidates } from "./write-steps.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function conditionList(
  outcome: ReadonlyMap<ConditionType, ConditionState>,
  previous: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  const out: Condition[] = [];
  for (const type of [
    ConditionType.Ready,
    ConditionType.Verified,
    ConditionType.PolicyPassed,
    ConditionType.Healthy,
  ]) {
    const old = previous?.find((c) => c.type === type);
    const next: ConditionState =
      outcome.get(type) ??
      (old === undefined
        ? { status: "Unknown", reason: "NotChecked", message: "not reached in the last reconcile" }
        : { status: old.status, reason: old.reason, message: old.message });
    out.push({
      type,
      ...next,
      lastTransitionTime: old !== undefined && old.status === next.status ? old.lastTransitionTime : now,
    });
  }
  return out;
}

function auditRef(o: KubeObject): AuditObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
    digest: objectDigest(o),
  };
}

/** The revision (unless the message names it already), the message, and the audit record. */
function eventMessage(head: string | undefined, message: string, auditRecord: string | undefined): string {
  const revision = head === undefined || message.includes(short(head)) ? "" : `revision ${short(head)}: `;
  return `${revision}${message}${auditRecord === undefined ? "" : ` (audit record ${auditRecord})`}`;
}

/**
 * Records a finished (not dry) run once, whatever path it took: the status with its conditions, the audit
 * record, the saved state and the Event; a no-op pass that changed nothing writes none of them.
 */
export async function recordRun(run: Run, outcome: StepsOutcome): Promise<ReconcileReport> {
  const { app, env, id, previous, prevInventory } = run;
  const head = run.fetched?.head;
  const failure = outcome.failure;
  if (failure === undefined && run.desired !== undefined) env.onDesired?.(id, run.desired);
  const changedSomething = run.applied.length > 0 || run.pruned.length > 0;
  const result: ReconcileResult =
    failure !== undefined ? failure.result : changedSomething ? "applied" : "unchanged";
  const now = (env.now ?? (() => new Date()))().toISOString();
  const conditions = new Map(outcome.conditions);
  if (failure === undefined) {
    conditions.set(ConditionType.Ready, {
      status: "True",
      reason: "ReconciliationSucceeded",
      message: `revision ${short(head ?? "")} is applied: ${run.applied.length} object(s) applied, ${run.plan?.unchanged ?? 0} unchanged, ${run.pruned.length} pruned`,
    });
  } else if (failure.condition !== ConditionType.Ready) {
    conditions.set(ConditionType.Ready, {
      status: "False",
      reason: failure.reason,
      message: failure.message,
    });
  }
  const prevStatus = previous?.status ?? {};
  // A refused revision never hides the good one still running: lastAppliedRevision moves only on success
  // or once writes of the new revision began.
  const appliedRevision = failure === undefined || run.writesBegan ? head : prevStatus.lastAppliedRevision;
  const signer = failure === undefined ? signerOf(run) : prevStatus.lastAppliedSigner;

  // The no-op: the same revision, nothing to write, nothing wrong, status already saying so.
  const drift = run.plan?.drift ?? [];
  const driftLeft = keepsDrift(run) ? drift.length : 0;
  const noop =
    failure === undefined &&
    !changedSomething &&
    prevStatus.lastAppliedRevision === head &&
    prevStatus.conditions?.every((c) => c.status === "True") === true &&
    run.inventory.size === prevInventory.size &&
    (prevStatus.driftedObjects ?? 0) === driftLeft &&
    prevStatus.suspended !== true &&
    prevStatus.lastHandledReconcileAt === requestOf(app) &&
    prevStatus.pinnedRevision === run.pin?.revision;
  const pinnedRevision =
    head === undefined || (run.pin !== undefined && failure !== undefined && !run.writesBegan)
      ? prevStatus.pinnedRevision
      : run.pin?.revision;
  const request = requestOf(app);
  const { suspended: _suspended, pinnedRevision: _pinned, ...kept } = prevStatus;

  const status: ApplicationStatus = {
    ...kept,
    ...(pinnedRevision === undefined ? {} : { pinnedRevision }),
    ...(request === undefined ? {} : { lastHandledReconcileAt: request }),
    conditions: conditionList(conditions, prevStatus.conditions, now),
    ...(head === undefined ? {} : { lastAttemptedRevision: head }),
    ...(appliedRevision === undefined ? {} : { lastAppliedRevision: appliedRevision }),
    ...(signer === undefined ? {} : { lastAppliedSigner: signer }),
    objectsApplied:
      failure === undefined || run.writesBegan ? run.inventory.size : (prevStatus.objectsApplied ?? 0),
    objectsPruned: run.pruned.length,
    lastReconcileTime: now,
    ...(Object.keys(run.resolvedImages).length > 0 ? { images: run.resolvedImages } : {}),
    driftedObjects: failure === undefined ? driftLeft : (prevStatus.driftedObjects ?? 0),
    ...(drift.length > 0 ? { lastDriftTime: now } : {}),
    ...(failure === undefined
      ? {}
      : {
          lastRefusal: {
            ...(head === undefined ? {} : { revision: head }),
            reason: failure.reason,
            message: failure.message,
            details: failure.details.slice(0, 20).map((d) => d.slice(0, 1_000)),
            time: now,
          },
        }),
  };

  let auditRecord: string | undefined;
  if (!noop) {
    if (env.audit !== undefined && head !== undefined) {
      const entry: AuditEntry = {
        application: { namespace: id.namespace, name: id.name },
        revision: head,
        signers: signersOf(run),
        findings: run.findings,
        applied: run.applied.map((a) => auditRef(a.desired.object)),
        pruned: run.pruned.map((e) => ({
          apiVersion: e.apiVersion,
          kind: e.kind,
          name: e.name,
          ...(e.namespace === undefined ? {} : { namespace: e.namespace }),
          digest: (e.hash ?? "").startsWith("sha256:") ? (e.hash as string) : objectDigest({ ...e }),
        })),
        result: result === "applied" && run.pin !== undefined ? "rolled-back" : result,
        ...(drift.length === 0 ? {} : { drift: drift.slice(0, 200).map(auditDrift) }),
        ...(Object.keys(run.resolvedImages).length === 0
          ? {}
          : {
              images: Object.entries(run.resolvedImages)
                .filter(([ref, digest]) => DIGEST.test(digest) && ref.length <= 253)
                .slice(0, 1000)
                .map(([ref, digest]) => ({ ref, digest })),
            }),
        ...(failure === undefined || !CODE_PATTERN.test(failure.reason)
          ? {}
          : { reason: failure.reason.slice(0, 128) }),
        actor: env.actor,
      };
      const rec = await env.audit.append(entry);
      auditRecord = rec.id;
      status.lastAuditRecord = rec.id;
    }
    await env.state.save(id, { status, inventory: [...run.inventory.values()], deployer: run.sa });
    await emitEvent(env.cluster, env.state.eventTarget(id), {
      type: failure === undefined ? "Normal" : "Warning",
      reason:
        failure === undefined ? (changedSomething ? "ReconciliationSucceeded" : "Unchanged") : failure.reason,
      message: eventMessage(
        head,
        failure?.message ?? conditions.get(ConditionType.Ready)?.message ?? "",
        auditRecord,
      ),
      now,
    }).catch((err: unknown) => {
      // An event is a courtesy: failing to write one does not change the outcome.
      env.log?.(`event not written: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  return {
    application: id,
    result,
    ...(failure === undefined ? {} : { reason: failure.reason, step: failure.step }),
    message: failure?.message ?? conditions.get(ConditionType.Ready)?.message ?? "",
    details: failure?.details ?? [],
    ...(head === undefined ? {} : { revision: head }),
    ...(signer === undefined ? {} : { signer }),
    applied: run.applied.map((a) => describeRef(refOf(a.desired.object))),
    unchanged: run.plan?.unchanged ?? 0,
    pruned: run.pruned.map((e) => describeRef(e)),
    drift,
    driftReverted: drift.length > 0 && !keepsDrift(run),
    status: noop ? prevStatus : status,
    ...(auditRecord === undefined ? {} : { auditRecord }),
    timings: outcome.timings,
  };
}

/** The report of a dry run, after handing the preview to env.onPlan; nothing is saved or recorded. */
export function dryRunReport(run: Run, outcome: StepsOutcome): ReconcileReport {
  const { failure } = outcome;
  const p = run.plan;
  const prune = run.app.spec.prune === true ? pruneCandidates(run) : [];
  if (failure === undefined && p !== undefined) {
    run.env.onPlan?.(run.id, {
      desired: run.desired ?? [],
      plan: p,
      dryRun: run.dryRunAnswers ?? new Map(),
      prune,
      serviceAccount: run.sa,
    });
  }
  const head = run.fetched?.head;
  const signer = signerOf(run);
  return {
    application: run.id,
    result: failure?.result ?? "unchanged",
    ...(failure === undefined ? {} : { reason: failure.reason, step: failure.step }),
    message:
      failure?.message ??
      `dry run of revision ${short(head ?? "")}: ${p?.changes.length ?? 0} object(s) would be applied, ${p?.unchanged ?? 0} unchanged, ${prune.length} pruned; nothing was written`,
    details: failure?.details ?? [],
    ...(head === undefined ? {} : { revision: head }),
    ...(signer === undefined ? {} : { signer }),
    applied: [],
    unchanged: p?.unchanged ?? 0,
    pruned: [],
    drift: p?.drift ?? [],
    driftReverted: false,
    status: run.previous?.status ?? {},
    timings: outcome.timings,
  };
}

/** A drift finding as the audit log keeps it: the object, field paths (never values) and the manager. */
export function auditDrift(f: DriftFinding): DriftChange {
  return {
    object: {
      apiVersion: f.object.apiVersion,
      kind: f.object.kind,
      name: f.object.name,
      ...(f.object.namespace === undefined ? {} : { namespace: f.object.namespace }),
    },
    fields: f.fields.slice(0, 200).map((p) => p.slice(0, 512)),
    manager: f.manager,
  };
}

function signersOf(run: Run): AuditEntry["signers"] {
  const by = new Map<string, { name: string; key: string; commits: number }>();
  for (const c of run.verdict?.commits ?? []) {
    if (c.signer === undefined) continue;
    const name = c.signer.names[0] ?? "unknown";
    const k = `${name}\u0000${c.signer.fingerprint}`;
    const e = by.get(k) ?? { name, key: c.signer.fingerprint, commits: 0 };
    e.commits++;
    by.set(k, e);
  }
  return [...by.values()];
}
