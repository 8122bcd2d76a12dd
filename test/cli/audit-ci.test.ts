import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditCi } from "../../src/ciaudit/audit.js";
import { formatText, toSarif } from "../../src/policy/report.js";
import { ciGate } from "../../src/cli/commands/audit-ci.js";
import { runCli } from "../support/tools.js";

let dir: string;
const CLEAN =
  "on: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n" +
  "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n        with:\n          persist-credentials: false\n      - run: npm test\n";
const BAD =
  "on: pull_request_target\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n" +
  "        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n";

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-cli-auditci-"));
  for (const [name, text] of [
    ["clean", CLEAN],
    ["bad", BAD],
  ] as const) {
    await mkdir(path.join(dir, name, ".github", "workflows"), { recursive: true });
    await writeFile(path.join(dir, name, ".github", "workflows", "ci.yml"), text);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("gitward audit ci", () => {
  it("exits 0 on a clean repository and says how many files it read", async () => {
    const r = await runCli(["audit", "ci", path.join(dir, "clean")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Audited 1 CI file(s)");
    expect(r.stdout).toContain("0 finding(s)");
  });

  it("exits 1 with findings; json carries file, line, column and rule id", async () => {
    const json = await runCli(["audit", "ci", path.join(dir, "bad"), "-o", "json"]);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as {
      passed: boolean;
      findings: { ruleId: string; file: string; line: number; column: number }[];
    };
    expect(parsed.passed).toBe(false);
    expect(parsed.findings).toContainEqual(
      expect.objectContaining({
        ruleId: "ci/dangerous-trigger",
        file: ".github/workflows/ci.yml",
        line: 8,
        column: 16,
      }),
    );
  });

  // The reporter in-process (spawning the CLI costs seconds per run on a loaded machine).
  it("prints text and SARIF 2.1.0 through check's reporter", async () => {
    const result = await auditCi(path.join(dir, "bad"));
    const gate = ciGate(result, "bad", "low");
    expect(formatText(gate)).toContain(".github/workflows/ci.yml:8  CRITICAL  ci/dangerous-trigger");
    const s = toSarif(gate) as {
      version: string;
      runs: {
        results: {
          ruleId: string;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    expect(s.version).toBe("2.1.0");
    const r = s.runs[0]?.results.find((x) => x.ruleId === "ci/dangerous-trigger");
    expect(r?.locations[0]?.physicalLocation).toMatchObject({
      artifactLocation: { uri: ".github/workflows/ci.yml" },
      region: { startLine: 8 },
    });
  });

  it("--fail-on raises the bar, and an unreadable file fails whatever the bar", async () => {
    const bad = await auditCi(path.join(dir, "bad"));
    expect(ciGate(bad, "bad", "critical").passed).toBe(false);
    await writeFile(
      path.join(dir, "low.yml"),
      CLEAN.replace("@11bd71901bbe5b1630ceea73d27597364c9af683", "@v4"),
    );
    const low = await auditCi(path.join(dir, "low.yml"));
    expect(low.findings.map((f) => f.severity)).toEqual(["low"]);
    expect(ciGate(low, "low.yml", "low").passed).toBe(false);
    expect(ciGate(low, "low.yml", "medium").passed).toBe(true);
    await writeFile(path.join(dir, "broken.yml"), "on: [\n");
    const broken = await auditCi(path.join(dir, "broken.yml"));
    expect(broken.findings).toEqual([]);
    expect(ciGate(broken, "broken.yml", "critical").passed).toBe(false);
  });

  it("exits 2 for a missing path", async () => {
    const missing = await runCli(["audit", "ci", path.join(dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope");
  });
});
