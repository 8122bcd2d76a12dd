// What `gitward rollback APP REV` asks of the operator, decided from the audit trail: REV must be a
// revision this Application had applied (it passed every gate then); a revision that was only refused, or
// never seen, is refused here with the reason. The operator verifies it again before applying it.
import type { ApplicationStatus } from "../config/types.js";
import { ConfigError } from "../config/errors.js";
import type { AuditRecord } from "../audit/record.js";
import { IN_FORCE_RESULTS } from "./trail.js";

export interface RollbackPlan {
  readonly revision: string;
  readonly branchHead: string;
  readonly verifyFrom?: string;
}

const REV = /^[0-9a-f]{7,64}$/;

export function planRollback(opts: {
  readonly app: string;
  readonly revision: string;
  readonly records: readonly AuditRecord[];
  readonly status: ApplicationStatus;
  readonly currentPin?: { branchHead: string };
}): RollbackPlan {
  const where = `gitward rollback ${opts.app}`;
  const want = opts.revision.toLowerCase();
  if (!REV.test(want)) {
    throw new ConfigError(`${opts.revision} is not a commit id (7 to 64 hex digits)`, where);
  }
  const revisions = [...new Set(opts.records.map((r) => r.revision).filter((r) => r.startsWith(want)))];
  if (revisions.length > 1) {
    throw new ConfigError(
      `${opts.revision} is ambiguous: ${revisions.map((r) => r.slice(0, 12)).join(", ")}; give more digits`,
      where,
    );
  }
  const revision = revisions[0];
  const applied = opts.records.findIndex((r) => r.revision === revision && IN_FORCE_RESULTS.has(r.result));
  if (revision === undefined || applied === -1) {
    const refused = opts.records.find((r) => r.revision === revision && r.result === "refused");
    throw new ConfigError(
      refused === undefined
        ? `revision ${opts.revision} was never applied to this Application (see \`gitward history ${opts.app}\`); only a revision that was verified and applied before can be rolled back to`
        : `revision ${revision?.slice(0, 12) ?? ""} was refused (${refused.reason ?? "REFUSED"}) and never applied: a rollback only goes back to a revision that passed every gate`,
      where,
    );
  }
  if (opts.status.lastAppliedRevision === revision && opts.status.pinnedRevision === undefined) {
    throw new ConfigError(`revision ${revision.slice(0, 12)} is the one in force already`, where);
  }
  // While a pin is in force the status's latest revision is the pinned one, so the branch head is the pin's.
  // A pin the branch has moved past (spec.rollback left behind: the operator never writes the spec) says
  // nothing about the head: the latest revision seen is the head then.
  const inForce = opts.status.pinnedRevision === undefined ? undefined : opts.currentPin;
  const branchHead = inForce?.branchHead ?? opts.status.lastAttemptedRevision;
  if (branchHead === undefined) {
    throw new ConfigError("the Application has not been reconciled yet: nothing to roll back", where);
  }
  // The revision in force before REV was first applied: the walk from it verifies every commit up to REV.
  let verifyFrom: string | undefined;
  for (let i = applied - 1; i >= 0; i--) {
    const r = opts.records[i];
    if (r !== undefined && r.revision !== revision && IN_FORCE_RESULTS.has(r.result)) {
      verifyFrom = r.revision;
      break;
    }
  }
  return { revision, branchHead, ...(verifyFrom === undefined ? {} : { verifyFrom }) };
}
