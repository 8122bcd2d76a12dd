// `gitward suspend APP` / `gitward resume APP` (as `flux suspend|resume`): sets or clears the
// Application's spec.suspend. While suspended the operator reconciles nothing and corrects no drift;
// resume also clears a rollback pin (spec.rollback), so the branch head is reconciled again at once.
import type { Command } from "commander";
import { RECONCILE_REQUEST_ANNOTATION } from "../../day2/app-control.js";
import { patchApp } from "../../day2/apps.js";
import { addClusterOptions, clusterClient, namespaceOf, type ClusterFlags } from "../cluster-flags.js";

async function setSuspend(name: string, flags: ClusterFlags, suspend: boolean): Promise<void> {
  const cluster = clusterClient(flags);
  const ns = namespaceOf(flags) ?? "";
  try {
    const spec = suspend ? { suspend: true } : { suspend: null, rollback: null };
    // A new request token, so the operator acts at once (and `get apps` shows it was handled).
    const annotations = { [RECONCILE_REQUEST_ANNOTATION]: new Date().toISOString() };
    await patchApp(cluster, ns, name, { spec, metadata: { annotations } });
    process.stdout.write(
      suspend
        ? `suspended Application ${ns}/${name}: no reconcile and no drift correction until \`gitward resume ${name}\`\n`
        : `resumed Application ${ns}/${name} (any rollback pin cleared): it reconciles from the branch head again\n`,
    );
  } finally {
    cluster.close();
  }
}

export function registerSuspend(program: Command): void {
  addClusterOptions(
    program
      .command("suspend")
      .description(
        "Suspend an Application: the operator stops reconciling it and correcting its drift (its " +
          "objects stay as they are) until `gitward resume`.",
      )
      .argument("<app>", "Application name"),
  ).action((name: string, flags: ClusterFlags) => setSuspend(name, flags, true));
  addClusterOptions(
    program
      .command("resume")
      .description(
        "Resume a suspended Application, and clear a rollback pin: the operator reconciles the branch head again.",
      )
      .argument("<app>", "Application name"),
  ).action((name: string, flags: ClusterFlags) => setSuspend(name, flags, false));
}
