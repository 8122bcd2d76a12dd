// bench/chaos: `gitward run` killed with SIGKILL at seeded random points of a series of reconciles of a
// large revision (default 2,000 objects, 20 reconciles, each changing a share of the objects and pruning
// some), on a sandbox that answers 5% 500s and 5% 429s with Retry-After and adds 200 ms to every request.
// Each kill is aimed at a point of the work (the n-th object written, the n-th pruned, part n of the
// write-ahead or the final inventory) by watching the sandbox's events (test/reconcile/chaos-harness.ts);
// after each restart: time to converge, the exact object set, no wrong deletion, the inventory whole, and
// at the end the audit trail's chain and signatures and duplicate records.
// Args: --seed N, --objects N, --reconciles N, --latency-ms N, --error-rate X, --throttle-rate X,
// --part-bytes N (inventory part size, so that 2,000 entries make several parts).
import os from "node:os";
import { startWorld } from "../test/reconcile/harness.js";
import {
  checkAudit,
  checkCluster,
  ConfigMapEvents,
  converged,
  describeKillPoint,
  firstRevision,
  headGeneration,
  headParts,
  killAt,
  landing,
  nextRevision,
  prepareChaos,
  pushHook,
  revisionFiles,
  seededRandom,
  WrongDeletions,
  type KillPoint,
  type OperatorProcess,
} from "../test/reconcile/chaos-harness.js";
import { numberOption, quantile } from "./support/options.js";

function rate(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  return Number.isFinite(v) && v >= 0 && v < 1 ? v : fallback;
}

/** A kill point drawn with `random`: a phase, then how far into it (10% to 90% of its work). */
function drawKillPoint(
  random: () => number,
  change: { written: readonly string[]; removed: readonly string[] },
  parts: number,
): KillPoint {
  const into = (n: number) => Math.max(1, Math.min(n, Math.ceil(n * (0.1 + 0.8 * random()))));
  const r = random();
  if (r < 1 / 3) return { phase: "apply", count: into(change.written.length) };
  if (r < 2 / 3) return { phase: "prune", count: into(change.removed.length) };
  // Part 1 up to the last but one: the head, written last, is not yet there when the kill lands.
  return {
    phase: "inventory",
    generation: random() < 0.5 ? 1 : 2,
    part: Math.max(1, Math.min(parts - 1, Math.floor(1 + random() * (parts - 1)))),
  };
}

export async function run(args: readonly string[]): Promise<unknown> {
  const seed = numberOption(args, "--seed", 18);
  const objects = numberOption(args, "--objects", 2000);
  const reconciles = numberOption(args, "--reconciles", 20);
  const faults = {
    latencyMs: numberOption(args, "--latency-ms", 200),
    errorRate: rate(args, "--error-rate", 0.05),
    throttleRate: rate(args, "--throttle-rate", 0.05),
  };
  const partBytes = numberOption(args, "--part-bytes", 16 * 1024);
  // A round that takes longer has stalled: the bench stops there and reports what it has.
  const roundMs = numberOption(args, "--round-timeout-ms", 600_000);
  const loadBefore = os.loadavg();
  const started = Date.now();
  const random = seededRandom(seed);
  const w = await startWorld();
  const procs: OperatorProcess[] = [];
  const spawnOperator = (setup: Awaited<ReturnType<typeof prepareChaos>>, name: string) => {
    const p = setup.spawn(name);
    procs.push(p);
    return p;
  };
  let events: ConfigMapEvents | undefined;
  try {
    const setup = await prepareChaos(w, { interval: "10s", partBytes });
    events = await ConfigMapEvents.start(w.admin, ["shop", "gitward-system"]);
    const ev = events;
    await w.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bystander", namespace: "shop" },
      data: { version: "v0" },
    });
    const wrong = new WrongDeletions(ev, ["bystander"]);
    let rev = firstRevision(objects);
    wrong.revision = rev;
    let sha = await w.commit(revisionFiles(rev));
    w.sb.setFaults(faults);
    let p = spawnOperator(setup, "first");
    const firstMs = await converged(ev, p, sha, Date.now(), roundMs);
    process.stderr.write(`chaos: first apply ${firstMs} ms\n`);

    const rounds = [];
    const problems = { lost: 0, extra: 0, inventory: 0 };
    let stalled: { round: number; error: string } | undefined;
    for (let i = 1; i <= reconciles && stalled === undefined; i++) {
      try {
        const version = `v${i}`;
        const change = nextRevision(rev, version, random, { changed: 0.2, removed: 0.03 });
        const point = drawKillPoint(random, change, headParts(ev));
        wrong.revision = change.revision;
        sha = await w.commit(revisionFiles(change.revision));
        const before = headGeneration(ev);
        const target = p;
        const reconcileStarted = Date.now();
        const fired = killAt(
          ev,
          target,
          point,
          { version, removed: new Set(change.removed) },
          converged(ev, target, sha, reconcileStarted, roundMs),
        );
        await pushHook(target, sha);
        const hit = await fired;
        const killedAfterMs = Date.now() - reconcileStarted;
        w.sb.setFaults({});
        const landed = await landing(w.admin, ev, { ...change, version }, before);
        w.sb.setFaults(faults);
        const restarted = Date.now();
        p = spawnOperator(setup, `restart-${i}`);
        const convergeMs = await converged(ev, p, sha, restarted, roundMs);
        w.sb.setFaults({});
        const c = await checkCluster(w.admin, change.revision);
        w.sb.setFaults(faults);
        problems.lost += c.lost.length;
        problems.extra += c.extra.length;
        problems.inventory += c.inventoryProblems.length;
        rounds.push({
          round: i,
          aimed: describeKillPoint(point),
          hit,
          killedAfterMs,
          landed,
          convergeMs,
          ...(c.lost.length + c.extra.length + c.inventoryProblems.length === 0 ? {} : { problems: c }),
        });
        process.stderr.write(`chaos: ${JSON.stringify(rounds.at(-1))}\n`);
        rev = change.revision;
      } catch (err) {
        stalled = { round: i, error: err instanceof Error ? err.message.slice(0, 2000) : String(err) };
      }
    }
    // A stalled operator may never finish its queue, which a graceful stop waits for.
    p.child.kill(stalled === undefined ? "SIGTERM" : "SIGKILL");
    const last = await p.exit;
    wrong.stop();
    w.sb.setFaults({});
    const audit = await checkAudit(w.admin, setup.publicKey);
    const converge = rounds.map((r) => r.convergeMs).sort((a, b) => a - b);
    const appliedCounts = Object.values(audit.appliedByRevision);
    return {
      bench: "chaos",
      peer: "none: no peer exists for this measurement (no other GitOps tool runs against the sandbox here)",
      params: { seed, objects, reconciles, faults, inventoryPartBytes: partBytes },
      note: "the sandbox draws its faults with Math.random: the seed fixes revisions and kill points, not which requests fail",
      ...(stalled === undefined ? {} : { stalled }),
      kills: rounds.length,
      killsAtAimedPoint: rounds.filter((r) => r.hit).length,
      firstApplyMs: firstMs,
      convergenceAfterRestartMs: { p50: quantile(converge, 0.5), max: quantile(converge, 1) },
      nothingLost: problems.lost === 0,
      nothingExtra: problems.extra === 0,
      inventoryWhole: problems.inventory === 0,
      wronglyDeleted: wrong.found,
      watchResumesLost: ev.lost,
      audit: {
        chain: audit.status,
        records: audit.records,
        duplicates: audit.duplicates,
        revisionsRecordedApplied: appliedCounts.length,
        mostAppliedRecordsForOneRevision: Math.max(0, ...appliedCounts),
      },
      gracefulStopExit: last.code,
      rounds,
      wallMs: Date.now() - started,
      load: {
        before: loadBefore.map((x) => Math.round(x * 100) / 100),
        after: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      cpus: os.cpus().length,
    };
  } finally {
    for (const p of procs) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exit));
    await events?.stop();
    w.sb.setFaults({});
    await w.stop();
  }
}
