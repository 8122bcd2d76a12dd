// Leader election over a real Lease in the sandbox API server, with short durations (lease 1.5 s, renew
// deadline 1 s, retry 200 ms): one leader at a time, takeover after a crash only once the lease has run
// out, at once after a release, a fence that drops when renewals fail, and races settled by 409s.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../../src/cluster/errors.js";
import { LeaderElector, microTime, type LeaderElectionOptions } from "../../src/reconcile/leader.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { until as waitUntil } from "../support/until.js";

const NS = "gitward-system";
const LEASE_MS = 1500;
const DEADLINE_MS = 1000;
const RETRY_MS = 200;
/** Room for request latency and timer lateness on a loaded CI machine. */
const SLACK_MS = 100;

let sb: Sandbox;
let admin: ClusterClient;
const clients: ClusterClient[] = [];
const electors: LeaderElector[] = [];
const sandboxes: Sandbox[] = [];

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

function clientFor(box: Sandbox = sb): ClusterClient {
  const c = ClusterClient.fromText(box.kubeconfig);
  clients.push(c);
  return c;
}

function elector(
  identity: string,
  lease: string,
  extra: Partial<LeaderElectionOptions> & { logs?: LogLine[] } = {},
): LeaderElector {
  const { logs, ...rest } = extra;
  const e = new LeaderElector({
    cluster: rest.cluster ?? clientFor(),
    namespace: NS,
    name: lease,
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    log: (level, message, fields) => logs?.push({ level, message, fields }),
    ...rest,
  });
  electors.push(e);
  return e;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const until = (what: string, cond: () => boolean, ms = 5_000) => waitUntil(what, cond, ms);

async function leaseSpec(name: string, client: ClusterClient = admin): Promise<Record<string, unknown>> {
  const lease = await client.get({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: NS,
    name,
  });
  expect(lease).toBeDefined();
  return lease?.["spec"] as Record<string, unknown>;
}

async function namespaceIn(client: ClusterClient): Promise<void> {
  await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
}

/** Counts 409s the elector's client got from create and replace (the lost races it had to handle). */
function countConflicts(client: ClusterClient): { count: number } {
  const counter = { count: 0 };
  const wrap = <A extends unknown[]>(
    fn: (...args: A) => Promise<KubeObject>,
  ): ((...args: A) => Promise<KubeObject>) => {
    return async (...args: A) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof ClusterError && err.code === ClusterErrorCode.Conflict) counter.count++;
        throw err;
      }
    };
  };
  client.create = wrap(client.create.bind(client));
  client.replace = wrap(client.replace.bind(client));
  return counter;
}

/** Leaders among `es`, sampled every 50 ms for `ms`; returns the number of leaders in each sample. */
async function sampleLeaders(es: readonly LeaderElector[], ms: number): Promise<number[]> {
  const counts: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    counts.push(es.filter((e) => e.isLeader).length);
    await sleep(50);
  }
  return counts;
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

beforeAll(async () => {
  sb = await startSandbox();
  admin = clientFor();
  await namespaceIn(admin);
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop({ release: false })));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const box of sandboxes) await box.stop();
  await sb.stop();
});

describe("one leader at a time", () => {
  it("elects exactly one of two replicas, and the Lease names it", async () => {
    const a = elector("replica-a", "two");
    const b = elector("replica-b", "two");
    a.start();
    b.start();
    const first = await Promise.race([
      a.waitForLeadership().then(() => a),
      b.waitForLeadership().then(() => b),
    ]);
    const counts = await sampleLeaders([a, b], 3_000);
    // Never two, and the leader renews through the whole window (never none either).
    expect(Math.max(...counts)).toBe(1);
    expect(Math.min(...counts)).toBe(1);
    expect(first.isLeader).toBe(true);
    const leaderId = first === a ? "replica-a" : "replica-b";
    const follower = first === a ? b : a;
    expect(follower.isLeader).toBe(false);
    expect(follower.observedHolder).toBe(leaderId);
    expect(first.observedHolder).toBe(leaderId);

    const spec = await leaseSpec("two");
    expect(spec).toMatchObject({ holderIdentity: leaderId, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(spec["renewTime"]).toMatch(MICRO_TIME);
    expect(spec["acquireTime"]).toMatch(MICRO_TIME);
    // Renewed within the last couple of periods.
    const renewedAgo = Date.now() - Date.parse(spec["renewTime"] as string);
    expect(renewedAgo).toBeLessThan(2 * RETRY_MS + SLACK_MS);
  });

  it("settles three replicas racing for a new Lease and for a vacant one with 409s", async () => {
    for (const [lease, prepare] of [
      ["race-new", (): Promise<void> => Promise.resolve()],
      [
        "race-vacant",
        async (): Promise<void> => {
          await admin.create({
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: "race-vacant", namespace: NS },
            spec: { holderIdentity: "", leaseDurationSeconds: 1, leaseTransitions: 3 },
          });
        },
      ],
    ] as const) {
      await prepare();
      const logs: LogLine[] = [];
      const conflicts = [0, 1, 2].map(() => ({ count: 0 }));
      const es = [0, 1, 2].map((i) => {
        const cluster = clientFor();
        conflicts[i] = countConflicts(cluster);
        return elector(`racer-${i}`, lease, { cluster, logs });
      });
      for (const e of es) e.start();
      await Promise.race(es.map((e) => e.waitForLeadership()));
      const counts = await sampleLeaders(es, 1_000);
      expect(Math.max(...counts)).toBe(1);
      const winner = es.findIndex((e) => e.isLeader);
      expect(winner).toBeGreaterThanOrEqual(0);
      for (const e of es) expect(e.observedHolder).toBe(`racer-${winner}`);
      // A loser that read before the winner wrote lost its race on the server with a 409 (one that read
      // after simply followed); no 409 was reported as a failure.
      const lost = conflicts.reduce((n, c) => n + c.count, 0);
      expect(lost).toBeGreaterThanOrEqual(1);
      expect(lost).toBeLessThanOrEqual(2);
      expect(logs.filter((l) => l.level === "warn")).toEqual([]);
      const spec = await leaseSpec(lease);
      expect(spec["holderIdentity"]).toBe(`racer-${winner}`);
      expect(spec["leaseTransitions"]).toBe(lease === "race-new" ? 0 : 4);
      await Promise.all(es.map((e) => e.stop()));
    }
  });
});

describe("takeover", () => {
  async function leaderAndFollower(
    lease: string,
  ): Promise<{ a: LeaderElector; b: LeaderElector; aClient: ClusterClient; aStopped: () => number }> {
    const aClient = clientFor();
    const a = elector("replica-a", lease, { cluster: aClient });
    let stopped = 0;
    a.onStoppedLeading(() => stopped++);
    a.start();
    expect(await a.waitForLeadership()).toBe(true);
    const b = elector("replica-b", lease);
    b.start();
    // Let b observe a renewing a few times.
    await sleep(3 * RETRY_MS);
    expect(b.observedHolder).toBe("replica-a");
    expect(b.isLeader).toBe(false);
    return { a, b, aClient, aStopped: () => stopped };
  }

  it("after a crash (no release), waits out the lease duration and no longer", async () => {
    const { a, b, aClient, aStopped } = await leaderAndFollower("crash");
    const t0 = Date.now();
    await a.stop({ release: false });
    aClient.close();
    expect(a.isLeader).toBe(false);
    expect(aStopped()).toBe(1);
    expect(await b.waitForLeadership()).toBe(true);
    const took = Date.now() - t0;
    // a's last renewal was at most a period before the crash, and b saw it at most a period after.
    expect(took).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - SLACK_MS / 2);
    expect(took).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS + SLACK_MS);
    const spec = await leaseSpec("crash");
    expect(spec).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 1 });
    expect(aStopped()).toBe(1);
  });

  it("after a release, takes over within two retry periods", async () => {
    const { a, b, aStopped } = await leaderAndFollower("release");
    const t0 = Date.now();
    await a.stop();
    // The fence is down before the lease is handed over.
    expect(a.isLeader).toBe(false);
    expect(aStopped()).toBe(1);
    expect(await b.waitForLeadership()).toBe(true);
    expect(Date.now() - t0).toBeLessThanOrEqual(2 * RETRY_MS + SLACK_MS);
    expect(await a.waitForLeadership()).toBe(false);
    const spec = await leaseSpec("release");
    expect(spec).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 1, leaseDurationSeconds: 2 });
  });

  it("counts leaseTransitions on a change of holder only, and keeps acquireTime while renewing", async () => {
    const a = elector("replica-a", "transitions");
    a.start();
    await a.waitForLeadership();
    const first = await leaseSpec("transitions");
    await sleep(3 * RETRY_MS);
    const renewed = await leaseSpec("transitions");
    expect(renewed["leaseTransitions"]).toBe(0);
    expect(renewed["acquireTime"]).toBe(first["acquireTime"]);
    expect(renewed["renewTime"]).not.toBe(first["renewTime"]);

    const b = elector("replica-b", "transitions");
    b.start();
    await sleep(RETRY_MS);
    await a.stop();
    await b.waitForLeadership();
    const handedOver = await leaseSpec("transitions");
    expect(handedOver["leaseTransitions"]).toBe(1);
    expect(handedOver["acquireTime"]).not.toBe(first["acquireTime"]);

    const again = elector("replica-a", "transitions");
    again.start();
    await sleep(RETRY_MS);
    await b.stop();
    await again.waitForLeadership();
    expect((await leaseSpec("transitions"))["leaseTransitions"]).toBe(2);
  });

  it("judges expiry from when it saw the record change, not the holder's renewTime (clock skew)", async () => {
    // Holders whose clocks are far ahead and far behind; neither renews again.
    for (const [name, renewTime] of [
      ["skew-ahead", "2999-01-01T00:00:00.000000Z"],
      ["skew-behind", "2000-01-01T00:00:00.000000Z"],
    ] as const) {
      await admin.create({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: NS },
        spec: { holderIdentity: "ghost", leaseDurationSeconds: 2, renewTime, leaseTransitions: 4 },
      });
    }
    const ahead = elector("replica-b", "skew-ahead");
    const behind = elector("replica-b", "skew-behind");
    const t0 = Date.now();
    ahead.start();
    behind.start();
    const [tookAhead, tookBehind] = await Promise.all(
      [ahead, behind].map(async (e) => {
        expect(await e.waitForLeadership()).toBe(true);
        return Date.now() - t0;
      }),
    );
    for (const took of [tookAhead, tookBehind]) {
      expect(took).toBeGreaterThanOrEqual(LEASE_MS);
      expect(took).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS + SLACK_MS);
    }
    expect(await leaseSpec("skew-ahead")).toMatchObject({ holderIdentity: "replica-b", leaseTransitions: 5 });
  });
});

describe("losing the lease", () => {
  async function ownSandbox(): Promise<{ box: Sandbox; client: ClusterClient }> {
    const box = await startSandbox();
    sandboxes.push(box);
    // The default client: it retries 500s and refused connections for longer than the renew deadline,
    // and the deadline must not wait for it.
    const client = clientFor(box);
    await namespaceIn(client);
    return { box, client };
  }

  for (const how of ["500s", "a stopped API server"] as const) {
    it(`drops the fence within the renew deadline when renewals fail (${how})`, async () => {
      const { box, client } = await ownSandbox();
      const logs: LogLine[] = [];
      const a = elector("replica-a", "fence", { cluster: client, logs });
      let stoppedAt: number | undefined;
      let started = 0;
      a.onStartedLeading(() => started++);
      a.onStoppedLeading(() => {
        stoppedAt = Date.now();
      });
      a.start();
      await a.waitForLeadership();
      await sleep(2 * RETRY_MS);
      expect(a.isLeader).toBe(true);

      const t0 = Date.now();
      if (how === "500s") box.setFaults({ errorRate: 1 });
      else await box.stop();
      await until("isLeader to turn false", () => !a.isLeader, 2 * DEADLINE_MS);
      const dropped = Date.now() - t0;
      expect(dropped).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS / 2);
      await until("onStoppedLeading", () => stoppedAt !== undefined, 2 * DEADLINE_MS);
      expect(stoppedAt! - t0).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
      expect(logs.some((l) => l.level === "warn" && l.message.includes("stopped leading"))).toBe(true);
      // Credentials never reach a log line.
      expect(JSON.stringify(logs)).not.toContain(box.adminToken);

      if (how === "500s") {
        // Back to acquiring: once the server answers, the lease (still ours) is taken again.
        box.setFaults({});
        await until("leadership again", () => a.isLeader, 15_000);
        expect(started).toBe(2);
        expect(await leaseSpec("fence", client)).toMatchObject({
          holderIdentity: "replica-a",
          leaseTransitions: 0,
        });
      }
      await a.stop({ release: false });
    });
  }

  it("steps down at once when the Lease names another holder", async () => {
    const logs: LogLine[] = [];
    const a = elector("replica-a", "usurped", { logs });
    let stopped = 0;
    a.onStoppedLeading(() => stopped++);
    a.start();
    await a.waitForLeadership();
    await admin.modify(
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: NS, name: "usurped" },
      (lease) => ({
        ...lease,
        spec: { ...(lease["spec"] as object), holderIdentity: "intruder", renewTime: microTime(Date.now()) },
      }),
    );
    await until("isLeader to turn false", () => !a.isLeader, 2 * RETRY_MS + SLACK_MS);
    expect(stopped).toBe(1);
    expect(a.observedHolder).toBe("intruder");
    // The new holder keeps its lease for a whole lease duration from when a saw it.
    await sleep(3 * RETRY_MS);
    expect(a.isLeader).toBe(false);
    expect(stopped).toBe(1);
  });
});

describe("errors and lifecycle", () => {
  it("names a missing namespace, once, without credentials, and keeps trying", async () => {
    const logs: LogLine[] = [];
    const e = elector("replica-a", "lease", { namespace: "no-such-namespace", logs });
    e.start();
    await until("a warning", () => logs.some((l) => l.level === "warn"));
    await sleep(3 * RETRY_MS);
    const warnings = logs.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('namespace "no-such-namespace" does not exist');
    expect(warnings[0]?.fields).toMatchObject({ lease: "no-such-namespace/lease", code: "NOT_FOUND" });
    expect(JSON.stringify(logs)).not.toContain(sb.adminToken);
    expect(e.isLeader).toBe(false);

    // It kept trying: once the namespace exists, it leads.
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "no-such-namespace" } });
    expect(await e.waitForLeadership()).toBe(true);
    expect(logs.some((l) => l.level === "info" && l.message.includes("reachable again"))).toBe(true);
  });

  it("resolves waitForLeadership false when stopped or aborted first", async () => {
    const a = elector("replica-a", "waiting");
    a.start();
    await a.waitForLeadership();
    const b = elector("replica-b", "waiting");
    b.start();
    const aborter = new AbortController();
    const aborted = b.waitForLeadership(aborter.signal);
    aborter.abort();
    expect(await aborted).toBe(false);
    const pending = b.waitForLeadership();
    await b.stop();
    expect(await pending).toBe(false);
    expect(await b.waitForLeadership()).toBe(false);
    expect(() => {
      b.start();
    }).toThrow(/cannot be started again/);
  });

  it("refuses timings where the leader could outlive its lease", () => {
    const base = { cluster: admin, namespace: NS, name: "x", identity: "i" };
    expect(
      () => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 200 }),
    ).toThrow(/leaseDurationMs \(1000\) must be greater than renewDeadlineMs \(1000\)/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(
      /renewDeadlineMs/,
    );
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity/);
    expect(microTime(Date.UTC(2026, 11, 1, 18, 0, 0, 123))).toBe("2026-12-01T18:00:00.123000Z");
  });
});
