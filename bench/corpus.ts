// bench/corpus: the corpus of real public repositories (test/fixtures/corpus). Per rule, check's findings
// against the hand labels (TP/FP/FN, precision, recall; targets precision ≥ 0.99, recall ≥ 0.95), the
// check/reconcile disagreements in the sandbox, and gitward's render time against kubectl kustomize /
// helm template (or reading the files) on the same targets in the same run. `overall.met` holds only when
// every rule and the whole corpus meet the targets, no check errored (exit 2) and none disagrees.
// Args: `only=<target id prefix>` to run a subset; `reconcile=false` to skip the sandbox; `failOn=<severity>`
// (default high) for check's --fail-on and the TrustPolicy's failOn alike.
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { startWorld } from "../test/reconcile/harness.js";
import {
  corpusRepo,
  corpusSlug,
  gitwardRender,
  loadCorpus,
  overall,
  peerRender,
  runCheck,
  score,
  type RuleScore,
} from "../test/support/corpus.js";
import { installForeignCrds, reconcileTarget } from "../test/support/corpus-cluster.js";

const SEVERITIES = ["low", "medium", "high", "critical"] as const;
type Severity = (typeof SEVERITIES)[number];
/** The issue's targets, for every rule with findings or labels and for the corpus as a whole. */
const TARGET = { precision: 0.99, recall: 0.95 } as const;

function arg(args: readonly string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

export async function run(args: readonly string[]): Promise<unknown> {
  const { targets: all, rules, labels } = await loadCorpus();
  const only = arg(args, "only");
  const targets = all.filter((t) => only === undefined || t.id.startsWith(only));
  const withReconcile = arg(args, "reconcile") !== "false";
  const failOnArg = arg(args, "failOn") ?? "high";
  if (!SEVERITIES.includes(failOnArg as Severity)) throw new Error(`failOn=${failOnArg}: not a severity`);
  const FAIL_ON = failOnArg as Severity;
  const scratch = await mkdtemp(path.join(tmpdir(), "gitward-bench-corpus-"));
  const world = withReconcile ? await startWorld() : undefined;
  if (world !== undefined) await installForeignCrds(world.admin);
  const scores = new Map<string, RuleScore>();
  const disagreements: string[] = [];
  /** Targets check gave no verdict on (exit 2): they fail the run instead of dropping out of the table. */
  const checkErrors: string[] = [];
  const perTarget: unknown[] = [];
  let gitwardMs = 0;
  let peerMs = 0;
  try {
    for (const t of targets) {
      const dir = path.join(scratch, corpusSlug(t));
      await corpusRepo(t.repo, dir);
      const ours = await timed(() => gitwardRender(t, dir));
      const peer = await timed(() => peerRender(t, dir));
      gitwardMs += ours.ms;
      peerMs += peer.ms;
      const check = await runCheck(t, dir, FAIL_ON);
      if (check.code === 2) checkErrors.push(`${t.id}: ${check.stderr.split("\n")[0] ?? ""}`);
      else score(scores, rules, t, labels, check.findings);
      let reconcile: string | undefined;
      if (world !== undefined) {
        const { report } = await reconcileTarget(world, t, FAIL_ON);
        reconcile = `${report.result}${report.reason === undefined ? "" : ` ${report.reason}`}`;
        const applied = report.result === "applied" || report.result === "unchanged";
        // Green is exit 0, as in test/corpus: a check that errors (exit 2) is not green either.
        if ((check.code === 0) !== applied)
          disagreements.push(
            `${t.id}: check exit ${check.code}, reconcile ${reconcile}: ${report.message} ${report.details.slice(0, 3).join("; ")}`,
          );
      }
      perTarget.push({
        target: t.id,
        objects: ours.value.ok ? ours.value.manifests.length : `render failed: ${ours.value.errors[0]?.code}`,
        peerObjects: peer.value.length,
        renderMs: { gitward: Math.round(ours.ms), peer: Math.round(peer.ms) },
        checkExit: check.code,
        ...(check.code === 2 ? { checkError: check.stderr.split("\n")[0] } : {}),
        findings: check.findings.length,
        ...(reconcile === undefined ? {} : { reconcile }),
      });
    }
  } finally {
    await world?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const perRule = Object.fromEntries(
    [...scores.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([rule, s]) => {
        const precision = s.tp + s.fp === 0 ? null : s.tp / (s.tp + s.fp);
        const recall = s.tp + s.fn === 0 ? null : s.tp / (s.tp + s.fn);
        return [
          rule,
          {
            tp: s.tp,
            fp: s.fp,
            fn: s.fn,
            precision,
            recall,
            met: (precision ?? 1) >= TARGET.precision && (recall ?? 1) >= TARGET.recall,
            ...(s.fp > 0 ? { falsePositives: s.falsePositives } : {}),
            ...(s.fn > 0 ? { falseNegatives: s.falseNegatives } : {}),
          },
        ] as const;
      }),
  );
  const o = overall(scores);
  const rulesMet = Object.values(perRule).every((r) => r.met);
  return {
    benchmark: "corpus",
    targets: targets.length,
    failOn: FAIL_ON,
    machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))) },
    overall: {
      precision: o.precision,
      recall: o.recall,
      target: TARGET,
      met:
        o.precision >= TARGET.precision &&
        o.recall >= TARGET.recall &&
        rulesMet &&
        checkErrors.length === 0 &&
        disagreements.length === 0,
    },
    checkErrors,
    checkReconcileDisagreements: withReconcile ? disagreements.length : null,
    disagreements,
    renderMs: {
      gitward: Math.round(gitwardMs),
      peer: Math.round(peerMs),
      ratio: peerMs === 0 ? null : gitwardMs / peerMs,
    },
    perRule,
    perTarget,
  };
}
