// Unit tests of the reconcile's pure parts: the desired-vs-live comparison behind "no writes when nothing
// changed", the ownership label, the stored inventory parser, and the step runner's fail-closed rules.
import { describe, expect, it } from "vitest";
import { hashOf, isSubset, liveMatches } from "../../src/reconcile/compare.js";
import { keyOf, ownerLabelValue, parseInventory } from "../../src/reconcile/inventory.js";
import { ConditionType, runSteps, type Step } from "../../src/reconcile/steps.js";
import { ClusterError } from "../../src/cluster/errors.js";

describe("compare", () => {
  it("accepts server defaults and status, refuses any changed or missing field gitward sets", () => {
    const desired = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", labels: { a: "1" } },
      spec: { ports: [{ port: 80 }] },
    };
    const live = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", uid: "u", labels: { a: "1", extra: "x" }, managedFields: [] },
      spec: { ports: [{ port: 80, protocol: "TCP" }], clusterIP: "10.0.0.1" },
      status: { loadBalancer: {} },
    };
    expect(liveMatches(desired, live)).toBe(true);
    expect(liveMatches(desired, { ...live, spec: { ports: [{ port: 81, protocol: "TCP" }] } })).toBe(false);
    expect(liveMatches(desired, { ...live, metadata: { name: "s", labels: {} } })).toBe(false);
    // A list element added live is a difference: gitward owns the whole list.
    expect(liveMatches(desired, { ...live, spec: { ports: [{ port: 80 }, { port: 443 }] } })).toBe(false);
  });

  it("compares scalars exactly", () => {
    expect(isSubset({ n: 1 }, { n: "1" })).toBe(false);
    expect(isSubset({ a: { b: [1, 2] } }, { a: { b: [1, 2], c: 3 } })).toBe(true);
    expect(isSubset([1], { 0: 1 })).toBe(false);
  });

  it("hashes canonically: key order does not matter, values do", () => {
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
  });
});

describe("inventory", () => {
  it("owner label values are valid labels, and long names stay distinct", () => {
    expect(ownerLabelValue({ namespace: "gitward-system", name: "shop" })).toBe("gitward-system.shop");
    const a = ownerLabelValue({ namespace: "gitward-system", name: "x".repeat(60) + "a" });
    const b = ownerLabelValue({ namespace: "gitward-system", name: "x".repeat(60) + "b" });
    for (const v of [a, b]) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
    }
    expect(a).not.toBe(b);
  });

  it("identity ignores the API version, so a version move is not a removal", () => {
    expect(
      keyOf({ apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", namespace: "n", name: "h" }),
    ).toBe(
      keyOf({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", namespace: "n", name: "h" }),
    );
    expect(keyOf({ apiVersion: "v1", kind: "ConfigMap", namespace: "a", name: "x" })).not.toBe(
      keyOf({ apiVersion: "v1", kind: "ConfigMap", namespace: "b", name: "x" }),
    );
  });

  it("drops malformed stored entries instead of guessing", () => {
    const text = JSON.stringify([
      { apiVersion: "v1", kind: "ConfigMap", namespace: "n", name: "ok", uid: "u" },
      { apiVersion: "v1", kind: "ConfigMap" },
      "junk",
      null,
    ]);
    expect(parseInventory(text)).toEqual([
      { apiVersion: "v1", kind: "ConfigMap", namespace: "n", name: "ok", uid: "u" },
    ]);
    expect(parseInventory("{not json")).toEqual([]);
    expect(parseInventory(undefined)).toEqual([]);
  });
});

describe("step runner", () => {
  interface Ctx {
    wrote: boolean;
    ran: string[];
  }
  const step = (name: string, fn: (c: Ctx) => Promise<void>): Step<Ctx> => ({
    name,
    async run(c) {
      c.ran.push(name);
      await fn(c);
      return undefined;
    },
    marks: () => ({ condition: ConditionType.Verified, reason: "Trusted", message: name }),
  });

  it("stops at the first failure and marks its condition False", async () => {
    const ctx: Ctx = { wrote: false, ran: [] };
    const out = await runSteps(
      [
        step("a", () => Promise.resolve()),
        {
          name: "b",
          run: () =>
            Promise.resolve({
              result: "refused",
              condition: ConditionType.PolicyPassed,
              reason: "POLICY_FAILED",
              message: "m",
              details: [],
            }),
        },
        step("c", () => Promise.resolve()),
      ],
      ctx,
      (c) => c.wrote,
    );
    expect(ctx.ran).toEqual(["a"]);
    expect(out.failure).toMatchObject({ step: "b", reason: "POLICY_FAILED", result: "refused" });
    expect(out.conditions.get(ConditionType.Verified)?.status).toBe("True");
    expect(out.conditions.get(ConditionType.PolicyPassed)?.status).toBe("False");
  });

  it("a step that throws is a failure, never a pass: refused before writes, failed after", async () => {
    const boom = step("x", () => Promise.reject(new ClusterError("FORBIDDEN", "nope", 403)));
    const before = await runSteps([boom], { wrote: false, ran: [] }, (c) => c.wrote);
    expect(before.failure).toMatchObject({ result: "refused", reason: "FORBIDDEN" });
    const after = await runSteps([boom], { wrote: true, ran: [] }, (c) => c.wrote);
    expect(after.failure).toMatchObject({ result: "failed", reason: "FORBIDDEN" });
  });
});
