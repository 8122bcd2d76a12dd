import { describe, expect, it } from "vitest";
import { abortableSleep } from "../../src/cluster/backoff.js";

describe("abortableSleep", () => {
  it("waits past the timer ceiling instead of firing after 1 ms, and ends on abort", async () => {
    const ac = new AbortController();
    let done = false;
    const sleeping = abortableSleep(30 * 24 * 3_600_000, ac.signal).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    ac.abort();
    await sleeping;
    expect(done).toBe(true);
  });

  it("returns at once for zero, negative and NaN, and when already aborted", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    await abortableSleep(0, ac.signal);
    await abortableSleep(-5, ac.signal);
    await abortableSleep(Number.NaN, ac.signal);
    ac.abort();
    await abortableSleep(60_000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
