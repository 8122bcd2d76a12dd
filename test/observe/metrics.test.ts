import { describe, expect, it } from "vitest";
import { MAX_REASONS_PER_APPLICATION, OperatorMetrics } from "../../src/observe/metrics.js";
import { find, parseExposition } from "./exposition.js";

const SHOP = "gitward-system/shop";
const BLOG = "gitward-system/blog";
const NOW = new Date("2026-11-22T22:00:00Z");

describe("OperatorMetrics", () => {
  it("exports every series as Prometheus text, with names, types and labels", async () => {
    const m = new OperatorMetrics();
    m.observeReconcile({ application: SHOP, result: "applied", seconds: 1.5, objectsManaged: 12, now: NOW });
    m.observeReconcile({ application: SHOP, result: "unchanged", seconds: 0.02, now: NOW });
    m.observeReconcile({ application: SHOP, result: "refused", seconds: 0.3, reason: "UNSIGNED" });
    m.observeReconcile({ application: SHOP, result: "failed", seconds: 4 });
    m.driftEvent(SHOP, "detected");
    m.driftEvent(SHOP, "reverted");
    m.setLeader(true);

    const exp = parseExposition(await m.text());
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(exp.types.get("gitward_reconcile_duration_seconds")).toBe("histogram");
    expect(exp.types.get("gitward_revisions_applied_total")).toBe("counter");
    expect(exp.types.get("gitward_revisions_refused_total")).toBe("counter");
    expect(exp.types.get("gitward_drift_events_total")).toBe("counter");
    expect(exp.types.get("gitward_last_successful_reconcile_timestamp_seconds")).toBe("gauge");
    expect(exp.types.get("gitward_objects_managed")).toBe("gauge");
    expect(exp.types.get("gitward_leader")).toBe("gauge");

    const count = (result: string) =>
      find(exp, "gitward_reconcile_duration_seconds_count", { application: SHOP, result })[0]?.value;
    expect([count("applied"), count("unchanged"), count("refused"), count("failed")]).toEqual([1, 1, 1, 1]);
    const buckets = find(exp, "gitward_reconcile_duration_seconds_bucket", { result: "applied" });
    expect(buckets.map((b) => b.labels["le"])).toEqual([
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "30",
      "60",
      "120",
      "300",
      "+Inf",
    ]);
    expect(
      find(exp, "gitward_reconcile_duration_seconds_bucket", { result: "applied", le: "1" })[0]?.value,
    ).toBe(0);
    expect(
      find(exp, "gitward_reconcile_duration_seconds_bucket", { result: "applied", le: "2.5" })[0]?.value,
    ).toBe(1);

    expect(find(exp, "gitward_revisions_applied_total", { application: SHOP })[0]?.value).toBe(1);
    expect(
      find(exp, "gitward_revisions_refused_total", { application: SHOP, reason: "UNSIGNED" })[0]?.value,
    ).toBe(1);
    // A failure without a reason still counts, under UNKNOWN.
    expect(
      find(exp, "gitward_revisions_refused_total", { application: SHOP, reason: "UNKNOWN" })[0]?.value,
    ).toBe(1);
    expect(find(exp, "gitward_drift_events_total", { application: SHOP, action: "detected" })[0]?.value).toBe(
      1,
    );
    expect(find(exp, "gitward_drift_events_total", { application: SHOP, action: "reverted" })[0]?.value).toBe(
      1,
    );
    expect(
      find(exp, "gitward_last_successful_reconcile_timestamp_seconds", { application: SHOP })[0]?.value,
    ).toBe(NOW.getTime() / 1000);
    expect(find(exp, "gitward_objects_managed", { application: SHOP })[0]?.value).toBe(12);
    expect(find(exp, "gitward_leader")[0]?.value).toBe(1);
    // The default process metrics are on the operator's own registry.
    expect(find(exp, "process_resident_memory_bytes")).toHaveLength(1);
  });

  it("reports not-leader until told otherwise, and objects managed when set directly", async () => {
    const m = new OperatorMetrics();
    let exp = parseExposition(await m.text());
    expect(find(exp, "gitward_leader")[0]?.value).toBe(0);
    m.setLeader(true);
    m.setLeader(false);
    m.setObjectsManaged(BLOG, 3);
    exp = parseExposition(await m.text());
    expect(find(exp, "gitward_leader")[0]?.value).toBe(0);
    expect(find(exp, "gitward_objects_managed", { application: BLOG })[0]?.value).toBe(3);
  });

  it("does not move the last-success time on a refused or failed reconcile", async () => {
    const m = new OperatorMetrics();
    m.observeReconcile({ application: SHOP, result: "applied", seconds: 1, now: NOW });
    m.observeReconcile({
      application: SHOP,
      result: "refused",
      seconds: 1,
      reason: "UNSIGNED",
      now: new Date(),
    });
    m.observeReconcile({ application: SHOP, result: "failed", seconds: 1, now: new Date() });
    const exp = parseExposition(await m.text());
    expect(find(exp, "gitward_last_successful_reconcile_timestamp_seconds")[0]?.value).toBe(
      NOW.getTime() / 1000,
    );
    expect(find(exp, "gitward_revisions_applied_total")[0]?.value).toBe(1);
  });

  it("turns a hostile reason into OTHER, so it can neither inject text nor add series", async () => {
    const m = new OperatorMetrics();
    const hostile = [
      'x"} 1\ngitward_leader 1\n#',
      "a".repeat(65),
      "",
      "POLICY FAILED",
      "ünicode",
      "{{template}}",
    ];
    for (const reason of hostile)
      m.observeReconcile({ application: SHOP, result: "refused", seconds: 0.1, reason });
    m.observeReconcile({ application: SHOP, result: "refused", seconds: 0.1, reason: "image:NOT_FOUND" });
    const text = await m.text();
    const exp = parseExposition(text);
    const refused = find(exp, "gitward_revisions_refused_total", { application: SHOP });
    expect(refused.map((s) => [s.labels["reason"], s.value])).toEqual([
      ["OTHER", hostile.length],
      ["image:NOT_FOUND", 1],
    ]);
    expect(find(exp, "gitward_leader")).toEqual([{ name: "gitward_leader", labels: {}, value: 0 }]);
    expect(text).not.toContain("template");
  });

  it("folds reasons past the per-application cap into OTHER", async () => {
    const m = new OperatorMetrics();
    for (let i = 0; i < MAX_REASONS_PER_APPLICATION + 10; i++) {
      m.observeReconcile({ application: SHOP, result: "refused", seconds: 0.1, reason: `CODE_${i}` });
    }
    // A reason already counted keeps its own series.
    m.observeReconcile({ application: SHOP, result: "refused", seconds: 0.1, reason: "CODE_0" });
    m.observeReconcile({ application: BLOG, result: "refused", seconds: 0.1, reason: "CODE_99" });
    const exp = parseExposition(await m.text());
    const shop = find(exp, "gitward_revisions_refused_total", { application: SHOP });
    expect(shop).toHaveLength(MAX_REASONS_PER_APPLICATION + 1);
    expect(
      find(exp, "gitward_revisions_refused_total", { application: SHOP, reason: "OTHER" })[0]?.value,
    ).toBe(10);
    expect(
      find(exp, "gitward_revisions_refused_total", { application: SHOP, reason: "CODE_0" })[0]?.value,
    ).toBe(2);
    expect(
      find(exp, "gitward_revisions_refused_total", { application: BLOG, reason: "CODE_99" }),
    ).toHaveLength(1);
  });

  it("forget() removes every series of a deleted application and leaves the others", async () => {
    const m = new OperatorMetrics();
    for (const application of [SHOP, BLOG]) {
      m.observeReconcile({ application, result: "applied", seconds: 1, objectsManaged: 4 });
      m.observeReconcile({ application, result: "unchanged", seconds: 1 });
      m.observeReconcile({ application, result: "refused", seconds: 1, reason: "POLICY_FAILED" });
      m.observeReconcile({ application, result: "failed", seconds: 1, reason: "APPLY_FAILED" });
      m.driftEvent(application, "detected");
      m.driftEvent(application, "reverted");
    }
    m.forget(SHOP);
    const exp = parseExposition(await m.text());
    expect(exp.samples.filter((s) => s.labels["application"] === SHOP)).toEqual([]);
    const blogNames = new Set(exp.samples.filter((s) => s.labels["application"] === BLOG).map((s) => s.name));
    expect([...blogNames].sort()).toEqual([
      "gitward_drift_events_total",
      "gitward_last_successful_reconcile_timestamp_seconds",
      "gitward_objects_managed",
      "gitward_reconcile_duration_seconds_bucket",
      "gitward_reconcile_duration_seconds_count",
      "gitward_reconcile_duration_seconds_sum",
      "gitward_revisions_applied_total",
      "gitward_revisions_refused_total",
    ]);
    // A re-created application starts from zero.
    m.observeReconcile({ application: SHOP, result: "refused", seconds: 1, reason: "POLICY_FAILED" });
    const again = parseExposition(await m.text());
    expect(find(again, "gitward_revisions_refused_total", { application: SHOP })).toEqual([
      {
        name: "gitward_revisions_refused_total",
        labels: { application: SHOP, reason: "POLICY_FAILED" },
        value: 1,
      },
    ]);
  });

  it("keeps separate instances apart (no global registry)", async () => {
    const a = new OperatorMetrics();
    const b = new OperatorMetrics();
    a.observeReconcile({ application: SHOP, result: "applied", seconds: 1 });
    expect(find(parseExposition(await b.text()), "gitward_revisions_applied_total")).toEqual([]);
  });
});
