// The README's main command end to end: the built CLI's `gitward demo` exits 0 and narrates each promise
// (signed change applied, unsigned and policy-breaking change refused with reasons, prune, audit verified).
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cliEntry } from "../support/tools.js";

function runDemo(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry, "demo"], { timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("gitward demo", () => {
  it("runs every step and exits 0", { timeout: 120_000 }, async () => {
    const r = await runDemo();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/applied revision [0-9a-f]{12} \(signed by platform\): 5 applied/);
    expect(r.stdout).toMatch(/unchanged revision [0-9a-f]{12} .*: 0 applied, 5 unchanged/);
    expect(r.stdout).toContain("REFUSED (UNSIGNED) at verify");
    expect(r.stdout).toContain("REFUSED (POLICY_FAILED) at check");
    expect(r.stdout).toContain("critical pod-security/privileged");
    expect(r.stdout).toContain("pruned ConfigMap shop/banner");
    expect(r.stdout).toMatch(/4 records, hash chain intact/);
    expect(r.stdout).toContain("Demo complete");
    expect(r.stdout).not.toContain("unexpected");
  });
});
