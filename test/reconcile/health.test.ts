// Health of StatefulSets, DaemonSets and Jobs through a full reconcile: Healthy=True once the sandbox's
// controllers report them ready, Healthy=False naming the object when they never do (within the health
// timeout), the Kubernetes Events that report both, and the readiness rules of `kubectl rollout status`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/cluster/client.js";
import { failedForGood, notReady } from "../../src/reconcile/apply.js";
import { configMap, daemonSet, job, startWorld, statefulSet, type World } from "./harness.js";

const HEALTH_TIMEOUT_MS = 1_500;
let w: World;

beforeAll(async () => {
  w = await startWorld({ readiness: { delayMs: 300 } });
});

afterAll(async () => {
  await w.stop();
});

const STATE = { apiVersion: "v1", kind: "ConfigMap", namespace: "gitward-system", name: "gitward-app-shop" };

async function events(reason: string): Promise<KubeObject[]> {
  const all = await w.admin.list("v1", "Event", { namespace: "gitward-system" });
  return all.filter((e) => e["reason"] === reason);
}

const KINDS = [
  { kind: "StatefulSet", apiVersion: "apps/v1", make: (name: string) => statefulSet(name, 2) },
  { kind: "DaemonSet", apiVersion: "apps/v1", make: (name: string) => daemonSet(name) },
  { kind: "Job", apiVersion: "batch/v1", make: (name: string) => job(name) },
] as const;

describe.each(KINDS)("a $kind", ({ kind, apiVersion, make }) => {
  const prefix = kind.toLowerCase();

  it("is Healthy=True once the sandbox reports it ready", async () => {
    w.sb.setReadiness({ delayMs: 300 });
    // The file replaces the last kind's objects, which prune removes.
    await w.commit({ "apps/shop/workload.yaml": make(`${prefix}-ready`) });
    const r = await w.reconcile(undefined, { healthTimeoutMs: 10_000 });
    expect(r.result).toBe("applied");
    expect(r.applied).toContain(`${kind} shop/${prefix}-ready`);
    expect(r.status.conditions?.find((c) => c.type === "Healthy")).toMatchObject({
      status: "True",
      reason: "Healthy",
      message: "1 workload(s) ready",
    });
    const live = await w.admin.get({ apiVersion, kind, namespace: "shop", name: `${prefix}-ready` });
    expect(live !== undefined && notReady(live)).toBeUndefined();
  });

  it("that never becomes ready is Healthy=False naming it, within the health timeout", async () => {
    w.sb.setReadiness("never");
    await w.commit({
      "apps/shop/workload.yaml": [make(`${prefix}-ready`), make(`${prefix}-stuck`)].join("---\n"),
    });
    const started = Date.now();
    const r = await w.reconcile(undefined, { healthTimeoutMs: HEALTH_TIMEOUT_MS });
    const took = Date.now() - started;
    expect(r.result).toBe("failed");
    expect([r.step, r.reason]).toEqual(["health", "HEALTH_TIMEOUT"]);
    // Only the new one: the one that was ready still is.
    expect(r.details).toHaveLength(1);
    expect(r.details[0]).toMatch(new RegExp(`^${kind} shop/${prefix}-stuck: `));
    const healthy = r.status.conditions?.find((c) => c.type === "Healthy");
    expect(healthy).toMatchObject({ status: "False", reason: "HEALTH_TIMEOUT" });
    expect(healthy?.message).toContain(`${kind} shop/${prefix}-stuck`);
    // Applied all the same: the revision runs, it is just not healthy.
    expect(r.status.lastAppliedRevision).toBe(r.revision);
    // The wait gave up at its timeout, not at the harness's default of 10 s.
    expect(took).toBeGreaterThanOrEqual(HEALTH_TIMEOUT_MS);
    expect(took).toBeLessThan(HEALTH_TIMEOUT_MS + 5_000);

    const warned = (await events("HEALTH_TIMEOUT")).filter((e) =>
      String(e["message"]).includes(`${kind} shop/${prefix}-stuck`),
    );
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ type: "Warning", involvedObject: STATE });
  });
});

describe("a workload that has failed for good", () => {
  it("a failed Job ends the wait at once with HEALTH_FAILED, not at the timeout", async () => {
    w.sb.setReadiness("never");
    await w.commit({ "apps/shop/workload.yaml": job("job-doomed") });
    const ref = { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "job-doomed" };
    const started = Date.now();
    const running = w.reconcile(undefined, { healthTimeoutMs: 30_000 });
    // The Job controller's verdict, as it writes it once the pods used up the backoff limit.
    for (let i = 0; (await w.admin.get(ref)) === undefined; i++) {
      if (i > 200) throw new Error("the Job was never created");
      await new Promise((r) => setTimeout(r, 25));
    }
    await w.admin.mergePatch(
      ref,
      {
        status: {
          failed: 3,
          conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }],
        },
      },
      { subresource: "status" },
    );
    const r = await running;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect([r.result, r.step, r.reason]).toEqual(["failed", "health", "HEALTH_FAILED"]);
    expect(r.details).toEqual(["Job shop/job-doomed: the job failed (BackoffLimitExceeded)"]);
    expect(r.status.conditions?.find((c) => c.type === "Healthy")).toMatchObject({
      status: "False",
      reason: "HEALTH_FAILED",
    });
  });
});

describe("failed for good", () => {
  const deployment = (generation: number, observedGeneration: number): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop", generation },
    spec: { replicas: 1 },
    status: {
      observedGeneration,
      conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
    },
  });

  it("a Deployment past its deadline is, but only once the controller has seen the current spec", () => {
    expect(failedForGood(deployment(2, 2))).toBe(true);
    // The verdict of the previous revision, still there before the controller looked at the fix.
    expect(failedForGood(deployment(3, 2))).toBe(false);
    expect(failedForGood({ ...deployment(2, 2), status: { observedGeneration: 2 } })).toBe(false);
  });
});

describe("a refused revision", () => {
  it("is reported by a Warning Event on the application's state object", async () => {
    w.sb.setReadiness({ delayMs: 0 });
    const good = await w.commit({ "apps/shop/workload.yaml": configMap("settings", { a: "1" }) });
    expect((await w.reconcile()).result).toBe("applied");
    const bad = await w.commit({ "apps/shop/workload.yaml": configMap("settings", { a: "2" }) }, null);
    const r = await w.reconcile();
    expect([r.result, r.reason]).toEqual(["refused", "UNSIGNED"]);
    const refused = (await events("UNSIGNED")).filter((e) =>
      String(e["message"]).includes(`revision ${bad.slice(0, 12)}`),
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      type: "Warning",
      reason: "UNSIGNED",
      involvedObject: STATE,
      source: { component: "gitward" },
      count: 1,
    });
    expect(refused[0]?.["message"]).toContain(r.message);
    expect(r.auditRecord).toBeDefined();
    expect(refused[0]?.["message"]).toContain(`(audit record ${r.auditRecord ?? ""})`);
    await w.repo.setBranch(good);
  });
});

describe("readiness rules, as `kubectl rollout status` judges", () => {
  const obj = (kind: string, spec: object, status: object | undefined, generation = 2): KubeObject => ({
    apiVersion: kind === "Job" ? "batch/v1" : "apps/v1",
    kind,
    metadata: { name: "x", namespace: "shop", generation },
    spec,
    ...(status === undefined ? {} : { status }),
  });

  it("a Deployment: the spec observed, every replica updated and available, no old one left", () => {
    const spec = { replicas: 3 };
    const done = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    expect(notReady(obj("Deployment", spec, done))).toBeUndefined();
    expect(notReady(obj("Deployment", spec, undefined))).toMatch(/not yet observed/);
    expect(notReady(obj("Deployment", spec, { ...done, observedGeneration: 1 }))).toMatch(/observed/);
    expect(notReady(obj("Deployment", spec, { ...done, updatedReplicas: 2 }))).toBe("2/3 replicas updated");
    expect(notReady(obj("Deployment", spec, { ...done, replicas: 4 }))).toBe(
      "1 old replica(s) pending termination",
    );
    expect(notReady(obj("Deployment", spec, { ...done, availableReplicas: 2 }))).toBe(
      "2/3 updated replicas available",
    );
    const deadline = {
      type: "Progressing",
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: 'ReplicaSet "x-1" has timed out progressing.',
    };
    expect(notReady(obj("Deployment", spec, { ...done, updatedReplicas: 1, conditions: [deadline] }))).toBe(
      'exceeded its progress deadline: ReplicaSet "x-1" has timed out progressing.',
    );
  });

  it("a StatefulSet: every replica ready, and updated down to the partition; OnDelete waits for none", () => {
    const done = { observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 3 };
    expect(notReady(obj("StatefulSet", { replicas: 3 }, done))).toBeUndefined();
    expect(notReady(obj("StatefulSet", { replicas: 3 }, { ...done, observedGeneration: 0 }))).toMatch(
      /observed/,
    );
    expect(notReady(obj("StatefulSet", { replicas: 3 }, { ...done, readyReplicas: 1 }))).toBe(
      "1/3 replicas ready",
    );
    expect(notReady(obj("StatefulSet", { replicas: 3 }, { ...done, updatedReplicas: 2 }))).toBe(
      "2/3 replicas updated",
    );
    // A partition of 2 updates only the pod with ordinal 2: one updated pod is the whole rollout.
    const partitioned = {
      replicas: 3,
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
    };
    expect(notReady(obj("StatefulSet", partitioned, { ...done, updatedReplicas: 1 }))).toBeUndefined();
    expect(notReady(obj("StatefulSet", partitioned, { ...done, updatedReplicas: 0 }))).toBe(
      "0/1 replicas updated",
    );
    const onDelete = { replicas: 3, updateStrategy: { type: "OnDelete" } };
    expect(notReady(obj("StatefulSet", onDelete, { ...done, updatedReplicas: 0 }))).toBeUndefined();
    expect(notReady(obj("StatefulSet", onDelete, { ...done, readyReplicas: 2 }))).toBe("2/3 replicas ready");
  });

  it("a DaemonSet: every scheduled pod updated and available; none to schedule is done", () => {
    const done = {
      observedGeneration: 2,
      desiredNumberScheduled: 4,
      updatedNumberScheduled: 4,
      numberReady: 4,
      numberAvailable: 4,
    };
    expect(notReady(obj("DaemonSet", {}, done))).toBeUndefined();
    expect(notReady(obj("DaemonSet", {}, undefined))).toMatch(/observed/);
    expect(notReady(obj("DaemonSet", {}, { ...done, updatedNumberScheduled: 3 }))).toBe("3/4 pods updated");
    // Ready is not yet available (minReadySeconds): kubectl waits for available.
    expect(notReady(obj("DaemonSet", {}, { ...done, numberAvailable: 3 }))).toBe("3/4 pods available");
    expect(
      notReady(obj("DaemonSet", {}, { observedGeneration: 2, desiredNumberScheduled: 0, numberReady: 0 })),
    ).toBeUndefined();
    const onDelete = { updateStrategy: { type: "OnDelete" } };
    expect(notReady(obj("DaemonSet", onDelete, { ...done, updatedNumberScheduled: 0 }))).toBeUndefined();
  });

  it("a Job: Complete; Failed and suspended say so", () => {
    const complete = { type: "Complete", status: "True" };
    const failed = { type: "Failed", status: "True", reason: "BackoffLimitExceeded" };
    expect(notReady(obj("Job", {}, { succeeded: 1, conditions: [complete] }))).toBeUndefined();
    expect(notReady(obj("Job", {}, { failed: 3, conditions: [failed] }))).toBe(
      "the job failed (BackoffLimitExceeded)",
    );
    expect(notReady(obj("Job", { suspend: true }, {}))).toBe("the job is suspended");
    expect(notReady(obj("Job", { completions: 3 }, { succeeded: 1 }))).toBe(
      "the job has not completed (1/3 pods succeeded)",
    );
    // Malformed status from the cluster counts as absent, never as ready.
    expect(notReady(obj("Job", {}, { conditions: "Complete" }))).toMatch(/not completed/);
    expect(notReady(obj("StatefulSet", { replicas: 1 }, { observedGeneration: "2" }))).toMatch(/observed/);
  });
});
