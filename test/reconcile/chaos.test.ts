// `gitward run` killed with SIGKILL in the middle of an inventory write, of the apply and of the prune of a
// 300-object change, against a sandbox answering 5% 500s and 5% 429s (Retry-After) with added latency.
// Each kill is aimed by watching the sandbox's ConfigMap events (see chaos-harness.ts), not by a delay;
// after each restart the operator converges to the revision with nothing lost, nothing wrongly pruned, the
// inventory whole and the audit trail's chain intact without a record written twice. bench/chaos.ts runs
// the same at 2,000 objects and 20 reconciles.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Faults } from "../../src/sandbox/server.js";
import {
  checkAudit,
  checkCluster,
  ConfigMapEvents,
  converged,
  firstRevision,
  headGeneration,
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
} from "./chaos-harness.js";
import { startWorld, type World } from "./harness.js";

const OBJECTS = 300;
const FAULTS: Faults = { errorRate: 0.05, throttleRate: 0.05, latencyMs: 5 };

let w: World;
let events: ConfigMapEvents | undefined;
const procs: OperatorProcess[] = [];

beforeAll(async () => {
  w = await startWorld();
});

afterAll(async () => {
  for (const p of procs) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exit));
  await events?.stop();
  w.sb.setFaults({});
  await w.stop();
});

/** Runs `f` with the faults off: the checks read the cluster, they are not what is under test. */
async function calm<T>(f: () => Promise<T>): Promise<T> {
  w.sb.setFaults({});
  try {
    return await f();
  } finally {
    w.sb.setFaults(FAULTS);
  }
}

describe("chaos: SIGKILL of gitward run at chosen points, on a faulty API server", () => {
  it("converges after each restart: nothing lost, nothing wrongly pruned, one intact audit chain", async () => {
    const setup = await prepareChaos(w, { interval: "3s", partBytes: 4096 });
    events = await ConfigMapEvents.start(w.admin, ["shop", "gitward-system"]);
    const ev = events;
    await w.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bystander", namespace: "shop" },
      data: { version: "v1" },
    });
    const wrong = new WrongDeletions(ev, ["bystander"]);
    const random = seededRandom(18);
    let rev = firstRevision(OBJECTS);
    wrong.revision = rev;
    await w.commit(revisionFiles(rev));
    // The first revision is applied here, faults off (it is the starting point, not under test), into
    // the operator's own state and audit trail.
    expect((await w.reconcile(undefined, setup.env)).result).toBe("applied");
    w.sb.setFaults(FAULTS);
    const spawn = (name: string) => {
      const p = setup.spawn(name);
      procs.push(p);
      return p;
    };
    const t0 = Date.now();
    // CHAOS_TRACE=1 prints when each step ended, to see where a slow run spends its time.
    const T = (m: string) => {
      if (process.env["CHAOS_TRACE"] === "1") process.stderr.write(`chaos ${Date.now() - t0} ms: ${m}\n`);
    };
    let p = spawn("first");
    T("first applied");

    const points: KillPoint[] = [
      // The write-ahead inventory is 5 parts of 4 KiB: killed after its second part, before its head.
      { phase: "inventory", generation: 1, part: 2 },
      { phase: "apply", count: 45 },
      { phase: "prune", count: 15 },
    ];
    for (const [i, point] of points.entries()) {
      const version = `v${i + 1}`;
      const change = nextRevision(rev, version, random, { changed: 0.3, removed: 0.1 });
      wrong.revision = change.revision;
      const sha = await w.commit(revisionFiles(change.revision));
      const before = headGeneration(ev);
      const killed = killAt(ev, p, point, { version, removed: new Set(change.removed) });
      await pushHook(p, sha);
      T("hook sent");
      expect(await killed, `kill ${point.phase}`).toBe(true);
      T("killed");
      const landed = await calm(() => landing(w.admin, ev, { ...change, version }, before));
      // Each kill landed where it was aimed: part-way through the work, not before or after it.
      if (point.phase === "inventory") expect(landed.inventoryWrites).toBe(0);
      if (point.phase === "apply") expect(landed.written).toBeLessThan(landed.of);
      if (point.phase === "prune") {
        expect(landed.written).toBe(landed.of);
        expect(landed.pruned).toBeLessThan(landed.prunable);
      }

      p = spawn(`restart-${i + 1}`);
      await converged(ev, p, sha, Date.now(), 30_000);
      T("restart converged " + JSON.stringify(landed));
      const cluster = await calm(() => checkCluster(w.admin, change.revision));
      expect(cluster).toEqual({ lost: [], extra: [], inventoryProblems: [] });
      rev = change.revision;
    }

    p.child.kill("SIGTERM");
    expect((await p.exit).code).toBe(0);
    wrong.stop();
    expect(ev.lost).toBe(0);
    expect(wrong.found).toEqual([]);
    expect(
      await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "bystander" }),
    ).toMatchObject({
      data: { version: "v1" },
    });
    const audit = await calm(() => checkAudit(w.admin, setup.publicKey));
    expect(audit.status).toBe("intact");
    expect(audit.duplicates).toBe(0);
    // The first revision and each killed one were recorded as applied: once, or twice when the killed run
    // had already recorded its apply, never more.
    const counts = Object.values(audit.appliedByRevision);
    expect(counts).toHaveLength(points.length + 1);
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(1);
    for (const n of counts) expect(n).toBeLessThanOrEqual(2);
  }, 180_000);
});
