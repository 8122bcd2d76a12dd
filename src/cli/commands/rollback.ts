// `gitward rollback APP REV [--timeout 2m] [--no-wait]` (as `argocd app rollback`): pins the Application
// to an earlier revision that the audit trail shows it had applied; the operator verifies that revision
// again (signatures, policy, images) before applying it. The pin ends with the next commit on the branch
// or `gitward resume`. Exit 0 when applied, 1 when the operator refused it, 2 on a usage error.
import type { Command } from "commander";
import { parseDuration } from "../../config/duration.js";
import { ConfigError } from "../../config/errors.js";
import { RECONCILE_REQUEST_ANNOTATION } from "../../day2/app-control.js";
import { getApp, patchApp, statusOf } from "../../day2/apps.js";
import { planRollback } from "../../day2/rollback.js";
import { readTrail, recordsOf, trustedRecords } from "../../day2/trail.js";
import { waitHandled } from "../../day2/wait.js";
import { ExitCode } from "../exit.js";
import { addClusterOptions, clusterClient, namespaceOf, type ClusterFlags } from "../cluster-flags.js";

interface Flags extends ClusterFlags {
  auditLog?: string;
  systemNamespace: string;
  timeout: string;
  wait: boolean;
}

/** A --timeout style flag in ms, or a usage error naming it. */
export function timeoutFlag(name: string, value: string, where: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(`${name} ${value}: give a duration such as 30s or 2m`, where);
  return ms;
}

export function addTrailOptions(cmd: Command): Command {
  return cmd
    .option("--audit-log <file>", "read the audit trail from this file instead of the cluster")
    .option("--system-namespace <ns>", "namespace of gitward's cluster audit trail", "gitward-system");
}

export function registerRollback(program: Command): void {
  addTrailOptions(
    addClusterOptions(
      program
        .command("rollback")
        .description(
          "Pin an Application to an earlier revision it had applied (found in the audit trail; a refused " +
            "or unknown revision is refused). The operator verifies it again before applying, records a " +
            "rolled-back audit record, and shows the pin in `gitward get apps`; the next commit on the " +
            "branch, or `gitward resume`, ends the pin.\n" +
            "Exit 0 applied, 1 refused by the operator, 2 usage error or not a revision to roll back to.",
        )
        .argument("<app>", "Application name")
        .argument("<revision>", "commit id (at least 7 hex digits) of an earlier applied revision")
        .option("--timeout <duration>", "how long to wait for the operator", "2m")
        .option("--no-wait", "set the pin and return"),
    ),
  ).action(async (name: string, revision: string, flags: Flags) => {
    const timeoutMs = timeoutFlag("--timeout", flags.timeout, "gitward rollback");
    const cluster = clusterClient(flags);
    const ns = namespaceOf(flags) ?? "";
    try {
      const app = await getApp(cluster, ns, name);
      const trail = await readTrail(
        flags.auditLog === undefined
          ? { cluster, systemNamespace: flags.systemNamespace }
          : { file: flags.auditLog },
      );
      const spec = (app["spec"] ?? {}) as { rollback?: { branchHead: string } };
      const plan = planRollback({
        app: name,
        revision,
        records: recordsOf(trustedRecords(trail), ns, name),
        status: statusOf(app),
        ...(spec.rollback === undefined ? {} : { currentPin: spec.rollback }),
      });
      const token = new Date().toISOString();
      await patchApp(cluster, ns, name, {
        spec: { rollback: { verifyFrom: null, ...plan } },
        metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: token } },
      });
      process.stderr.write(
        `gitward: ${ns}/${name}: pinned to ${plan.revision.slice(0, 12)} while the branch stays at ${plan.branchHead.slice(0, 12)}\n`,
      );
      if (!flags.wait) return;
      const status = await waitHandled(cluster, ns, name, token, {
        timeoutMs,
        progress: (line) => process.stderr.write(`gitward: ${line}\n`),
      });
      const ready = status.conditions?.find((c) => c.type === "Ready");
      if (status.pinnedRevision === plan.revision && status.lastAppliedRevision === plan.revision) {
        process.stdout.write(
          `${ns}/${name}: rolled back to ${plan.revision.slice(0, 12)}; audit record ${status.lastAuditRecord ?? "-"}\n`,
        );
        process.exitCode = ExitCode.Ok;
      } else {
        process.stdout.write(
          `${ns}/${name}: rollback to ${plan.revision.slice(0, 12)} NOT applied: ${ready?.reason ?? "?"}: ${ready?.message ?? ""}\n`,
        );
        process.exitCode = ExitCode.Findings;
      }
    } finally {
      cluster.close();
    }
  });
}
