// A reconcile survives a flaky API server (5% 500s, 5% 429s with Retry-After, added latency, 30% 409s on
// writes under a resourceVersion) and a process killed with SIGKILL at random points of a 500-object
// change: the next run converges to the revision, nothing is duplicated, nothing outside the inventory is
// deleted.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterErrorCode } from "../../src/cluster/errors.js";
import { API_VERSION, type Application } from "../../src/config/types.js";
import { CrdStateStore } from "../../src/reconcile/cluster-config.js";
import { LeaderElector } from "../../src/reconcile/leader.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { OWNER_LABEL } from "../../src/reconcile/inventory.js";
import { cliEntry } from "../support/tools.js";
import { until } from "../support/until.js";
import { configMap, installCrds, startWorld, type World } from "./harness.js";

let w: World;

beforeAll(async () => {
  w = await startWorld();
});

afterAll(async () => {
  w.sb.setFaults({});
  await w.stop();
});

async function owned(app = "shop"): Promise<Map<string, Record<string, string>>> {
  const items = await w.admin.list("v1", "ConfigMap", {
    namespace: "shop",
    labelSelector: `${OWNER_LABEL}=gitward-system.${app}`,
  });
  return new Map(items.map((o) => [o.metadata.name, (o["data"] ?? {}) as Record<string, string>]));
}

function files(names: readonly string[], version: string, dir = "apps/shop"): Record<string, string> {
  const out: Record<string, string> = {};
  // Many objects per file keeps the repository small; the render reads multi-document files.
  for (let i = 0; i < names.length; i += 50) {
    out[`${dir}/batch-${i / 50}.yaml`] = names
      .slice(i, i + 50)
      .map((n) => configMap(n, { version, name: n }))
      .join("---\n");
  }
  return out;
}

describe("faults", () => {
  it("converges through 500s, 429s and latency", async () => {
    const names = Array.from({ length: 150 }, (_, i) => `fault-${i}`);
    await w.commit(files(names, "v1"));
    w.sb.setFaults({ errorRate: 0.05, throttleRate: 0.05, latencyMs: 5 });
    let r;
    try {
      r = await w.reconcile();
    } finally {
      w.sb.setFaults({});
    }
    expect(r.result).toBe("applied");
    const live = await owned();
    for (const n of names) expect(live.get(n)).toEqual({ version: "v1", name: n });
    expect((await w.reconcile()).result).toBe("unchanged");
  });
});

describe("conflicts", () => {
  it("converges through 409s on top of 500s, 429s and latency, and a leader keeps its Lease", async () => {
    // The operator's way: status in the Application's status subresource, a Lease renewed meanwhile.
    await installCrds(w.admin);
    // Its own Application (and ownership label), so the other tests' objects and inventory stay apart.
    const base = w.app();
    const app: Application = {
      ...base,
      metadata: { name: "conflicts", namespace: "gitward-system" },
      spec: { ...base.spec, source: { ...base.spec.source, path: "apps/conflicts" } },
    };
    const appRef = {
      apiVersion: API_VERSION,
      kind: "Application",
      namespace: "gitward-system",
      name: "conflicts",
    };
    await w.admin.apply(app);
    const names = Array.from({ length: 100 }, (_, i) => `conflict-${i}`);
    const revision = await w.commit(files(names, "v1", "apps/conflicts"));
    const state = new CrdStateStore(w.operator, "gitward-system");

    const logs: { level: string; message: string; code: unknown }[] = [];
    let stoppedLeading = 0;
    const leader = new LeaderElector({
      cluster: w.operator,
      namespace: "gitward-system",
      name: "gitward-conflicts",
      identity: "replica-a",
      // Long enough that a renewal slowed by a 429's Retry-After (1 s) or two never costs the lease.
      leaseDurationMs: 10_000,
      renewDeadlineMs: 6_000,
      retryPeriodMs: 200,
      log: (level, message, fields) => logs.push({ level, message, code: fields?.["code"] }),
    });
    leader.onStoppedLeading(() => stoppedLeading++);
    leader.start();
    try {
      expect(await leader.waitForLeadership()).toBe(true);
      w.sb.setFaults({ errorRate: 0.05, throttleRate: 0.05, latencyMs: 5, conflictRate: 0.3 });
      let first;
      let second;
      try {
        first = await w.reconcile(app, { state });
        second = await w.reconcile(app, { state });
        // None of the reconcile's own writes carries a resourceVersion (server-side apply, a merge patch
        // of the whole status, deletes under a uid), so it meets no 409; a write under one added without
        // a retry would fail this run. Lease renewals do carry one: some are answered 409, and the next
        // retry period tries again.
        await until(
          "a Lease renewal answered 409",
          () => logs.some((l) => l.code === ClusterErrorCode.Conflict),
          10_000,
        );
      } finally {
        w.sb.setFaults({});
      }
      expect(first.result).toBe("applied");
      expect(first.revision).toBe(revision);
      expect(second.result).toBe("unchanged");
      const live = await owned("conflicts");
      expect([...live.keys()].sort()).toEqual([...names].sort());
      for (const n of names) expect(live.get(n)).toEqual({ version: "v1", name: n });

      // The status the reconcile reported is the one in the Application, and the inventory is whole.
      const status = (await w.admin.get(appRef))?.["status"];
      expect(status).toEqual(second.status);
      expect(status).toMatchObject({ lastAppliedRevision: revision, lastAttemptedRevision: revision });
      expect(second.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
      const saved = await state.load({ namespace: "gitward-system", name: "conflicts" });
      expect(saved?.inventory.map((e) => e.name).sort()).toEqual([...names].sort());

      // Every conflicted renewal was retried in time: the lease was never lost, and is still ours.
      expect(stoppedLeading).toBe(0);
      expect(leader.isLeader).toBe(true);
      const lease = await w.admin.get({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: "gitward-system",
        name: "gitward-conflicts",
      });
      expect((lease?.["spec"] as { holderIdentity?: string }).holderIdentity).toBe("replica-a");
    } finally {
      await leader.stop();
    }
  });
});

describe("crash safety", () => {
  it(
    "SIGKILL at random points of a 500-object change, then one more run converges",
    { timeout: 180_000 },
    async () => {
      const config = path.join(w.dir, "gitward.yaml");
      await writeFile(config, [stringify(w.trust()), stringify(w.app())].join("---\n"));
      const kubeconfig = path.join(w.dir, "kubeconfig");
      await writeFile(
        kubeconfig,
        w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
        {
          mode: 0o600,
        },
      );
      const run = (i: number) =>
        spawn(process.execPath, [
          cliEntry,
          "reconcile",
          "--config",
          config,
          "--kubeconfig",
          kubeconfig,
          // A killed writer holds the audit log's lock until it goes stale; each run gets its own log here.
          "--audit-log",
          path.join(w.dir, `audit-${i}.jsonl`),
        ]);

      const exitOf = (child: ReturnType<typeof run>) =>
        new Promise<number | null>((resolve) => {
          child.on("exit", (c) => {
            resolve(c);
          });
        });

      // Revision 1: 500 objects, applied cleanly by the CLI; its wall time scales the kill points below.
      // Someone else's object sits in the same namespace.
      const v1 = Array.from({ length: 500 }, (_, i) => `obj-${i}`);
      await w.commit(files(v1, "v1"));
      const started = Date.now();
      expect(await exitOf(run(100))).toBe(0);
      const full = Date.now() - started;
      await w.admin.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "bystander", namespace: "shop" },
        data: {},
      });

      // Revision 2 changes all of them, drops 50 and adds 50.
      const v2 = [...v1.slice(50), ...Array.from({ length: 50 }, (_, i) => `new-${i}`)];
      await w.commit({
        ...Object.fromEntries(Object.keys(files(v1, "x")).map((f) => [f, null])),
        ...files(v2, "v2"),
      });

      // Ten runs, each killed at a random point between start-up and the end of a full run: during the
      // checks, the dry run, the write-ahead inventory, the apply or the prune.
      for (let i = 0; i < 10; i++) {
        const child = run(i);
        const exited = exitOf(child);
        await new Promise((r) => setTimeout(r, full * (0.3 + 0.55 * Math.random())));
        child.kill("SIGKILL");
        await exited;
      }

      const last = run(10);
      expect(await exitOf(last)).toBe(0);
      const live = await owned();
      expect([...live.keys()].sort()).toEqual([...v2].sort());
      for (const n of v2) expect(live.get(n)).toEqual({ version: "v2", name: n });
      expect(
        await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "bystander" }),
      ).toBeDefined();
      const state = await new ConfigMapStateStore(w.admin).load({
        namespace: "gitward-system",
        name: "shop",
      });
      const inventory = (state?.inventory ?? []).map((e) => e.name);
      expect(new Set(inventory).size).toBe(inventory.length);
      expect(inventory.sort()).toEqual([...v2].sort());
      expect((await w.reconcile()).result).toBe("unchanged");
    },
  );
});
