// `gitward reconcile APP --now`, `get apps`, `history` and `suspend|resume` against a running operator
// (test/day2/world.ts): a request is handled at once and its outcome reported, an applied and a refused
// revision show in get apps and in the audit trail with their signer and reason, and while suspended a
// request is answered but nothing is applied.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configMap, deployment } from "../reconcile/harness.js";
import { until } from "../support/until.js";
import { startDay2World, type Day2World } from "./world.js";

let d: Day2World;

beforeAll(async () => {
  d = await startDay2World();
}, 60_000);

afterAll(async () => {
  await d.stop();
});

const short = (sha: string) => sha.slice(0, 12);

describe("day-2 commands with a running operator", () => {
  it("reconcile --now applies a new signed commit at once, and reports a refused one with its reason", async () => {
    // The interval is an hour: only the request makes the operator take the new commit now.
    const b = await d.w.commit({ "apps/shop/a.yaml": configMap("a", { x: "2" }) });
    const ok = await d.gw("reconcile", "shop", "--now", "--timeout", "30s");
    expect(ok.code, `${ok.stdout}${ok.stderr}${d.tail()}`).toBe(0);
    expect(ok.stderr).toMatch(/gitward-system\/shop: reconcile requested at \d{4}-\d\d-\d\dT/);
    expect(ok.stdout).toContain(`gitward-system/shop: reconciled: Ready True`);
    expect(ok.stdout).toContain(`revision ${short(b)} signed by platform`);
    expect(await d.data()).toEqual({ x: "2" });

    // Signed, but it breaks the policy: refused, exit 1; the revision in force stays.
    const bad = deployment("web").replace("allowPrivilegeEscalation: false", "privileged: true");
    const c = await d.w.commit({ "apps/shop/web.yaml": bad });
    const refused = await d.gw("reconcile", "shop", "--now", "--timeout", "30s");
    expect(refused.code, `${refused.stdout}${refused.stderr}`).toBe(1);
    expect(refused.stdout).toContain("Ready False (POLICY_FAILED)");
    expect(await d.data()).toEqual({ x: "2" });

    // The reads in parallel: none changes anything.
    const [row, table, history, historyTable] = await Promise.all([
      d.row(),
      d.gw("get", "apps", "-A"),
      d.history(),
      d.gw("history", "shop"),
    ]);
    expect(row).toMatchObject({
      ready: "False",
      revision: b,
      latest: c,
      signer: "platform",
      suspended: false,
    });
    expect(row.lastError?.reason).toBe("POLICY_FAILED");
    expect(row.lastError?.message).toMatch(/privileged/);
    expect(table.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+REVISION\s+LATEST\s+SIGNER\s+DRIFT/);
    expect(table.stdout).toMatch(
      new RegExp(`gitward-system\\s+shop\\s+False\\s+${short(b)}\\s+${short(c)}\\s+platform\\s+0\\s+no\\s+-`),
    );
    expect(table.stdout).toContain("POLICY_FAILED: ");
    // From the cluster's audit trail, each record's signature checked with the operator's key.
    expect(history.map((r) => [r.result, r.revision, r.signers.map((s) => s.name)])).toEqual([
      ["applied", d.first, ["platform"]],
      ["applied", b, ["platform"]],
      ["refused", c, ["platform"]],
    ]);
    expect(history[2]?.reason).toBe("POLICY_FAILED");
    expect(historyTable.stdout).toMatch(/^SEQ\s+TIME\s+RESULT\s+REVISION\s+SIGNED BY\s+REASON/);
    expect(historyTable.stdout).toMatch(
      new RegExp(`refused\\s+${short(c)}\\s+platform \\(SHA256:[^)]+\\)\\s+POLICY_FAILED`),
    );
    // Someone else's Application name: not found, with where to look.
    const missing = await d.gw("get", "apps", "nope");
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining("gitward get apps -A")]);
  }, 180_000);

  it("suspend stops applying (a request is answered, nothing changes); resume reconciles the head", async () => {
    const fixed = await d.w.commit({
      "apps/shop/web.yaml": null,
      "apps/shop/a.yaml": configMap("a", { x: "3" }),
    });
    expect((await d.handled()).lastAppliedRevision).toBe(fixed);

    const sus = await d.gw("suspend", "shop");
    expect([sus.code, sus.stdout]).toEqual([
      0,
      expect.stringContaining("suspended Application gitward-system/shop: no reconcile"),
    ]);
    const later = await d.w.commit({ "apps/shop/a.yaml": configMap("a", { x: "4" }) });
    // Drift is not corrected while suspended either.
    await d.w.admin.mergePatch(
      { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" },
      { data: { x: "by hand" } },
    );
    const answered = await d.gw("reconcile", "shop", "--now", "--timeout", "30s");
    expect(answered.code, answered.stderr).toBe(0);
    expect(answered.stdout).toContain("(Suspended)");
    expect(answered.stdout).toContain(`revision ${short(fixed)}`);
    expect(await d.data()).toEqual({ x: "by hand" });
    const [row, table] = await Promise.all([d.row(), d.gw("get", "apps")]);
    expect(row).toMatchObject({ revision: fixed, suspended: true });
    expect(table.stdout).toMatch(/\nshop\s+\S+\s+\S+\s+=\s+platform\s+\d+\s+yes\s+-/);

    const res = await d.gw("resume", "shop");
    expect([res.code, res.stdout]).toEqual([
      0,
      expect.stringContaining("resumed Application gitward-system/shop"),
    ]);
    // resume is itself a request: the head is applied without waiting for the interval.
    await until(
      "the head applied after resume",
      async () => (await d.status()).lastAppliedRevision === later,
      30_000,
      d.tail,
    );
    expect(await d.data()).toEqual({ x: "4" });
    expect(await d.row()).toMatchObject({ ready: "True", revision: later, suspended: false });
  }, 180_000);
});
