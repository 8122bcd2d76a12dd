// `gitward completion bash|zsh|fish`: the bash script, sourced in a real bash, completes commands,
// subcommands, options and option choices from the program tree (compgen through the script's own
// completion function), skips option values when finding the command, and an unknown shell is refused.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/tools.js";

const exec = promisify(execFile);

/** Runs the script's completion function in bash for each command line (the last word is completed). */
async function complete(script: string, lines: readonly string[][]): Promise<string[][]> {
  // One reply per line, in order (a missing reply is an empty list, so indexes below are defined).
  const calls = lines
    .map(
      (words) =>
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _gitward; echo "\${COMPREPLY[*]}"`,
    )
    .join("\n");
  const { stdout } = await exec(
    "bash",
    ["--norc", "--noprofile", "-c", `source /dev/stdin <<'EOS'\n${script}\nEOS\n${calls}`],
    {
      cwd: "/",
    },
  );
  return stdout
    .split("\n")
    .slice(0, lines.length)
    .map((l) =>
      l
        .split(" ")
        .filter((w) => w !== "")
        .sort(),
    );
}

describe("gitward completion", () => {
  it("bash: completes from the program tree in a real bash", async () => {
    const r = await runCli(["completion", "bash"]);
    expect(r.code, r.stderr).toBe(0);
    const [all = [], im, sub = [], flags, choices, value, afterValue] = await complete(r.stdout, [
      ["gitward", ""],
      ["gitward", "im"],
      ["gitward", "images", ""],
      ["gitward", "images", "verify", "--tr"],
      ["gitward", "check", "-o", ""],
      ["gitward", "images", "verify", "--trust", "et"],
      // After an option's value the command's own options complete again.
      ["gitward", "check", "-o", "json", "--tr"],
    ]);
    for (const name of [
      "check",
      "verify",
      "images",
      "secrets",
      "version",
      "completion",
      "--version",
      "--help",
    ])
      expect(all).toContain(name);
    expect(all.filter((w) => !w.startsWith("-") && !/^[a-z][a-z-]*$/.test(w))).toEqual([]);
    expect(im).toEqual(["images"]);
    expect(sub).toEqual(expect.arrayContaining(["verify", "sign", "attest", "--help"]));
    expect(sub).not.toContain("check");
    expect(flags).toEqual(["--trust"]);
    expect(choices).toEqual(["json", "sarif", "text"]);
    expect(value).toEqual(["etc"]); // file names, from cwd /
    expect(afterValue).toEqual(["--trust"]);
  });

  it("zsh and fish scripts name every command path; an unknown shell is a usage error", async () => {
    for (const shell of ["zsh", "fish"] as const) {
      const { code, stdout: script } = await runCli(["completion", shell]);
      expect(code).toBe(0);
      expect(script).toContain("'gitward images verify'");
      expect(script).toContain("'gitward secrets keygen'");
    }
    const r = await runCli(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gitward: error: command-argument value 'tcsh' is invalid/);
  });
});
