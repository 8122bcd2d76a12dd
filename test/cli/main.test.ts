import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { cliEntry } from "../support/tools.js";

const run = promisify(execFile);

async function gitward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("gitward CLI", () => {
  it("--help explains the exit codes and exits 0", async () => {
    const r = await gitward("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 the check found problems, 2 usage");
  });

  it("an unknown command is a usage error (exit 2)", async () => {
    const r = await gitward("no-such-command");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });
});
