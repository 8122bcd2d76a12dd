// The shared step runner of a reconcile (STYLE.md: Flux's steps with conditions, without repeating the
// record-and-mark block in every step). Each step either passes, optionally marking a condition True, or
// stops the run with a failure that names its condition, reason and message. A step that throws stops the
// run too: an unexpected error means "not applied", never "applied anyway".
import { ClusterError } from "../cluster/errors.js";

export const ConditionType = {
  Ready: "Ready",
  Verified: "Verified",
  PolicyPassed: "PolicyPassed",
  Healthy: "Healthy",
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export interface ConditionState {
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

/** How a run ended badly: "refused" before any write (fail closed), "failed" after writes began. */
export interface StepFailure {
  readonly result: "refused" | "failed";
  readonly condition: ConditionType;
  /** Machine-readable reason: a verdict code (UNSIGNED, POLICY_FAILED, FORBIDDEN...). */
  readonly reason: string;
  /** One line for people: what went wrong and what to do. */
  readonly message: string;
  /** Further lines (one per commit, finding or object). */
  readonly details: readonly string[];
}

export interface Step<C> {
  readonly name: string;
  /** Resolves undefined when the step passed. */
  run(ctx: C): Promise<StepFailure | undefined>;
  /** The condition a passing step marks True, with its reason and message. */
  readonly marks?: (ctx: C) => { condition: ConditionType; reason: string; message: string } | undefined;
}

export interface StepsOutcome {
  readonly failure?: StepFailure & { readonly step: string };
  readonly conditions: ReadonlyMap<ConditionType, ConditionState>;
  /** Names of the steps that ran, in order. */
  readonly ran: readonly string[];
  /** Wall time of each step that ran, in ms. */
  readonly timings: Readonly<Record<string, number>>;
}

/** Runs steps in order until one fails; `writesBegan(ctx)` tells whether a throw came after writes. */
export async function runSteps<C>(
  steps: readonly Step<C>[],
  ctx: C,
  writesBegan: (ctx: C) => boolean,
  onStep?: (name: string) => void,
): Promise<StepsOutcome> {
  const conditions = new Map<ConditionType, ConditionState>();
  const ran: string[] = [];
  const timings: Record<string, number> = {};
  for (const step of steps) {
    ran.push(step.name);
    onStep?.(step.name);
    let failure: StepFailure | undefined;
    const started = performance.now();
    try {
      failure = await step.run(ctx);
    } catch (err) {
      failure = {
        result: writesBegan(ctx) ? "failed" : "refused",
        condition: ConditionType.Ready,
        reason: err instanceof ClusterError ? err.code : "INTERNAL_ERROR",
        message: `${step.name}: ${err instanceof Error ? err.message : String(err)}`,
        details: [],
      };
    }
    timings[step.name] = Math.round(performance.now() - started);
    if (failure !== undefined) {
      conditions.set(failure.condition, {
        status: "False",
        reason: failure.reason,
        message: failure.message,
      });
      return { failure: { ...failure, step: step.name }, conditions, ran, timings };
    }
    const mark = step.marks?.(ctx);
    if (mark !== undefined) {
      conditions.set(mark.condition, { status: "True", reason: mark.reason, message: mark.message });
    }
  }
  return { conditions, ran, timings };
}
