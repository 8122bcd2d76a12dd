// `gitward reconcile --config gitward.yaml [--kubeconfig FILE] [--once] [-o json]` and
// `gitward restore --config gitward.yaml`: one pass over every Application (restore: applying every object
// whatever the cluster holds), a report per Application; exit 1 when any was refused or failed.
import { Option, type Command } from "commander";
import { resolveTools } from "../../render/tool.js";
import { addToolOptions } from "../tool-options.js";
import { reconcileConfig } from "../../reconcile/run-config.js";
import { formatReport } from "../../reconcile/format.js";
import type { ReconcileReport } from "../../reconcile/reconcile.js";
import { ExitCode } from "../exit.js";
import { runDiff } from "./diff.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

interface Flags {
  config: string;
  kubeconfig?: string;
  once?: boolean;
  dryRun?: boolean;
  cacheDir?: string;
  auditLog?: string;
  auditKey?: string;
  preflight: "dry-run" | "access-review";
  kubectl?: string;
  helm?: string;
  output: OutputFormat;
}

function addCommon(cmd: Command): Command {
  return addToolOptions(cmd)
    .requiredOption("--config <file>", "gitward.yaml with TrustPolicy and Application documents")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--cache-dir <dir>", "git mirror cache (default <config dir>/.gitward/cache)")
    .option("--audit-log <file>", "audit log to append to (default <config dir>/.gitward/audit.jsonl)")
    .option(
      "--audit-key <file>",
      "ed25519 private key (PEM, from `gitward audit keygen`) that signs every audit record; without it records are unsigned",
    )
    .addOption(
      new Option(
        "--preflight <mode>",
        "how writes are proven before the first one: a server-side dry run of every object, or one " +
          "access review per resource, namespace and verb (RBAC only, fewer requests)",
      )
        .choices(["dry-run", "access-review"])
        .default("dry-run"),
    )
    .addOption(outputOption());
}

async function runPass(flags: Flags, restore: boolean): Promise<void> {
  const reports = await reconcileConfig({
    configPath: flags.config,
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
    ...(flags.auditLog === undefined ? {} : { auditPath: flags.auditLog }),
    ...(flags.auditKey === undefined ? {} : { auditKeyPath: flags.auditKey }),
    restore,
    env: { preflight: flags.preflight, tools: resolveTools(flags) },
    log: (line) => process.stderr.write(`gitward: ${line}\n`),
  });
  print(reports, flags.output);
  const bad = reports.some((r) => r.result === "refused" || r.result === "failed");
  process.exitCode = bad ? ExitCode.Findings : ExitCode.Ok;
}

function print(reports: readonly ReconcileReport[], output: OutputFormat): void {
  if (output === "json") {
    printJson({ applications: reports });
    return;
  }
  if (reports.length === 0) process.stdout.write("no Applications in the config\n");
  for (const r of reports) process.stdout.write(formatReport(r));
}

export function registerReconcile(program: Command): void {
  addCommon(
    program
      .command("reconcile")
      .description(
        "Reconcile every Application of a gitward.yaml: fetch, verify every new commit, render, check " +
          "policy, images and sealed secrets, then apply as each application's service account, prune " +
          "and wait for health. Anything refused leaves the cluster as it was.\n" +
          "Exit 0 all applied or unchanged, 1 any refused or failed, 2 usage or configuration error.",
      )
      .option("--once", "one pass, then exit (the only mode of the CLI; the operator loops)")
      .option(
        "--dry-run",
        "write nothing: print what would change, as `gitward diff` does (exit 0 no differences, 1 " +
          "differences, 3 refused)",
      ),
  ).action(async (flags: Flags) => {
    if (flags.dryRun === true) process.exitCode = await runDiff(undefined, flags);
    else await runPass(flags, false);
  });

  addCommon(
    program
      .command("restore")
      .description(
        "Disaster recovery: rebuild every Application of a gitward.yaml from git alone on a (possibly " +
          "empty) cluster, verified as always, applying every object whatever the cluster holds.\n" +
          "Exit 0 all restored, 1 any refused or failed, 2 usage or configuration error.",
      ),
  ).action((flags: Flags) => runPass(flags, true));
}
