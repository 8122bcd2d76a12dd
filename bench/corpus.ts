// bench/corpus: the corpus of real public repositories (test/fixtures/corpus). Per rule, check's findings
// against the hand labels (TP/FP/FN, precision, recall; targets precision ≥ 0.99, recall ≥ 0.95), the
// check/reconcile disagreements in the sandbox, and gitward's render time against kubectl kustomize /
// helm template (or reading the files) on the same targets in the same run.
// Args: `only=<target id prefix>` to run a subset; `reconcile=false` to skip the sandbox.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
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

const FAIL_ON = "high";

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
  const scratch = await mkdtemp(path.join(tmpdir(), "gitward-bench-corpus-"));
  const world = withReconcile ? await startWorld() : undefined;
  if (world !== undefined) await installForeignCrds(world.admin);
  const scores = new Map<string, RuleScore>();
  const disagreements: string[] = [];
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
      if (check.code !== 2) score(scores, rules, t, labels, check.findings);
      let reconcile: string | undefined;
      if (world !== undefined) {
        const { report } = await reconcileTarget(world, t, FAIL_ON);
        reconcile = `${report.result}${report.reason === undefined ? "" : ` ${report.reason}`}`;
        const applied = report.result === "applied" || report.result === "unchanged";
        // Exit 2 (usage error) is no verdict; it is listed in perTarget and not compared.
        if (check.code !== 2 && (check.code === 0) !== applied)
          disagreements.push(`${t.id}: check exit ${check.code}, reconcile ${reconcile}`);
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
      .map(([rule, s]) => [
        rule,
        {
          tp: s.tp,
          fp: s.fp,
          fn: s.fn,
          precision: s.tp + s.fp === 0 ? null : s.tp / (s.tp + s.fp),
          recall: s.tp + s.fn === 0 ? null : s.tp / (s.tp + s.fn),
          ...(s.fp > 0 ? { falsePositives: s.falsePositives } : {}),
          ...(s.fn > 0 ? { falseNegatives: s.falseNegatives } : {}),
        },
      ]),
  );
  const o = overall(scores);
  return {
    benchmark: "corpus",
    targets: targets.length,
    failOn: FAIL_ON,
    overall: {
      precision: o.precision,
      recall: o.recall,
      target: { precision: 0.99, recall: 0.95 },
      met: o.precision >= 0.99 && o.recall >= 0.95,
    },
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
