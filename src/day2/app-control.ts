// The day-to-day controls a person sets on an Application and the reconcile honours: `spec.suspend`
// (nothing reconciled, no drift corrected), `spec.rollback` (an earlier revision pinned until the branch
// moves), and the reconcile-requested-at annotation (`gitward reconcile APP --now`, as Flux's requestedAt).
import type { Application, ApplicationStatus, Condition } from "../config/types.js";

/** Set by `gitward reconcile APP --now`; the operator reconciles at once and echoes it in the status. */
export const RECONCILE_REQUEST_ANNOTATION = "gitward.dev/reconcile-requested-at";

/** The reconcile request of an Application (the annotation's value), if any. */
export function requestOf(app: Application): string | undefined {
  return app.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
}

export interface ActivePin {
  readonly revision: string;
  readonly branchHead: string;
  readonly verifyFrom?: string;
}

/**
 * The rollback pin in force: only while the source ref still names the head it named when the rollback was
 * asked. A new commit on the branch (or `gitward resume`, which removes spec.rollback) ends it.
 */
export function activePin(app: Application, head: string): ActivePin | undefined {
  const pin = app.spec.rollback;
  if (pin === undefined || pin.branchHead !== head) return undefined;
  return pin;
}

/**
 * Where the commit walk of a pinned revision starts: nothing new when the pin was applied already;
 * otherwise from the revision applied before it, so every commit up to it is verified again.
 */
export function pinVerifyFrom(pin: ActivePin, previous: ApplicationStatus | undefined): string | undefined {
  if (previous?.pinnedRevision === pin.revision && previous.lastAppliedRevision === pin.revision) {
    return pin.revision;
  }
  return pin.verifyFrom;
}

export const SUSPENDED_REASON = "Suspended";

/** The status of a suspended Application: Ready keeps its status, says Suspended and how to resume. */
export function suspendedStatus(
  app: Application,
  previous: ApplicationStatus | undefined,
  now: string,
): ApplicationStatus {
  const prev = previous ?? {};
  const ready = prev.conditions?.find((c) => c.type === "Ready");
  const message =
    `suspended: no reconcile and no drift correction until \`gitward resume ${app.metadata.name}\`` +
    (prev.lastAppliedRevision === undefined
      ? ""
      : `; revision ${prev.lastAppliedRevision.slice(0, 12)} stays`);
  const next: Condition = {
    type: "Ready",
    status: ready?.status ?? "Unknown",
    reason: SUSPENDED_REASON,
    message,
    lastTransitionTime: ready?.lastTransitionTime ?? now,
  };
  const request = requestOf(app);
  return {
    ...prev,
    conditions: [next, ...(prev.conditions ?? []).filter((c) => c.type !== "Ready")],
    suspended: true,
    ...(request === undefined ? {} : { lastHandledReconcileAt: request }),
  };
}

/** Whether the stored status already says what suspendedStatus would write (nothing to save). */
export function suspendedAlready(app: Application, previous: ApplicationStatus | undefined): boolean {
  return (
    previous?.suspended === true &&
    previous.conditions?.find((c) => c.type === "Ready")?.reason === SUSPENDED_REASON &&
    previous.lastHandledReconcileAt === requestOf(app)
  );
}
