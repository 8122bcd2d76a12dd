import { execFile, spawn } from "node:child_process";
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

/** Runs the CLI with its stdout closed before it writes a byte: every write fails with EPIPE. */
function withClosedStdout(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stderr });
    });
  });
}

describe("gitward CLI", () => {
  it("--help explains the exit codes and exits 0", async () => {
    const r = await gitward("--help");
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, " ")).toContain(
      "Exit codes: 0 ok, 1 the check found problems (diff: differences), 2 usage or configuration error, 3 not proven",
    );
    expect(r.stdout.replace(/\s+/g, " ")).toContain("70 internal error (unexpected; run again with --debug");
    // Help wraps to the terminal width, so compare with the line breaks folded.
    expect(r.stdout.replace(/\s+/g, " ")).toMatch(/--debug on an internal error, print its stack trace/);
  });

  it("an unexpected error (stdout closed: EPIPE) is one line and exit 70, no stack trace", async () => {
    const r = await withClosedStdout("--help");
    expect(r.code).toBe(70);
    expect(r.stderr).toBe("gitward: internal error: write EPIPE; run with --debug for details\n");
  });

  it("with --debug (before or after the command) the internal error shows its stack trace", async () => {
    for (const args of [
      ["--debug", "--help"],
      ["check", "--help", "--debug"],
    ]) {
      const r = await withClosedStdout(...args);
      expect(r.code).toBe(70);
      expect(r.stderr).toMatch(/^Error: write EPIPE\n {4}at /);
    }
  });

  it("an expected error of a command stays a usage error (exit 2) with its own one-line message", async () => {
    const r = await gitward("check", "--trust", "/dev", ".");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("gitward: /dev: cannot read the configuration file: not a regular file\n");
  });

  it("an unknown command is a usage error (exit 2): one line and a pointer to --help, not the help", async () => {
    const r = await gitward("no-such-command");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "gitward: error: unknown command 'no-such-command'\nRun 'gitward --help' for usage.\n",
    );
  });
});
