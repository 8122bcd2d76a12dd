// Timers past Node's 2^31-1 ms ceiling: a plain setTimeout fires at once (the `interval: 720h` bug of
// issue 20); setLongTimeout waits in steps instead, fires once, and can be cancelled mid-chain.
import { describe, expect, it } from "vitest";
import { longSleep, MAX_TIMER_MS, setLongTimeout } from "../../src/reconcile/long-timer.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("setLongTimeout", () => {
  it("does not fire early for a delay past the ceiling, where a plain setTimeout fires at once", async () => {
    const delay = 720 * 3_600_000; // 720h, beyond MAX_TIMER_MS
    expect(delay).toBeGreaterThan(MAX_TIMER_MS);
    let plain = 0;
    let long = 0;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on("warning", onWarning);
    const p = setTimeout(() => plain++, delay);
    const t = setLongTimeout(() => long++, delay);
    await sleep(50);
    clearTimeout(p);
    t.cancel();
    process.off("warning", onWarning);
    expect(plain).toBe(1); // the overflow this helper exists for
    expect(warnings).toContain("TimeoutOverflowWarning");
    expect(long).toBe(0);
  });

  it("chains steps and fires once when the whole delay has passed", async () => {
    const fired: number[] = [];
    const t0 = performance.now();
    setLongTimeout(() => fired.push(performance.now() - t0), 90, { maxStepMs: 20, unref: false });
    await sleep(60);
    expect(fired).toEqual([]);
    await sleep(150);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(89);
  });

  it("cancel stops it between steps", async () => {
    let n = 0;
    const t = setLongTimeout(() => n++, 60, { maxStepMs: 10 });
    await sleep(25);
    t.cancel();
    await sleep(80);
    expect(n).toBe(0);
  });

  it("a delay of 0 (or NaN) fires at once", async () => {
    let n = 0;
    setLongTimeout(() => n++, 0);
    setLongTimeout(() => n++, Number.NaN);
    await sleep(20);
    expect(n).toBe(2);
  });
});

describe("longSleep (the leader's sleep)", () => {
  it("does not return early for a wait past the ceiling, and returns at once on abort", async () => {
    const stop = new AbortController();
    let done = false;
    const t0 = performance.now();
    const waiting = longSleep(40 * 86_400_000, stop.signal).then(() => (done = true));
    await sleep(50);
    expect(done).toBe(false); // a plain setTimeout of 40 days would have fired after 1 ms
    stop.abort();
    await waiting;
    expect(done).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it("waits the whole delay across steps, and returns at once when already aborted", async () => {
    const t0 = performance.now();
    await longSleep(60, new AbortController().signal, { maxStepMs: 15 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(59);
    const t1 = performance.now();
    await longSleep(10_000, AbortSignal.abort());
    expect(performance.now() - t1).toBeLessThan(100);
  });
});
