// Prometheus metrics of the webhook: decisions by result and verdict code, audit-mode hits (rules that
// would have denied), break-glass uses, and review latency. Dry runs are labelled, so a metric never
// counts a dry run as a real decision.
import { Counter, Histogram, Registry } from "prom-client";
import type { RuleSet } from "./decide.js";

/** Verdict codes are rule ids from a closed set; any other value is folded into one label. */
const CODE = /^[A-Za-z0-9][A-Za-z0-9_./:-]{0,127}$/;

export class AdmissionMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<"result" | "code" | "dry_run">;
  private readonly audits: Counter<"rule_set" | "code" | "dry_run">;
  private readonly breakGlassUses: Counter<"dry_run">;
  readonly latency: Histogram<"result">;

  constructor() {
    const registers = [this.registry];
    this.decisions = new Counter({
      name: "gitward_admission_decisions_total",
      help: "Admission reviews answered, by result and verdict code.",
      labelNames: ["result", "code", "dry_run"] as const,
      registers,
    });
    this.audits = new Counter({
      name: "gitward_admission_audit_violations_total",
      help: "Violations of rule sets in audit mode: allowed with a warning.",
      labelNames: ["rule_set", "code", "dry_run"] as const,
      registers,
    });
    this.breakGlassUses = new Counter({
      name: "gitward_admission_break_glass_total",
      help: "Changes to objects gitward manages by members of a break-glass group.",
      labelNames: ["dry_run"] as const,
      registers,
    });
    this.latency = new Histogram({
      name: "gitward_admission_review_seconds",
      help: "Time from a review's arrival to its answer.",
      labelNames: ["result"] as const,
      buckets: [
        0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
      ],
      registers,
    });
  }

  decided(result: "allowed" | "denied", code: string, dryRun: boolean): void {
    this.decisions.inc({ result, code: CODE.test(code) ? code : "OTHER", dry_run: String(dryRun) });
  }

  auditHit(set: RuleSet, code: string, dryRun: boolean): void {
    this.audits.inc({ rule_set: set, code: CODE.test(code) ? code : "OTHER", dry_run: String(dryRun) });
  }

  breakGlass(dryRun: boolean): void {
    this.breakGlassUses.inc({ dry_run: String(dryRun) });
  }

  /** The count of audit-mode violations so far (tests, and the CLI's shutdown summary). */
  async auditCount(): Promise<number> {
    const m = await this.audits.get();
    return m.values.reduce((n, v) => n + v.value, 0);
  }
}
