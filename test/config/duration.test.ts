import { describe, expect, it } from "vitest";
import { formatDuration, intervalProblem, parseDuration } from "../../src/config/duration.js";
import { DURATION_PATTERN } from "../../src/config/schema.js";

describe("parseDuration", () => {
  it.each([
    ["30s", 30_000],
    ["1m", 60_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["250ms", 250],
    ["2m30s500ms", 150_500],
    ["1000000us", 1000],
    ["1000000µs", 1000],
    ["5000000ns", 5],
  ])("parses %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "1", "m", "1x", "-1s", "1 m", "1m ", "1.m", ".5s", "1h-30m", "1d"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("accepts exactly what the CRD pattern accepts", () => {
    const pattern = new RegExp(DURATION_PATTERN, "u");
    for (const text of ["30s", "1h30m", "1.5h", "1d", "1 m", "", "-1s", "250ms", "1µs"]) {
      expect(parseDuration(text) !== undefined).toBe(pattern.test(text));
    }
  });
});

describe("formatDuration", () => {
  it("writes intervals the way people do, and round-trips", () => {
    for (const [ms, text] of [
      [60_000, "1m"],
      [5_400_000, "1h30m"],
      [45_000, "45s"],
      [250, "250ms"],
      [61_500, "1m1s500ms"],
    ] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toBe(ms);
    }
  });
});

describe("intervalProblem", () => {
  it.each(["1s", "30s", "1m", "1h30m", "24h", "1439m59s"])("accepts %s", (text) => {
    expect(intervalProblem(text)).toBeUndefined();
  });

  it.each([
    ["0s", "interval 0s is too short: at least 1s"],
    ["999ms", "interval 999ms is too short: at least 1s"],
    ["1x", "interval 1x is too short: at least 1s"],
    ["24h1s", /^interval 24h1s is too long: at most 24h;/],
    ["720h", /^interval 720h is too long: at most 24h;/],
  ])("refuses %s", (text, message) => {
    if (typeof message === "string") expect(intervalProblem(text)).toBe(message);
    else expect(intervalProblem(text)).toMatch(message);
  });
});
