#!/usr/bin/env node
// gitward's command line: builds the commander program from one file per command and maps every
// failure to the documented exit codes (0 ok, 1 findings, 2 usage or configuration error).
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors.js";
import { ExitCode } from "./exit.js";
import { registerAudit } from "./commands/audit.js";
import { registerCheck } from "./commands/check.js";
import { registerDemo } from "./commands/demo.js";
import { registerDiff } from "./commands/diff.js";
import { registerImages } from "./commands/images.js";
import { registerImagesPin } from "./commands/images-pin.js";
import { registerReconcile } from "./commands/reconcile.js";
import { registerRender } from "./commands/render.js";
import { registerRun } from "./commands/run.js";
import { registerSandbox } from "./commands/sandbox.js";
import { registerSecrets } from "./commands/secrets.js";
import { registerStatus } from "./commands/status.js";
import { registerVerify } from "./commands/verify.js";

export function buildProgram(): Command {
  const program = new Command("gitward")
    .description(
      "Security-first GitOps for Kubernetes: only change signed by an authorized key, built into " +
        "signed images and passing policy ever reaches the cluster.\n\n" +
        "Exit codes: 0 ok, 1 the check found problems, 2 usage or configuration error.",
    )
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerSandbox,
    registerVerify,
    registerCheck,
    registerImages,
    registerImagesPin,
    registerSecrets,
    registerReconcile,
    registerRender,
    registerDiff,
    registerRun,
    registerStatus,
    registerAudit,
    registerDemo,
  ]) {
    register(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; every other commander error is a usage error.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return ExitCode.Ok;
      if (err.code === "commander.help") return ExitCode.Ok;
      return ExitCode.Usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`gitward: ${err.message}\n`);
      return ExitCode.Usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`gitward: ${message}\n`);
    return ExitCode.Usage;
  }
}

process.exitCode = await main(process.argv);
