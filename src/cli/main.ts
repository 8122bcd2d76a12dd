#!/usr/bin/env node
// gitward's command line: builds the commander program from one file per command and maps every
// failure to the documented exit codes (0 ok, 1 findings, 2 usage or configuration error, 70 internal
// error). An unexpected error is one line on stderr, never a stack trace unless --debug asks for it.
// First, before anything else loads: refuses a too old Node.js with one line (runtime-check.ts).
import "./runtime-check.js";
import { Command, CommanderError } from "commander";
import { ClusterError } from "../cluster/errors.js";
import { AuditError } from "../audit/writer.js";
import { ConfigError } from "../config/errors.js";
import { RegistryError } from "../images/errors.js";
import { GitCommandError } from "../source/git.js";
import { SourceError } from "../source/errors.js";
import { EXIT_CODES_HELP, ExitCode } from "./exit.js";
import { registerAudit } from "./commands/audit.js";
import { registerCheck } from "./commands/check.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDemo } from "./commands/demo.js";
import { registerDiff } from "./commands/diff.js";
import { registerImages } from "./commands/images.js";
import { registerImagesPin } from "./commands/images-pin.js";
import { registerInstall } from "./commands/install.js";
import { registerReconcile } from "./commands/reconcile.js";
import { registerRender } from "./commands/render.js";
import { registerRun } from "./commands/run.js";
import { registerSandbox } from "./commands/sandbox.js";
import { registerSecrets } from "./commands/secrets.js";
import { registerStatus } from "./commands/status.js";
import { registerVerify } from "./commands/verify.js";
import { registerVulndb } from "./commands/vulndb.js";
import { registerWebhook } from "./commands/webhook.js";
import { registerVersion } from "./commands/version.js";
import { registerCompletion } from "./commands/completion.js";
import { versionLine } from "./build-info.js";
import { registerGet } from "./commands/get.js";
import { registerSuspend } from "./commands/suspend.js";
import { registerRollback } from "./commands/rollback.js";
import { registerHistory } from "./commands/history.js";

export function buildProgram(): Command {
  const program = new Command("gitward")
    .description(
      "Security-first GitOps for Kubernetes: only change signed by an authorized key, built into " +
        "signed images and passing policy ever reaches the cluster.\n\n" +
        EXIT_CODES_HELP,
    )
    .option("-V, --version", "print the version and build info (commit, build date, Node)")
    .option("--debug", "on an internal error, print its stack trace")
    .exitOverride();
  // Build info is read only when asked for (it may run git), not on every start as .version() would.
  program.on("option:version", () => {
    process.stdout.write(`${versionLine()}\n`);
    throw new CommanderError(0, "commander.version", "");
  });
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
    registerDashboard,
    registerVulndb,
    registerWebhook,
    registerInstall,
    registerVersion,
    registerCompletion,
    registerGet,
    registerSuspend,
    registerRollback,
    registerHistory,
  ]) {
    register(program);
  }
  oneLineUsageErrors(program, "gitward");
  return program;
}

/**
 * A usage error is one line and a pointer to the command's --help, not the whole help text (which
 * buries the error); every command and subcommand throws instead of exiting, so main maps the code.
 */
function oneLineUsageErrors(cmd: Command, path: string): void {
  cmd
    .exitOverride()
    .showHelpAfterError(`Run '${path} --help' for usage.`)
    .configureOutput({
      outputError: (text, write) => {
        write(`gitward: ${text}`);
      },
    });
  for (const sub of cmd.commands) oneLineUsageErrors(sub, `${path} ${sub.name()}`);
}

/** Errors of gitward's own domains: they carry a message meant for the user. */
const EXPECTED = [ClusterError, RegistryError, GitCommandError, SourceError, AuditError];

/** Reads --debug before commander does, so that even a failure while parsing honours it. */
const debug = process.argv.includes("--debug");

/** One line for an unexpected error (the stack only with --debug); returns the internal-error code. */
function internalError(err: unknown): number {
  const stack = err instanceof Error ? err.stack : undefined;
  if (debug && stack !== undefined) {
    process.stderr.write(`${stack}\n`);
  } else {
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
    process.stderr.write(
      `gitward: internal error: ${message.slice(0, 500) || "unknown"}; run with --debug for details\n`,
    );
  }
  return ExitCode.Internal;
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
    if (err instanceof ConfigError || EXPECTED.some((E) => err instanceof E)) {
      process.stderr.write(`gitward: ${(err as Error).message}\n`);
      return ExitCode.Usage;
    }
    return internalError(err);
  }
}

// Errors outside the awaited chain (an 'error' event nobody listens to, such as EPIPE when stdout is
// closed, or a promise nobody awaits) end the process too, but with the same one line and code.
const crash = (err: unknown): void => {
  process.exit(internalError(err));
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

process.exitCode = await main(process.argv);
