// `gitward run --shards 6` as deployed: three processes of the built CLI against one sandbox, gitward's own
// least-privilege identity, ten Applications. The shards spread two per replica and every Application is
// reconciled by the holder of its shard; one replica killed with SIGKILL loses its Applications to the
// others within the lease duration; and across the whole run no Application is ever reconciled by two
// replicas at once (each replica logs when its work on an Application starts and ends).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Application } from "../../src/config/types.js";
import { shardOf } from "../../src/reconcile/shard-hash.js";
import { replicaLeaseName, shardLeaseName } from "../../src/reconcile/shards.js";
import { replicaArgs, spawnRun, type RunProc } from "../support/gitward-run.js";
import { until as waitUntil } from "../support/until.js";
import { configMap, startWorld, type World } from "./harness.js";

const LEASE_MS = 3_000;
const SHARDS = 6;
const APPS = 10;
const NS = "gitward-system";
let w: World;
let configFile: string;
let kubeconfig: string;
let apps: Application[];
const procs: RunProc[] = [];

function start(name: string): RunProc {
  const p = spawnRun(
    name,
    [
      ...replicaArgs(name, { configFile, kubeconfig, dir: w.dir, leaseMs: LEASE_MS }),
      "--shards",
      String(SHARDS),
      "--log-level",
      "debug",
    ],
    { HOME: w.dir },
  );
  procs.push(p);
  return p;
}

const until = <T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 45_000,
) =>
  waitUntil(what, f, ms, () =>
    JSON.stringify(
      procs.flatMap((p) =>
        p.lines
          .filter((l) => l.rec["level"] !== "debug")
          .slice(-25)
          .map((l) => `${p.name}: ${String(l.rec["msg"])}`),
      ),
    ),
  );

const appName = (i: number): string => `app-${String(i)}`;

/** When a log line was written, by the replica's clock (pino's ISO `time`); NaN when it has none. */
const timeOf = (rec: Record<string, unknown>): number =>
  typeof rec["time"] === "string" ? Date.parse(rec["time"]) : Number.NaN;

/** One replica's work on one Application, by the replica's own clock. */
interface Span {
  readonly replica: string;
  readonly application: string;
  readonly start: number;
  end: number;
}

/** The replica's spans, from its "reconcile started"/"reconcile finished" pairs; one still open ends at
 * `openEnd` (the moment the process was killed, or never). */
function spans(p: RunProc, openEnd: number): Span[] {
  const open = new Map<string, Span>();
  const out: Span[] = [];
  for (const { rec } of p.lines) {
    const application = rec["application"];
    const time = timeOf(rec);
    if (typeof application !== "string" || Number.isNaN(time)) continue;
    if (rec["msg"] === "reconcile started") {
      expect(open.has(application)).toBe(false);
      const s: Span = { replica: p.name, application, start: time, end: openEnd };
      open.set(application, s);
      out.push(s);
    } else if (rec["msg"] === "reconcile finished") {
      const s = open.get(application);
      expect(s).toBeDefined();
      if (s !== undefined) s.end = time;
      open.delete(application);
    }
  }
  return out;
}

const started = (p: RunProc, application: string, after = 0) =>
  p.lines.find(
    (l) =>
      l.rec["msg"] === "reconcile started" && l.rec["application"] === application && timeOf(l.rec) >= after,
  );

async function holders(): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < SHARDS; i++) {
    const lease = await w.admin.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: NS,
      name: shardLeaseName(i),
    });
    const h = (lease?.["spec"] as { holderIdentity?: string } | undefined)?.holderIdentity;
    out.push(h === undefined || h === "" ? undefined : h);
  }
  return out;
}

const count = (xs: readonly (string | undefined)[], who: string) => xs.filter((x) => x === who).length;

beforeAll(async () => {
  w = await startWorld();
  const files: Record<string, string> = {};
  for (let i = 0; i < APPS; i++)
    files[`apps/${appName(i)}/cm.yaml`] = configMap(`cm-${String(i)}`, { i: String(i) });
  await w.commit(files);
  apps = Array.from({ length: APPS }, (_, i) => {
    const a = w.app({ interval: "1h" });
    return {
      ...a,
      metadata: { ...a.metadata, name: appName(i) },
      spec: { ...a.spec, source: { ...a.spec.source, path: `apps/${appName(i)}` } },
    };
  });
  // The fixed names must put work on more than one shard for the test to mean anything.
  expect(
    new Set(apps.map((a) => shardOf({ namespace: NS, name: a.metadata.name }, SHARDS))).size,
  ).toBeGreaterThan(3);
  configFile = path.join(w.dir, "gitward.yaml");
  await writeFile(configFile, [w.trust(), ...apps].map((d) => stringify(d)).join("---\n"));
  kubeconfig = path.join(w.dir, "operator.kubeconfig");
  await writeFile(kubeconfig, w.sb.kubeconfigFor(w.sb.serviceAccountToken(NS, "gitward"), "gitward"), {
    mode: 0o600,
  });
});

afterAll(async () => {
  for (const p of procs) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exit));
  await w.stop();
});

describe("gitward run --shards: three replicas", () => {
  it("spreads the shards, moves a killed replica's Applications within the lease, never overlaps", async () => {
    const replicas = ["replica-a", "replica-b", "replica-c"].map(start);

    // Two shards each, and every Application applied.
    const settled = await until("two shards per replica", async () => {
      const h = await holders();
      return replicas.every((p) => count(h, p.name) === 2) ? h : undefined;
    });
    await until("every Application applied", async () => {
      for (let i = 0; i < APPS; i++) {
        const cm = await w.admin.get({
          apiVersion: "v1",
          kind: "ConfigMap",
          namespace: "shop",
          name: `cm-${String(i)}`,
        });
        if (cm === undefined) return undefined;
      }
      return true;
    });
    // Once settled, each Application is worked on by its shard's holder, and by no one else.
    const settledAt = Date.now();
    const owner = (a: Application, h: readonly (string | undefined)[]) =>
      h[shardOf({ namespace: NS, name: a.metadata.name }, SHARDS)];
    await until("a pass of every Application by its owner", () =>
      apps.every((a) => {
        const p = replicas.find((r) => r.name === owner(a, settled));
        return p !== undefined && started(p, `${NS}/${a.metadata.name}`) !== undefined;
      }),
    );
    for (const p of replicas) {
      for (const a of apps) {
        if (owner(a, settled) === p.name) continue;
        expect(
          started(p, `${NS}/${a.metadata.name}`, settledAt + 100),
          `${p.name} on ${a.metadata.name}`,
        ).toBeUndefined();
      }
    }
    // The heartbeat Leases announce the shard count.
    const beat = await w.admin.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: NS,
      name: replicaLeaseName("replica-a"),
    });
    expect(beat?.metadata.annotations?.["gitward.dev/shards"]).toBe(String(SHARDS));

    // The replica with the most Applications dies without a word.
    const appsOf = (p: RunProc) => apps.filter((a) => owner(a, settled) === p.name);
    const victim = [...replicas].sort((x, y) => appsOf(y).length - appsOf(x).length)[0]!;
    const survivors = replicas.filter((p) => p !== victim);
    const moved = appsOf(victim);
    expect(moved.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    await victim.exit;

    const took = await until(
      "the victim's Applications reconciled elsewhere",
      () => {
        const at: number[] = [];
        for (const a of moved) {
          const first = survivors
            .map((p) => started(p, `${NS}/${a.metadata.name}`, killedAt))
            .filter((l) => l !== undefined)
            .map((l) => timeOf(l.rec))
            .sort((x, y) => x - y)[0];
          if (first === undefined) return undefined;
          at.push(first - killedAt);
        }
        return Math.max(...at);
      },
      LEASE_MS * 4,
    );
    // Not before the Lease ran out (no early takeover), and within the lease plus a few retry periods.
    expect(took).toBeGreaterThanOrEqual(LEASE_MS - 500);
    expect(took).toBeLessThanOrEqual(LEASE_MS + 1_500);
    console.log(
      `shards: the killed replica's ${String(moved.length)} Applications moved after ${String(took)} ms`,
    );
    const after = await until("three shards per survivor", async () => {
      const h = await holders();
      return survivors.every((p) => count(h, p.name) === 3) ? h : undefined;
    });
    expect(count(after, victim.name)).toBe(0);

    // SIGTERM: graceful stop; the shards and the heartbeats are given back.
    for (const p of survivors) p.child.kill("SIGTERM");
    for (const p of survivors) expect(await p.exit).toBe(0);
    expect(await holders()).toEqual(new Array(SHARDS).fill(undefined));
    for (const p of survivors) {
      expect(
        await w.admin.get({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          namespace: NS,
          name: replicaLeaseName(p.name),
        }),
      ).toBeUndefined();
    }

    // Over the whole run, including the hand-backs while the replicas started: per Application, no two
    // replicas' spans overlap.
    const all = [...spans(victim, killedAt), ...survivors.flatMap((p) => spans(p, Number.POSITIVE_INFINITY))];
    expect(all.length).toBeGreaterThanOrEqual(APPS + moved.length);
    for (const a of apps) {
      const mine = all
        .filter((s) => s.application === `${NS}/${a.metadata.name}`)
        .sort((x, y) => x.start - y.start);
      expect(new Set(mine.map((s) => s.replica)).size, a.metadata.name).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < mine.length; i++) {
        const prev = mine[i - 1]!;
        const cur = mine[i]!;
        expect(
          cur.start,
          `${a.metadata.name}: ${cur.replica} started before ${prev.replica} ended`,
        ).toBeGreaterThanOrEqual(prev.end);
      }
    }
  }, 120_000);
});
