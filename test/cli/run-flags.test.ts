// `gitward run` bounds its duration flags (issue 20): a lease or health timeout past Node's timer ceiling
// (2^31-1 ms) once made the leader's sleep fire at once, a busy loop. Out of range is a usage error (exit 2).
import { describe, expect, it } from "vitest";
import { runCli } from "../support/tools.js";

// A config file that does not exist: flags that pass their checks get as far as reading it, and no further.
const run = (...flags: string[]) =>
  runCli(["run", "--config", "/nonexistent/gitward.yaml", "--metrics-addr", "127.0.0.1:0", ...flags]);

describe("gitward run duration flags", () => {
  it("refuses a lease duration or health timeout out of range with exit 2 and the range", async () => {
    const cases: [string, string, RegExp][] = [
      ["--lease-duration", "30d", /--lease-duration 30d: expected a duration/],
      ["--lease-duration", "600h", /--lease-duration 600h: give a duration from 1s to 10m/],
      ["--lease-duration", "10m1s", /give a duration from 1s to 10m/],
      ["--lease-duration", "500ms", /give a duration from 1s to 10m/],
      ["--health-timeout", "1000h", /--health-timeout 1000h: give a duration from 1s to 1h/],
      ["--health-timeout", "999ms", /give a duration from 1s to 1h/],
    ];
    const runs = await Promise.all(cases.map(([flag, value]) => run(flag, value)));
    for (const [i, r] of runs.entries()) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]![2]);
    }
  });

  it("accepts the bounds themselves and the defaults", async () => {
    const runs = await Promise.all([
      run("--lease-duration", "1s", "--health-timeout", "1s"),
      run("--lease-duration", "10m", "--health-timeout", "1h"),
      run(),
    ]);
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/--lease-duration|--health-timeout/);
      expect(r.stderr).toContain("cannot read the configuration file");
    }
  });
});

describe("gitward run --shards", () => {
  it("refuses a shard count out of 1..256, or shards without leader election, with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--shards", "0"], /--shards 0: give a whole number from 1 to 256/],
      [["--shards", "257"], /--shards 257: give a whole number from 1 to 256/],
      [["--shards", "2.5"], /--shards 2.5: give a whole number/],
      [["--shards", "-3"], /--shards -3: give a whole number/],
      [["--shards", "4", "--no-leader-elect"], /--shards needs leader election/],
    ];
    const runs = await Promise.all(cases.map(([flags]) => run(...flags)));
    for (const [i, r] of runs.entries()) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    }
  });

  it("accepts 1, 256 and the default", async () => {
    const runs = await Promise.all([run("--shards", "1"), run("--shards", "256"), run("--no-leader-elect")]);
    for (const r of runs) {
      expect(r.stderr).not.toMatch(/--shards/);
      expect(r.stderr).toContain("cannot read the configuration file");
    }
  });
});
