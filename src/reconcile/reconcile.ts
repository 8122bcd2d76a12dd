// One reconcile of one Application: source → verify → render → check → plan → apply → prune → health →
// record (ARCHITECTURE.md). Every gate runs before the first write; any refusal stops the revision with
// nothing written, the last applied revision left as it is, and the status, an audit record and an Event
// saying why. The steps run through the shared runner in steps.ts; the record is made once, at the end.
// This file composes the pass; the steps live in gate-steps.ts and write-steps.ts, the record in
// record.ts, the shared Run and report types in reconcile-run.ts.
import type { Application, TrustPolicy } from "../config/types.js";
import { serviceAccountUser } from "../cluster/client.js";
import { suspendedAlready, suspendedStatus } from "../day2/app-control.js";
import { appIdOf } from "./desired.js";
import { check, renderStep, source, verify } from "./gate-steps.js";
import { keyOf } from "./inventory.js";
import { dryRunReport, recordRun } from "./record.js";
import { emptyFindings, type ReconcileEnv, type ReconcileReport, type Run } from "./reconcile-run.js";
import { runSteps, type Step } from "./steps.js";
import type { AppState } from "./state.js";
import { applyStep, health, planStep, pruneStep } from "./write-steps.js";

// The public face of a reconcile: its callers import these names from here.
export type { PlanPreview, ReconcileEnv, ReconcileReport, ReconcileResult } from "./reconcile-run.js";

export const STEPS: readonly Step<Run>[] = [
  source,
  verify,
  renderStep,
  check,
  planStep,
  applyStep,
  pruneStep,
  health,
];

/** Reconciles one Application gated by its TrustPolicy; never throws for expected failures. */
export async function reconcileApplication(
  app: Application,
  trust: TrustPolicy,
  env: ReconcileEnv,
): Promise<ReconcileReport> {
  const id = appIdOf(app);
  const previous = await env.state.load(id);
  if (app.spec.suspend === true && env.dryRun !== true) return suspendedPass(app, env, previous);
  const prevInventory = new Map((previous?.inventory ?? []).map((e) => [keyOf(e), e]));
  const run: Run = {
    app,
    trust,
    env,
    id,
    sa: serviceAccountUser(app.spec.destination.namespace, app.spec.destination.serviceAccountName),
    previous,
    prevInventory,
    findings: emptyFindings(),
    resolvedImages: {},
    applied: [],
    pruned: [],
    inventory: new Map(prevInventory),
    writesBegan: false,
  };
  if (env.dryRun === true) run.dryRunAnswers = new Map();
  let outcome;
  try {
    const steps = env.dryRun === true ? STEPS.slice(0, STEPS.indexOf(planStep) + 1) : STEPS;
    outcome = await runSteps(
      steps,
      run,
      (r) => r.writesBegan,
      (stage) => env.onStage?.(id, stage),
    );
  } finally {
    await run.removeCheckout?.();
  }
  if (env.dryRun === true) return dryRunReport(run, outcome);
  return recordRun(run, outcome);
}

/** A pass over a suspended Application: nothing fetched or applied; the status says Suspended (once). */
async function suspendedPass(
  app: Application,
  env: ReconcileEnv,
  previous: AppState | undefined,
): Promise<ReconcileReport> {
  const id = appIdOf(app);
  const now = (env.now ?? (() => new Date()))().toISOString();
  const status = suspendedAlready(app, previous?.status)
    ? (previous?.status ?? {})
    : suspendedStatus(app, previous?.status, now);
  if (status !== previous?.status) {
    await env.state.save(id, {
      status,
      inventory: previous?.inventory ?? [],
      deployer: serviceAccountUser(app.spec.destination.namespace, app.spec.destination.serviceAccountName),
    });
  }
  const revision = previous?.status.lastAppliedRevision;
  return {
    application: id,
    result: "unchanged",
    reason: "SUSPENDED",
    message: status.conditions?.find((c) => c.type === "Ready")?.message ?? "suspended",
    details: [],
    ...(revision === undefined ? {} : { revision }),
    applied: [],
    unchanged: 0,
    pruned: [],
    drift: [],
    driftReverted: false,
    status,
    timings: {},
  };
}
