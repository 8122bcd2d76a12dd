// Globs from outside match in linear time (RE2 via re2js) with picomatch's meaning (dot: true) for the
// syntax gitward supports, and anything it does not support is refused with the place it came from.
import picomatch from "picomatch";
import { describe, expect, it } from "vitest";
import { compileGlob, compileGlobs } from "../../src/match/glob.js";
import { PatternErrorCode } from "../../src/match/regex.js";
import { fastest } from "../support/timing.js";

function glob(g: string): (p: string) => boolean {
  const c = compileGlob(g, "test");
  if (!c.ok) throw new Error(c.error.message);
  return (p) => c.matcher.matches(p);
}

// Cases picomatch (the peer, with dot: true as gitward used it) and ours must agree on.
const CASES: [string, string[]][] = [
  ["**", ["a", "a/b", ".git/config", "a/.b/c"]],
  ["apps/**", ["apps", "apps/", "apps/a", "apps/a/b.yaml", "app", "apps2/a", "x/apps/a"]],
  ["**/x", ["x", "a/x", "a/b/x", "ax", "a/x/y"]],
  ["a/**/b", ["a/b", "a/x/b", "a/x/y/b", "a/xb", "ab"]],
  ["rbac/*", ["rbac/a", "rbac/.a", "rbac/", "rbac", "rbac/a/b"]],
  ["*.yaml", ["x.yaml", ".x.yaml", "a/x.yaml", "yaml", "x.yml"]],
  ["**/*.yaml", ["x.yaml", "a/b/x.yaml", "a/b/x.yml"]],
  ["a?c", ["abc", "a/c", "ac", "abbc"]],
  ["[a-c]x", ["ax", "bx", "dx", "x"]],
  ["[^a]x", ["ax", "bx"]],
  ["{a,b}/x", ["a/x", "b/x", "c/x"]],
  ["a/{b,c/**}", ["a/b", "a/c/d", "a/d"]],
  ["a\\*", ["a*", "ab"]],
  ["./a", ["a", "b"]],
  ["a**", ["abc", "ab/c"]],
  ["a/**b", ["a/xb", "a/x/b"]],
  ["refs/heads/*", ["refs/heads/main", "refs/heads/a/b", "refs/tags/v1"]],
  ["refs/tags/v*", ["refs/tags/v1.0", "refs/tags/x"]],
  ["apps/*/*-*-*-*.yaml", ["apps/x/a-b-c-d.yaml", "apps/x/a-b-c.yaml", "apps/x/y/a-b-c-d.yaml"]],
  ["deploy/a.b+c(d)", []],
  ["[[:digit:]]*", ["1a", "a1"]],
];

describe("globs", () => {
  for (const [g, paths] of CASES) {
    if (paths.length === 0) continue;
    it(`${g} matches what picomatch matches`, () => {
      const peer = picomatch(g, { dot: true });
      const ours = glob(g);
      expect(paths.map((p) => [p, ours(p)])).toEqual(paths.map((p) => [p, peer(p)]));
    });
  }

  it("accepts and rejects as a signer's paths should", () => {
    const rbac = glob("rbac/**");
    expect([
      rbac("rbac/role.yaml"),
      rbac("rbac/x/y.yaml"),
      rbac("rbacx/role.yaml"),
      rbac("apps/rbac/x"),
    ]).toEqual([true, true, false, false]);
  });

  it("matches a 10^5-character path in well under 50 ms (picomatch backtracks for minutes)", () => {
    const hostile = "apps/x/" + "-".repeat(100_000);
    const long = "a/".repeat(50_000) + "x";
    const cases: [string, string, boolean][] = [
      ["apps/*/*-*-*-*.yaml", hostile + ".yml", false],
      ["apps/*/*-*-*-*.yaml", hostile + ".yaml", true],
      ["**/a*b*c*d*e*f*g.yaml", long, false],
      ["**", long, true],
    ];
    for (const [g, p, want] of cases) {
      const m = glob(g);
      const { value: got, ms } = fastest(() => m(p));
      expect([g, got]).toEqual([g, want]);
      expect(ms).toBeLessThan(50);
    }
  });

  it("refuses what it does not support, naming where the glob came from", () => {
    for (const bad of [
      "!secret/**",
      "+(a|b)",
      "a/@(x)",
      "{1..3}",
      "{a}",
      "a/{b,c",
      "[a-",
      "a\\",
      "(a|b)",
      "",
    ]) {
      const c = compileGlob(bad, "trust.yaml:7:9");
      expect(c.ok, bad).toBe(false);
      if (!c.ok) {
        expect(c.error.code).toBe(PatternErrorCode.InvalidGlob);
        expect(c.error.where).toBe("trust.yaml:7:9");
        expect(c.error.message).toContain(JSON.stringify(bad));
      }
    }
    const many = compileGlobs(["ok/**", "!x"], (i) => `paths[${i}]`);
    expect(many.ok ? [] : many.errors.map((e) => e.where)).toEqual(["paths[1]"]);
  });

  it("a list of globs matches when any matches", () => {
    const c = compileGlobs(["docs/**", "*.md"], (i) => `paths[${i}]`);
    expect(c.ok && [c.matches("docs/a/b"), c.matches("README.md"), c.matches("src/a.ts")]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
