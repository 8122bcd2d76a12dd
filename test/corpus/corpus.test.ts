// The corpus of real public repositories (issue 19, "Measured"): for every target of targets.json, gitward
// renders what kubectl kustomize / helm template render, object for object; `gitward check` reports the
// findings labelled by hand in labels.json; and a reconcile into the sandbox applies exactly when check is
// green, refusing otherwise with check's findings.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import canonicalize from "canonicalize";
import { startWorld, type World } from "../reconcile/harness.js";
import {
  canonicalObjects,
  corpusRepo,
  corpusSlug,
  gitwardRender,
  loadCorpus,
  overall,
  peerRender,
  ratio,
  runCheck,
  score,
  type CheckRun,
  type CorpusTarget,
  type Labels,
  type RuleScore,
} from "../support/corpus.js";
import { installForeignCrds, reconcileTarget } from "../support/corpus-cluster.js";
import type { ReconcileReport } from "../../src/reconcile/reconcile.js";

const FAIL_ON = "high";
/**
 * At FAIL_ON almost every target is refused for pod security, so "applies when green" would rest on the
 * four Flux targets alone; at GREEN_FAIL_ON most targets are green and reconcile must really apply them.
 */
const GREEN_FAIL_ON = "critical";
const THRESHOLDS = [FAIL_ON, GREEN_FAIL_ON] as const;
type Threshold = (typeof THRESHOLDS)[number];
const { targets, rules, labels } = await loadCorpus();
const scores = new Map<string, RuleScore>();
/** check's runs by target and threshold, started two at a time (CI has two cores) while the sandbox starts. */
const checks = new Map<string, Promise<CheckRun>>();
const disagreements: string[] = [];
/** Targets reconcile applied, by threshold. */
const appliedAt = new Map<Threshold, Set<string>>(THRESHOLDS.map((f) => [f, new Set<string>()]));
let world: World;
/** The check runs still going (see beforeAll). */
let lanes: Promise<unknown> = Promise.resolve();
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "gitward-corpus-"));
  for (const t of targets) await corpusRepo(t.repo, path.join(scratch, corpusSlug(t)));
  // Every threshold's runs are promised up front; the FAIL_ON ones run first and are awaited here, the
  // GREEN_FAIL_ON ones go on in the background while the tests run (the hook would not fit both).
  const jobs = THRESHOLDS.flatMap((failOn) => targets.map((t) => ({ t, failOn })));
  const settle = new Map<string, (run: CheckRun) => void>();
  for (const j of jobs) {
    const key = `${j.t.id} ${j.failOn}`;
    checks.set(key, new Promise<CheckRun>((resolve) => settle.set(key, resolve)));
  }
  let next = 0;
  lanes = Promise.all(
    [0, 1].map(async () => {
      for (let j = jobs[next++]; j !== undefined; j = jobs[next++]) {
        const run = await runCheck(j.t, path.join(scratch, corpusSlug(j.t)), j.failOn);
        settle.get(`${j.t.id} ${j.failOn}`)?.(run);
      }
    }),
  );
  world = await startWorld();
  await Promise.all(targets.map((t) => runOf(t, FAIL_ON)));
  await installForeignCrds(world.admin);
});

afterAll(async () => {
  await lanes;
  await world.stop();
  await rm(scratch, { recursive: true, force: true });
});

function runOf(t: CorpusTarget, failOn: Threshold = FAIL_ON): Promise<CheckRun> {
  const run = checks.get(`${t.id} ${failOn}`);
  if (run === undefined) throw new Error(`check did not run for ${t.id} at ${failOn}`);
  return run;
}

/** Records and asserts that reconcile applied exactly when check (exit 0) was green. */
function expectAgreement(
  t: CorpusTarget,
  failOn: Threshold,
  run: CheckRun,
  report: ReconcileReport,
): boolean {
  const green = run.code === 0;
  const applied = report.result === "applied" || report.result === "unchanged";
  if (applied) appliedAt.get(failOn)?.add(t.id);
  if (green !== applied) {
    disagreements.push(
      `${t.id} at ${failOn}: check exit ${run.code}, reconcile ${report.result} ${report.reason ?? ""}`,
    );
  }
  expect({ green, applied, reason: report.reason, message: report.message }).toMatchObject({
    green,
    applied: green,
  });
  return green;
}

const RANK = ["low", "medium", "high", "critical"];
function atLeast(severity: string, threshold: string): boolean {
  return RANK.indexOf(severity) >= RANK.indexOf(threshold);
}

function labelled(t: CorpusTarget, rule: string, all: Labels = labels): string[] {
  return Object.keys(all[t.id]?.[rule] ?? {}).sort();
}

describe.each(targets.map((t) => [t.id, t] as const))("corpus %s", (_id, t) => {
  let dir: string;

  beforeAll(() => {
    dir = path.join(scratch, corpusSlug(t));
  });

  it("renders what the peer renders, object for object", async () => {
    const r = await gitwardRender(t, dir);
    if (!r.ok) throw new Error(`render failed: ${JSON.stringify(r.errors)}`);
    const ours = canonicalObjects(r.manifests.map((m) => m.object));
    const peer = canonicalObjects(await peerRender(t, dir));
    expect([...ours.keys()].sort()).toEqual([...peer.keys()].sort());
    for (const [k, v] of peer) expect(ours.get(k), k).toBe(v);
  });

  it("check reports the labelled findings", async () => {
    const run = await runOf(t);
    expect(run.code, run.stderr).not.toBe(2);
    if (t.expectRefusal !== undefined) {
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain(t.expectRefusal);
    }
    const found = score(scores, rules, t, labels, run.findings);
    // The rules the issue names are asserted exactly on the targets that carry them.
    const exact = ["pod-security/capabilities-drop-all", "secrets/env-literal", "rbac/escalation-verbs"];
    exact.push(...rules.filter((r) => r.startsWith("rbac/")));
    for (const rule of new Set(exact)) {
      expect([...(found.get(rule) ?? [])].sort(), `${t.id} ${rule}`).toEqual(labelled(t, rule));
    }
  });

  it("reconcile applies exactly when check is green, else refuses with check's findings", async () => {
    const run = await runOf(t);
    const { report, signed } = await reconcileTarget(world, t, FAIL_ON);
    expect(signed).toContain("-----BEGIN SSH SIGNATURE-----");
    if (expectAgreement(t, FAIL_ON, run, report)) return;
    // A revision refused before apply (expectRefusal) may be refused for policy first; check names both.
    if (t.expectRefusal !== undefined && !run.findings.some((f) => atLeast(f.severity, FAIL_ON))) {
      expect(`${report.reason ?? ""} ${report.message} ${report.details.join("\n")}`).toContain(
        t.expectRefusal,
      );
      return;
    }
    expect(report.reason, `${report.message} ${report.details.slice(0, 3).join(" ")}`).toBe("POLICY_FAILED");
    const details = report.details.join("\n");
    for (const f of run.findings) expect(details).toContain(`${f.severity} ${f.ruleId}: ${f.message}`);
    expect(report.details.filter((d) => / (low|medium|high|critical) \S+: /.test(d))).toHaveLength(
      run.findings.length,
    );
  });

  it(`at --fail-on ${GREEN_FAIL_ON} too: reconcile applies every target check passes, refuses the others`, async () => {
    const run = await runOf(t, GREEN_FAIL_ON);
    expect(run.code, run.stderr).not.toBe(2);
    const { report } = await reconcileTarget(world, t, GREEN_FAIL_ON);
    if (expectAgreement(t, GREEN_FAIL_ON, run, report)) return;
    // Refused: for check's reason, a pre-apply code or findings at the threshold.
    const code = t.expectRefusal ?? "POLICY_FAILED";
    expect(`${report.reason ?? ""} ${report.message}`).toContain(code);
  });
});

describe("corpus overall", () => {
  it("meets precision ≥ 0.99 and recall ≥ 0.95 with no check/reconcile disagreement", () => {
    expect(scores.size).toBeGreaterThan(0);
    const o = overall(scores);
    const misses = [...scores.entries()]
      .filter(([, s]) => s.fp + s.fn > 0)
      .map(([rule, s]) => canonicalize({ rule, fp: s.falsePositives, fn: s.falseNegatives }));
    expect(o.precision, misses.join("\n")).toBeGreaterThanOrEqual(0.99);
    expect(o.recall, misses.join("\n")).toBeGreaterThanOrEqual(0.95);
    // The targets hold per rule too: a rule with few findings cannot hide behind the corpus total.
    const belowTarget = [...scores.entries()]
      .filter(([, s]) => ratio(s.tp, s.tp + s.fp) < 0.99 || ratio(s.tp, s.tp + s.fn) < 0.95)
      .map(([rule, s]) => `${rule}: tp ${s.tp} fp ${s.fp} fn ${s.fn}`);
    expect(belowTarget).toEqual([]);
    expect(disagreements).toEqual([]);
    // The second threshold is there to make reconcile apply real workloads: it must apply more targets.
    expect(appliedAt.get(GREEN_FAIL_ON)?.size ?? 0).toBeGreaterThan(appliedAt.get(FAIL_ON)?.size ?? 0);
  });
});
