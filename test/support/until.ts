// Polling for tests that wait on another process or a watch: the one place that loops, sleeps and gives up.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Calls `f` until it returns something other than undefined or false, and returns that; throws naming
 * `what` (and `context()`, e.g. the last log lines) when `ms` pass first.
 */
export async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
  context?: () => string,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const more = context?.() ?? "";
      throw new Error(`timed out waiting for ${what}${more === "" ? "" : `: ${more}`}`);
    }
    await sleep(20);
  }
}
