// `gitward rollback APP REV` against a running operator (test/day2/world.ts): only a revision the audit
// trail shows applied can be pinned (a refused or unknown one is refused, exit 2, nothing changed); the
// operator verifies it again, applies it and records `rolled-back`; the pin shows in get apps, holds while
// the branch stays, and ends with the next signed commit or `gitward resume`.
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

describe("gitward rollback with a running operator", () => {
  it("pins an earlier applied revision, recorded in the audit trail; the next signed commit ends the pin", async () => {
    const a = d.first;
    const b = await d.w.commit({ "apps/shop/a.yaml": configMap("a", { x: "2" }) });
    expect((await d.handled()).lastAppliedRevision).toBe(b);
    const bad = deployment("web").replace("allowPrivilegeEscalation: false", "privileged: true");
    const c = await d.w.commit({ "apps/shop/web.yaml": bad });
    expect((await d.handled()).lastAttemptedRevision).toBe(c);

    // Refused before anything is asked of the operator: a refused revision, one never seen, not a commit id.
    const [toRefused, toUnknown, notHex, current] = await Promise.all([
      d.gw("rollback", "shop", c),
      d.gw("rollback", "shop", "0123456789abcdef"),
      d.gw("rollback", "shop", "main~1"),
      d.gw("rollback", "shop", b),
    ]);
    expect([toRefused.code, toRefused.stderr]).toEqual([
      2,
      expect.stringContaining(`revision ${short(c)} was refused (POLICY_FAILED) and never applied`),
    ]);
    expect([toUnknown.code, toUnknown.stderr]).toEqual([2, expect.stringContaining("was never applied")]);
    expect([notHex.code, notHex.stderr]).toEqual([2, expect.stringContaining("is not a commit id")]);
    expect([current.code, current.stderr]).toEqual([
      2,
      expect.stringContaining("is the one in force already"),
    ]);
    expect((await d.status()).pinnedRevision).toBeUndefined();

    // An abbreviated id of a revision applied before: verified again, applied, recorded.
    const back = await d.gw("rollback", "shop", a.slice(0, 10), "--timeout", "30s");
    expect(back.code, `${back.stdout}${back.stderr}${d.tail()}`).toBe(0);
    expect(back.stderr).toContain(`pinned to ${short(a)} while the branch stays at ${short(c)}`);
    const record = /rolled back to \S+; audit record (\S+)/.exec(back.stdout)?.[1];
    expect(back.stdout).toContain(`rolled back to ${short(a)}`);
    expect(await d.data()).toEqual({ x: "1" });
    const [row, history, table] = await Promise.all([d.row(), d.history(), d.gw("get", "apps")]);
    expect(row).toMatchObject({ ready: "True", revision: a, latest: a, pinnedRevision: a });
    expect(table.stdout).toMatch(
      new RegExp(`\\nshop\\s+True\\s+${short(a)}\\s+=\\s+platform\\s+\\d+\\s+no\\s+${short(a)}`),
    );
    expect(history.map((r) => [r.result, r.revision])).toEqual([
      ["applied", a],
      ["applied", b],
      ["refused", c],
      ["rolled-back", a],
    ]);
    expect(history[3]).toMatchObject({ auditRecord: record, signers: [{ name: "platform" }] });

    // The pin holds while the branch stays where it was, whatever is asked.
    const held = await d.handled();
    expect([held.lastAppliedRevision, held.pinnedRevision]).toEqual([a, a]);

    // The next signed commit on the branch ends it: the head is verified and applied.
    const next = await d.w.commit({
      "apps/shop/web.yaml": null,
      "apps/shop/a.yaml": configMap("a", { x: "4" }),
    });
    const after = await d.gw("reconcile", "shop", "--now", "--timeout", "30s");
    expect(after.code, after.stderr).toBe(0);
    expect(await d.data()).toEqual({ x: "4" });
    const unpinned = await d.row();
    expect(unpinned).toMatchObject({ ready: "True", revision: next });
    expect(unpinned.pinnedRevision).toBeUndefined();
  }, 180_000);

  it("gitward resume ends a pin though the branch has not moved; --no-wait only sets it", async () => {
    const head = (await d.row()).revision ?? "";
    const [, b] = (await d.history()).map((r) => r.revision);
    expect(b).toBeDefined();
    const set = await d.gw("rollback", "shop", b ?? "", "--no-wait");
    expect([set.code, set.stdout]).toEqual([0, ""]);
    await until("the pin applied", async () => (await d.status()).pinnedRevision === b, 30_000, d.tail);
    expect(await d.data()).toEqual({ x: "2" });

    const res = await d.gw("resume", "shop");
    expect([res.code, res.stdout]).toEqual([0, expect.stringContaining("any rollback pin cleared")]);
    await until(
      "the head applied after resume",
      async () => {
        const s = await d.status();
        return s.pinnedRevision === undefined && s.lastAppliedRevision === head;
      },
      30_000,
      d.tail,
    );
    expect(await d.data()).toEqual({ x: "4" });
    expect((await d.history()).slice(-2).map((r) => [r.result, r.revision])).toEqual([
      ["rolled-back", b],
      ["applied", head],
    ]);
    // The trail the commands read verifies as a whole with the operator's key.
    const verify = await d.gw("audit", "verify", "--key", d.keys.pub);
    expect(verify.code, verify.stdout).toBe(0);
  }, 180_000);
});
