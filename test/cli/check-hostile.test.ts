// The issue's own reproduction through the built CLI: a repository's secrets allowlist `re:^(a+)+$` and a
// 40-character value that does not match it made `gitward check` run until killed (JavaScript's RegExp
// backtracks 2^40 times; 26 characters already take seconds). In RE2 the check ends at once with its
// normal verdict (that the allowlist still allows what it matches is tested in secrets-hostile.test.ts).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/tools.js";

let repo: string;
const HOSTILE = "a".repeat(40) + "b";
const ENTROPY = "q8Zt3Lw9Xv2Rk7Pm4Hn6Bj1";

beforeAll(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), "gitward-check-hostile-"));
  await mkdir(path.join(repo, ".gitward"));
  await writeFile(path.join(repo, ".gitward/secrets-allowlist"), "re:^(a+)+$\n");
  await writeFile(
    path.join(repo, "cm.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: n }\ndata: { a: b }\n",
  );
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe("gitward check with a catastrophic allowlist pattern", () => {
  it("ends in seconds with the verdict on the other lines (before: ran until killed)", async () => {
    await writeFile(path.join(repo, "app.env"), `api_token: ${HOSTILE}\napi_key: ${ENTROPY}\n`);
    const t = performance.now();
    const r = await runCli(["check", "--output", "json", repo]);
    // A generous bound for a loaded machine: the old engine needs 2^40 steps here, not seconds.
    expect(performance.now() - t).toBeLessThan(15_000);
    expect(r.stderr).toBe("");
    const { report } = JSON.parse(r.stdout) as {
      report: { findings: { ruleId: string; message: string }[] };
    };
    expect(report.findings.map((f) => [f.ruleId, f.message])).toEqual([
      ["secrets/high-entropy", 'app.env:2 contains a high-entropy value in "api_key"'],
    ]);
  });

  it("a 10^5-character hostile value is as quick", async () => {
    await writeFile(path.join(repo, "app.env"), `api_token: ${"a".repeat(100_000)}b\n`);
    const t = performance.now();
    const r = await runCli(["check", "--output", "json", repo]);
    expect(performance.now() - t).toBeLessThan(15_000);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { report: { findings: unknown[] } }).report.findings).toEqual([]);
  });
});
