// `gitward status [--config FILE | --in-cluster] [-o json]`: one line per Application from the status
// gitward keeps for it (the state ConfigMap for a gitward.yaml, the CRD status in the cluster): revision,
// signer, Ready, drift and the last reconcile. Exit 0 when every Application is Ready, 1 otherwise.
import type { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import { ConfigError } from "../../config/errors.js";
import { API_VERSION, type ApplicationStatus } from "../../config/types.js";
import { ClusterClient } from "../../cluster/client.js";
import { CrdStateStore } from "../../reconcile/cluster-config.js";
import type { AppId } from "../../reconcile/inventory.js";
import { ConfigMapStateStore, type StateStore } from "../../reconcile/state.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

interface Flags {
  config?: string;
  inCluster?: boolean;
  kubeconfig?: string;
  systemNamespace: string;
  output: OutputFormat;
}

export interface StatusRow {
  application: AppId;
  revision?: string;
  signer?: string;
  ready: "True" | "False" | "Unknown";
  reason?: string;
  driftedObjects: number;
  lastReconcileTime?: string;
  lastDriftTime?: string;
  message?: string;
}

export function statusRow(application: AppId, status: ApplicationStatus | undefined): StatusRow {
  const ready = status?.conditions?.find((c) => c.type === "Ready");
  return {
    application,
    ...(status?.lastAppliedRevision === undefined ? {} : { revision: status.lastAppliedRevision }),
    ...(status?.lastAppliedSigner === undefined ? {} : { signer: status.lastAppliedSigner }),
    ready: ready?.status ?? "Unknown",
    ...(ready === undefined ? {} : { reason: ready.reason, message: ready.message }),
    driftedObjects: status?.driftedObjects ?? 0,
    ...(status?.lastReconcileTime === undefined ? {} : { lastReconcileTime: status.lastReconcileTime }),
    ...(status?.lastDriftTime === undefined ? {} : { lastDriftTime: status.lastDriftTime }),
  };
}

function line(r: StatusRow): string {
  const name = `${r.application.namespace}/${r.application.name}`;
  const drift = r.driftedObjects === 0 ? "none" : `${r.driftedObjects} object(s)`;
  return (
    `${name}  revision ${r.revision?.slice(0, 12) ?? "-"}  signer ${r.signer ?? "-"}  ` +
    `Ready ${r.ready}${r.reason === undefined ? "" : ` (${r.reason})`}  drift ${drift}  ` +
    `last reconcile ${r.lastReconcileTime ?? "never"}\n`
  );
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description(
      "Show every Application's applied revision, its signer, Ready, drift and the last reconcile, from " +
        "the status gitward keeps (state ConfigMaps for --config, the CRD status for --in-cluster).\n" +
        "Exit 0 when every Application is Ready, 1 when any is not, 2 on a usage or configuration error.",
    )
    .option("--config <file>", "gitward.yaml whose Applications to show")
    .option("--in-cluster", "show the Applications of the cluster's CRDs")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--system-namespace <ns>", "namespace of gitward's own objects", "gitward-system")
    .addOption(outputOption())
    .action(async (flags: Flags) => {
      if ((flags.config === undefined) === (flags.inCluster !== true)) {
        throw new ConfigError("give exactly one of --config FILE or --in-cluster", "gitward status");
      }
      const config = flags.config === undefined ? undefined : await loadConfig(flags.config);
      const cluster = ClusterClient.fromFile(flags.kubeconfig);
      try {
        let ids: AppId[];
        let store: StateStore;
        if (config !== undefined) {
          ids = config.applications.map((a) => ({ namespace: a.metadata.namespace, name: a.metadata.name }));
          store = new ConfigMapStateStore(cluster);
        } else {
          const apps = await cluster.list(API_VERSION, "Application");
          ids = apps.map((a) => ({ namespace: a.metadata.namespace ?? "", name: a.metadata.name }));
          store = new CrdStateStore(cluster, flags.systemNamespace);
        }
        const rows: StatusRow[] = [];
        for (const id of ids) rows.push(statusRow(id, (await store.load(id))?.status));
        if (flags.output === "json") printJson({ applications: rows });
        else if (rows.length === 0) process.stdout.write("no Applications\n");
        else for (const r of rows) process.stdout.write(line(r));
        process.exitCode = rows.every((r) => r.ready === "True") ? ExitCode.Ok : ExitCode.Findings;
      } finally {
        cluster.close();
      }
    });
}
