// planRollback (src/day2/rollback.ts), the decision `gitward rollback` makes from the audit trail before it
// asks anything of the operator: which branch head the pin is tied to, and where the commit walk starts.
import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/record.js";
import { planRollback } from "../../src/day2/rollback.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const D = "d".repeat(40);

const rec = (revision: string, result: string): AuditRecord =>
  ({ revision, result, application: { namespace: "gitward-system", name: "shop" } }) as AuditRecord;

const records = [rec(A, "applied"), rec(B, "applied"), rec(C, "refused")];

describe("planRollback", () => {
  it("ties the pin to the latest revision seen, and verifies from the revision in force before the target", () => {
    const status = { lastAppliedRevision: B, lastAttemptedRevision: C };
    expect(planRollback({ app: "shop", revision: A.slice(0, 8), records, status })).toEqual({
      revision: A,
      branchHead: C,
    });
    const again = [...records, rec(A, "rolled-back"), rec(D, "applied")];
    const toB = { lastAppliedRevision: D, lastAttemptedRevision: D };
    expect(planRollback({ app: "shop", revision: B, records: again, status: toB })).toEqual({
      revision: B,
      branchHead: D,
      verifyFrom: A,
    });
    expect(() => planRollback({ app: "shop", revision: B, records, status })).toThrow(/in force already/);
  });

  it("a pin in force keeps its branch head; a pin the branch moved past does not", () => {
    const pinned = planRollback({
      app: "shop",
      revision: B,
      records: [...records, rec(A, "rolled-back")],
      status: { lastAppliedRevision: A, lastAttemptedRevision: A, pinnedRevision: A },
      currentPin: { branchHead: C },
    });
    expect(pinned.branchHead).toBe(C);
    // The branch moved to D after the pin: spec.rollback is left behind, status has no pin.
    const stale = planRollback({
      app: "shop",
      revision: B,
      records: [...records, rec(A, "rolled-back"), rec(D, "applied")],
      status: { lastAppliedRevision: D, lastAttemptedRevision: D },
      currentPin: { branchHead: C },
    });
    expect(stale.branchHead).toBe(D);
  });
});
