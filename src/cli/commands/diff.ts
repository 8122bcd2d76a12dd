// `gitward diff [APP]` (and `gitward reconcile --dry-run`): runs the reconcile of each Application up to its
// plan (fetch, verify, render, check, pin, the server-side dry run as the application's service account)
// and prints what it would change like `kubectl diff`: a unified diff per object of the cleaned YAML, and
// the objects prune would delete. Nothing is written: no object, inventory, status, audit record or Event.
// Secret values never appear, in text or JSON. Exit 0 no differences, 1 differences, 2 usage, 3 refused.
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { loadConfig, type ConfigSet } from "../../config/load.js";
import { ClusterClient } from "../../cluster/client.js";
import type { AppId } from "../../reconcile/inventory.js";
import { previewDiffs, type ObjectDiff } from "../../reconcile/preview.js";
import type { PlanPreview, ReconcileReport } from "../../reconcile/reconcile.js";
import { reconcileConfig } from "../../reconcile/run-config.js";
import { resolveTools } from "../../render/tool.js";
import { ExitCode } from "../exit.js";
import { addToolOptions } from "../tool-options.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

/**
 * kubectl diff's convention: 0 no differences, 1 differences, above 1 an error. exit.ts (owned elsewhere)
 * has no code for "the dry run itself was refused"; 3 keeps 2 meaning usage or configuration error.
 */
export const DIFF_REFUSED = 3;

export interface AppFlags {
  config?: string;
  app?: string;
  kubeconfig?: string;
  cacheDir?: string;
  kubectl?: string;
  helm?: string;
}

/**
 * The config an APP argument names: an Application YAML file (its TrustPolicy from the same file or from
 * --config), or the name of one Application of --config. Returns the config path too (cache, policies).
 */
export async function appConfig(
  arg: string | undefined,
  flags: AppFlags,
): Promise<{ configPath: string; config: ConfigSet; only?: string }> {
  const file =
    flags.app ?? (arg !== undefined && existsSync(arg) && statSync(arg).isFile() ? arg : undefined);
  const base = flags.config === undefined ? undefined : await loadConfig(flags.config);
  if (file !== undefined) {
    const own = await loadConfig(file);
    return {
      configPath: flags.config ?? file,
      config: {
        ...own,
        trustPolicies: [...own.trustPolicies, ...(base?.trustPolicies ?? [])],
      },
    };
  }
  if (base === undefined || flags.config === undefined) {
    throw new ConfigError(
      "name an Application file (APP or --app FILE), or give --config with the Application's name",
    );
  }
  return { configPath: flags.config, config: base, ...(arg === undefined ? {} : { only: arg }) };
}

/** Runs the dry run of every Application `appConfig` names and hands each preview to `onPlan`. */
export async function dryRunApps(
  arg: string | undefined,
  flags: AppFlags,
  onPlan: (cluster: ClusterClient, app: AppId, preview: PlanPreview) => Promise<void>,
): Promise<ReconcileReport[]> {
  const { configPath, config, only } = await appConfig(arg, flags);
  // The previews are handled after the pass: previewDiffs reads prunable objects with its own client.
  const previews: { app: AppId; preview: PlanPreview }[] = [];
  const reports = await reconcileConfig({
    configPath,
    config,
    ...(only === undefined ? {} : { only }),
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
    env: {
      dryRun: true,
      onPlan: (app, preview) => previews.push({ app, preview }),
      tools: resolveTools(flags),
    },
    log: (line) => process.stderr.write(`gitward: ${line}\n`),
  });
  const cluster = ClusterClient.fromFile(flags.kubeconfig);
  try {
    for (const p of previews) await onPlan(cluster, p.app, p.preview);
  } finally {
    cluster.close();
  }
  return reports;
}

function printDiffs(
  reports: readonly ReconcileReport[],
  diffs: ReadonlyMap<string, ObjectDiff[]>,
  output: OutputFormat,
): void {
  const name = (r: ReconcileReport) => `${r.application.namespace}/${r.application.name}`;
  if (output === "json") {
    printJson({
      applications: reports.map((r) => ({
        application: r.application,
        ...(r.revision === undefined ? {} : { revision: r.revision }),
        result: r.result === "unchanged" ? "dry-run" : r.result,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        message: r.message,
        details: r.details,
        differences: diffs.get(name(r)) ?? [],
      })),
    });
    return;
  }
  for (const r of reports) {
    const list = diffs.get(name(r));
    if (list === undefined) {
      process.stderr.write(`gitward: ${name(r)}: ${r.reason ?? "REFUSED"}: ${r.message}\n`);
      for (const d of r.details) process.stderr.write(`gitward:   ${d}\n`);
      continue;
    }
    for (const d of list) process.stdout.write(d.diff);
  }
}

/** The diff of every Application named, printed; resolves the exit code. */
export async function runDiff(
  arg: string | undefined,
  flags: AppFlags & { output: OutputFormat },
): Promise<number> {
  const diffs = new Map<string, ObjectDiff[]>();
  const reports = await dryRunApps(arg, flags, async (cluster, app, preview) => {
    diffs.set(`${app.namespace}/${app.name}`, await previewDiffs(cluster, app, preview));
  });
  printDiffs(reports, diffs, flags.output);
  if (reports.some((r) => r.result === "refused" || r.result === "failed")) return DIFF_REFUSED;
  return [...diffs.values()].some((l) => l.length > 0) ? ExitCode.Findings : ExitCode.Ok;
}

/** --config, --app, --kubeconfig and --cache-dir: how diff and render find an Application and its cluster. */
export function addAppOptions(cmd: Command): Command {
  return cmd
    .option("--config <file>", "gitward.yaml with the TrustPolicy (and Applications, chosen by name)")
    .option("--app <file>", "Application YAML file (instead of naming one of --config)")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--cache-dir <dir>", "git mirror cache (default <config dir>/.gitward/cache)");
}

export function registerDiff(program: Command): void {
  addAppOptions(
    addToolOptions(program.command("diff"))
      .description(
        "Show what a reconcile of APP would change, like kubectl diff: every step up to the plan runs " +
          "(fetch, verify, render, check, pin, a server-side dry run as the application's service " +
          "account), then a unified diff per object of the live object against the dry-run result, and " +
          "the objects prune would delete. Nothing is written. Secret values are never shown.\n" +
          "Exit 0 no differences, 1 differences, 2 usage or configuration error, 3 the revision was " +
          "refused (the reasons are printed).",
      )
      .argument("[app]", "Application YAML file, or the name of an Application of --config"),
  )
    .addOption(outputOption())
    .action(async (arg: string | undefined, flags: AppFlags & { output: OutputFormat }) => {
      process.exitCode = await runDiff(arg, flags);
    });
}
