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
import { ConfigError } from "../../config/errors.js";
import { API_VERSION } from "../../config/types.js";
import { loadKubeconfig } from "../../cluster/kubeconfig.js";
import { appRow, requestReconcile } from "../../day2/apps.js";
import { waitHandled } from "../../day2/wait.js";
import { clusterClient, namespaceOf } from "../cluster-flags.js";
import { timeoutFlag } from "./rollback.js";

interface Flags {
  config?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  now?: boolean;
  timeout?: string;
  healthTimeout: string;
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
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--context <name>", "kubeconfig context to use (default its current-context)")
    .option(
      "--timeout <duration>",
      "give up after this long (--now: waiting for the operator, default 2m; --config: the whole pass)",
    )
    .option("--health-timeout <duration>", "how long to wait for workloads to become ready", "60s")
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

/** `reconcile APP --now`: the request annotation, then progress until the operator has handled it. */
async function requestNow(app: string | undefined, flags: Flags): Promise<number> {
  const where = "gitward reconcile --now";
  if (app === undefined || flags.config !== undefined) {
    throw new ConfigError(
      "give the Application's name and no --config: --now asks the operator in the cluster",
      where,
    );
  }
  const timeoutMs = timeoutFlag("--timeout", flags.timeout ?? "2m", where);
  const cluster = clusterClient(flags);
  const ns = namespaceOf(flags) ?? "";
  try {
    const token = await requestReconcile(cluster, ns, app);
    process.stderr.write(`gitward: ${ns}/${app}: reconcile requested at ${token}\n`);
    const status = await waitHandled(cluster, ns, app, token, {
      timeoutMs,
      progress: (line) => process.stderr.write(`gitward: ${line}\n`),
    });
    const row = appRow({
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: app, namespace: ns },
      status,
    });
    if (flags.output === "json") printJson({ application: row });
    else {
      const ready = status.conditions?.find((c) => c.type === "Ready");
      process.stdout.write(
        `${ns}/${app}: reconciled: Ready ${row.ready} (${ready?.reason ?? "?"}) revision ${row.revision?.slice(0, 12) ?? "-"}` +
          `${row.signer === undefined ? "" : ` signed by ${row.signer}`}${ready === undefined ? "" : `: ${ready.message}`}\n`,
      );
    }
    return row.ready === "True" || status.suspended === true ? ExitCode.Ok : ExitCode.Findings;
  } finally {
    cluster.close();
  }
}

async function runPass(flags: Flags, restore: boolean, only?: string): Promise<void> {
  const where = restore ? "gitward restore" : "gitward reconcile";
  if (flags.config === undefined) {
    throw new ConfigError(
      "give --config FILE (reconcile from this machine), or APP --now (ask the operator in the cluster)",
      where,
    );
  }
  const healthTimeoutMs = timeoutFlag("--health-timeout", flags.healthTimeout, where);
  const timeoutMs = flags.timeout === undefined ? undefined : timeoutFlag("--timeout", flags.timeout, where);
  // The whole pass is bounded: when the time is up the process ends, as a stop would; an apply cut
  // short is completed by the next reconcile (the inventory is written ahead of it).
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          process.stderr.write(`gitward: ${where}: not done within ${flags.timeout ?? ""}; stopped\n`);
          process.exit(ExitCode.Findings);
        }, timeoutMs);
  timer?.unref();
  const kubeconfig =
    flags.context === undefined ? undefined : loadKubeconfig(flags.kubeconfig, { context: flags.context });
  const stages = new Map<string, string>();
  const reports = await reconcileConfig({
    configPath: flags.config,
    ...(only === undefined ? {} : { only }),
    ...(kubeconfig === undefined && flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
    ...(kubeconfig === undefined ? {} : { resolvedKubeconfig: kubeconfig }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
    ...(flags.auditLog === undefined ? {} : { auditPath: flags.auditLog }),
    ...(flags.auditKey === undefined ? {} : { auditKeyPath: flags.auditKey }),
    restore,
    env: {
      preflight: flags.preflight,
      tools: resolveTools(flags),
      healthTimeoutMs,
      onStage: (app, stage) => {
        // Live progress is for a person at a terminal; a script reading stderr gets only problems.
        if (!process.stderr.isTTY) return;
        const key = `${app.namespace}/${app.name}`;
        if (stages.get(key) === stage) return;
        stages.set(key, stage);
        process.stderr.write(
          `gitward: ${key}: ${stage}${stage === "health" ? " (waiting for workloads)" : ""}\n`,
        );
      },
    },
    log: (line) => process.stderr.write(`gitward: ${line}\n`),
  });
  if (timer !== undefined) clearTimeout(timer);
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
      .argument("[app]", "only this Application (with --now: the Application in the cluster)")
      .description(
        "Reconcile every Application of a gitward.yaml: fetch, verify every new commit, render, check " +
          "policy, images and sealed secrets, then apply as each application's service account, prune " +
          "and wait for health. Anything refused leaves the cluster as it was. Progress per Application " +
          "and stage goes to stderr on a terminal. `gitward reconcile APP --now` instead asks the operator in the " +
          "cluster to reconcile APP at once (an annotation, as Flux's requestedAt) and waits for it.\n" +
          "Exit 0 all applied or unchanged, 1 any refused or failed, 2 usage or configuration error.",
      )
      .option("--once", "one pass, then exit (the only mode of the CLI; the operator loops)")
      .option("--config <file>", "gitward.yaml with TrustPolicy and Application documents")
      .option(
        "--now",
        "ask the operator to reconcile APP at once and wait until it has (needs APP, not --config)",
      )
      .option("-n, --namespace <ns>", "with --now: namespace of the Application (default gitward-system)")
      .option(
        "--dry-run",
        "write nothing: print what would change, as `gitward diff` does (exit 0 no differences, 1 " +
          "differences, 3 refused)",
      ),
  ).action(async (app: string | undefined, flags: Flags) => {
    if (flags.now === true) {
      process.exitCode = await requestNow(app, flags);
      return;
    }
    if (flags.dryRun === true) {
      if (flags.config === undefined)
        throw new ConfigError("--dry-run needs --config FILE", "gitward reconcile");
      process.exitCode = await runDiff(app, { ...flags, config: flags.config });
    } else await runPass(flags, false, app);
  });

  addCommon(
    program
      .command("restore")
      .description(
        "Disaster recovery: rebuild every Application of a gitward.yaml from git alone on a (possibly " +
          "empty) cluster, verified as always, applying every object whatever the cluster holds.\n" +
          "Exit 0 all restored, 1 any refused or failed, 2 usage or configuration error.",
      )
      .requiredOption("--config <file>", "gitward.yaml with TrustPolicy and Application documents"),
  ).action((flags: Flags) => runPass(flags, true));
  // restore takes no Application name; --context works as for reconcile.
}
