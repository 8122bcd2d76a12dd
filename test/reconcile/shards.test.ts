// The shard coordinator in-process against the sandbox, with short durations (lease 1.5 s): the fair share
// of two replicas, and the fail-closed guards: no shard is taken while a live replica announces another
// shard count or a --shards 1 leader holds gitward-operator, and shards are taken once that ends.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient } from "../../src/cluster/client.js";
import { microTime } from "../../src/reconcile/leader.js";
import {
  LEGACY_LEASE,
  REPLICA_LABEL,
  SHARDS_ANNOTATION,
  ShardCoordinator,
  type ShardOptions,
} from "../../src/reconcile/shards.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { until } from "../support/until.js";

const NS = "gitward-system";
const TIMINGS = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 } as const;
let sb: Sandbox;
let admin: ClusterClient;
const running: ShardCoordinator[] = [];

function coordinator(identity: string, extra: Partial<ShardOptions> = {}): ShardCoordinator {
  const c = new ShardCoordinator({
    cluster: admin,
    namespace: NS,
    identity,
    shards: 4,
    ...TIMINGS,
    drain: () => Promise.resolve(),
    ...extra,
  });
  running.push(c);
  c.start();
  return c;
}

const lease = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name, namespace: NS, ...meta },
  spec: { leaseDurationSeconds: 2, renewTime: microTime(Date.now()), ...spec },
});

const ref = (name: string) => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: NS, name });

beforeAll(async () => {
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
  for (const l of await admin.list("coordination.k8s.io/v1", "Lease", { namespace: NS }))
    await admin.delete(ref(l.metadata.name));
});

afterAll(async () => {
  admin.close();
  await sb.stop();
});

describe("shards", () => {
  it("shares four shards two and two, and the survivor takes all after a graceful stop", async () => {
    const a = coordinator("replica-a");
    const b = coordinator("replica-b");
    await until("two each", () => a.view().held.length === 2 && b.view().held.length === 2, 10_000);
    expect([...a.view().held, ...b.view().held].sort()).toEqual([0, 1, 2, 3]);
    for (const s of a.view().held) expect(b.owns(s)).toBe(false);
    await b.stop();
    await until("all four on a", () => a.view().held.length === 4, 10_000);
  });

  it("takes no shard while a live replica runs another shard count, and takes them once it is gone", async () => {
    await admin.create(
      lease(
        "gitward-replica-other",
        { holderIdentity: "other" },
        { labels: { [REPLICA_LABEL]: "true" }, annotations: { [SHARDS_ANNOTATION]: "8" } },
      ),
    );
    const logs: string[] = [];
    const a = coordinator("replica-a", { log: (_level, message) => logs.push(message) });
    // Keep the other replica's heartbeat alive for two lease durations: nothing is taken meanwhile.
    const end = Date.now() + 2 * TIMINGS.leaseDurationMs;
    while (Date.now() < end) {
      await admin.modify(ref("gitward-replica-other"), (l) => ({
        ...l,
        spec: { ...(l["spec"] as object), renewTime: microTime(Date.now()) },
      }));
      expect(a.view().held).toEqual([]);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(a.view().blocked).toMatch(/disagree on the shard count.*other runs --shards 8/);
    expect(logs.some((m) => m.includes("taking no shard"))).toBe(true);
    // It stops renewing: after a lease duration it is no longer live, and every shard is taken.
    await until("all four taken", () => a.view().held.length === 4, 10_000);
  });

  it("takes no shard while a --shards 1 leader holds gitward-operator, and takes them once it is released", async () => {
    await admin.create(lease(LEGACY_LEASE, { holderIdentity: "old-leader" }));
    const a = coordinator("replica-a");
    const end = Date.now() + TIMINGS.leaseDurationMs;
    while (Date.now() < end) {
      await admin.modify(ref(LEGACY_LEASE), (l) => ({
        ...l,
        spec: { ...(l["spec"] as object), renewTime: microTime(Date.now()) },
      }));
      expect(a.view().held).toEqual([]);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(a.view().blocked).toMatch(/gitward-operator is held by old-leader/);
    await admin.modify(ref(LEGACY_LEASE), (l) => ({
      ...l,
      spec: { ...(l["spec"] as object), holderIdentity: "" },
    }));
    await until("all four taken", () => a.view().held.length === 4, 10_000);
  });
});
