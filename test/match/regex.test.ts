// Regular expressions from outside run in RE2 (re2js): linear time on hostile text, and patterns that need
// backtracking are refused with a code and the place they came from. Covers the TrustPolicy's commit
// message rule and path globs (at load and when compiled) and CEL's matches() in custom policy rules.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/errors.js";
import { parseTrustPolicy } from "../../src/config/load.js";
import { compileUntrustedRegex, PatternErrorCode } from "../../src/match/regex.js";
import { checkRevision } from "../../src/policy/check.js";
import { compileCommitPolicy } from "../../src/trust/commit/keys.js";
import { mf } from "../policy/support.js";
import { fastest } from "../support/timing.js";

function re(pattern: string) {
  const c = compileUntrustedRegex(pattern, "test");
  if (!c.ok) throw new Error(c.error.message);
  return c.regex;
}

// A real ed25519 public key line is not needed to compile globs and the message: the policy's keys are
// checked separately (signatures.test.ts); an unusable key would be refused before any glob.
const SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x@y";

describe("untrusted regular expressions", () => {
  it("^(a+)+$ against 10^5 characters answers in well under 50 ms (JavaScript RegExp: exponential)", () => {
    const r = re("^(a+)+$");
    for (const [text, want] of [
      ["a".repeat(100_000) + "!", false],
      ["a".repeat(100_000), true],
    ] as const) {
      const { value, ms } = fastest(() => r.test(text));
      expect(value).toBe(want);
      expect(ms).toBeLessThan(50);
    }
    const nested = re("(x+x+)+y");
    expect(fastest(() => nested.test("x".repeat(100_000))).ms).toBeLessThan(50);
  });

  it("searches like RegExp.test: unanchored, ^ and $ at the ends of the text only", () => {
    const r = re("^(OPS|SEC)-[0-9]+: ");
    expect([
      r.test("OPS-12: fix"),
      r.test("SEC-1: x\nmore"),
      r.test("fix\nOPS-12: x"),
      r.test("OPS-: x"),
    ]).toEqual([true, true, false, false]);
    expect([re("b").test("abc"), re("^b").test("abc"), re("c$").test("abc\n")]).toEqual([true, false, false]);
  });

  it("refuses backreferences and lookaround as unsupported, and broken patterns as invalid, naming where", () => {
    for (const p of ["(a)\\1", "a(?=b)", "a(?!b)", "(?<=a)b", "(?<!a)b"]) {
      const c = compileUntrustedRegex(p, "trust.yaml:9:14");
      expect(c.ok ? "compiled" : [c.error.code, c.error.where], p).toEqual([
        PatternErrorCode.UnsupportedRegex,
        "trust.yaml:9:14",
      ]);
    }
    const broken = compileUntrustedRegex("([a-z", "x:1");
    expect(broken.ok ? "compiled" : broken.error.code).toBe(PatternErrorCode.InvalidRegex);
    const huge = compileUntrustedRegex("a".repeat(1001), "x:1");
    expect(huge.ok ? "compiled" : huge.error.code).toBe(PatternErrorCode.RegexTooLarge);
    const big = compileUntrustedRegex("[a-z]{1000}".repeat(21), "x:1");
    expect(big.ok ? "compiled" : big.error.code).toBe(PatternErrorCode.RegexTooLarge);
  });
});

describe("TrustPolicy patterns", () => {
  const policyText = (message: string, paths = '["apps/**"]', refs = '["refs/heads/*"]') =>
    [
      "apiVersion: gitward.dev/v1alpha1",
      "kind: TrustPolicy",
      "metadata: { name: production }",
      "spec:",
      "  commits:",
      `    message: ${JSON.stringify(message)}`,
      `    expectedRefs: ${refs}`,
      "    signers:",
      `      - { name: platform, ssh: [${JSON.stringify(SSH)}], paths: ${paths} }`,
      "",
    ].join("\n");

  it("the message rule runs in RE2: ^(a+)+$ against a 10^5-character message is fast", async () => {
    const compiled = await compileCommitPolicy({
      signers: [{ name: "p", ssh: [SSH], paths: ["apps/*/*-*-*-*.yaml"] }],
      message: "^(a+)+$",
      expectedRefs: ["refs/heads/*"],
    });
    const long = "a".repeat(100_000) + "\n\nSigned-off-by: x";
    const { value, ms } = fastest(() => compiled.message?.test(long));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(50);
    expect(compiled.message?.test("aaa")).toBe(true);
    const signer = compiled.signers[0]!;
    const path = fastest(() => signer.mayChange("apps/x/" + "-".repeat(100_000) + ".yml"));
    expect([path.value, signer.mayChange("apps/x/a-b-c-d.yaml")]).toEqual([false, true]);
    expect(path.ms).toBeLessThan(50);
    expect([compiled.isExpectedRef("refs/heads/main"), compiled.isExpectedRef("refs/pull/1")]).toEqual([
      true,
      false,
    ]);
  });

  it("a message rule RE2 cannot run is refused at load, naming file, line and what to change", () => {
    expect(parseTrustPolicy(policyText("^(OPS|SEC)-[0-9]+: "), "trust.yaml").spec.commits?.message).toBe(
      "^(OPS|SEC)-[0-9]+: ",
    );
    let err: unknown;
    try {
      parseTrustPolicy(policyText("^(\\w+) \\1"), "trust.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).where).toMatch(/^trust\.yaml:6:/);
    expect((err as ConfigError).message).toMatch(/backtracking engine.*backreferences/);
  });

  it("a signer path glob or expected ref glob gitward cannot match is refused at load", () => {
    for (const [paths, refs, line] of [
      ['["apps/**", "!apps/secret/**"]', '["refs/heads/*"]', 9],
      ['["apps/**"]', '["refs/heads/{1..3}"]', 7],
    ] as const) {
      let err: unknown;
      try {
        parseTrustPolicy(policyText("x", paths, refs), "trust.yaml");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).where).toMatch(new RegExp(`^trust\\.yaml:${line}:`));
      expect((err as ConfigError).message).toMatch(/glob/);
    }
  });

  it("compileCommitPolicy refuses the same, naming the field", async () => {
    await expect(
      compileCommitPolicy({ signers: [{ name: "p", ssh: [SSH], paths: ["**"] }], message: "a(?=b)" }),
    ).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && e.where === "spec.commits.message");
    await expect(
      compileCommitPolicy({ signers: [{ name: "p", ssh: [SSH], paths: ["+(a)"] }] }),
    ).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && /paths\[0\]/.test(e.where ?? ""));
  });
});

describe("CEL matches() in custom rules", () => {
  // @bufbuild/cel implements matches() with @bufbuild/re2, an RE2 port: a policy's pattern is linear too.
  it("runs a catastrophic pattern against a 10^5-character value without backtracking", async () => {
    const vap = [
      "apiVersion: admissionregistration.k8s.io/v1",
      "kind: ValidatingAdmissionPolicy",
      "metadata: { name: names }",
      "spec:",
      "  matchConstraints:",
      '    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"], operations: ["CREATE"] }]',
      "  validations:",
      "    - expression: \"!object.data.v.matches('^(a+)+$')\"",
      "      message: no",
      "",
    ].join("\n");
    const cm = (v: string) =>
      mf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" }, data: { v } });
    const t = performance.now();
    const report = await checkRevision({
      manifests: [cm("a".repeat(100_000) + "!"), cm("aaa")],
      packs: [],
      customPolicies: [{ file: "p.yaml", text: vap }],
    });
    expect(performance.now() - t).toBeLessThan(1000);
    expect(report.errors).toEqual([]);
    expect(report.findings.length).toBe(1);
  });
});
