// `gitward get apps [NAME] [-n NS | -A] [-o table|json|yaml]` (also `get applications`): what each
// Application runs and why, from the status the operator keeps: the revision applied and the latest seen,
// its signer, Ready, the last error's verdict code, drift, suspended or pinned, and age.
import type { Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { appRow, getApp, listApps, type AppRow } from "../../day2/apps.js";
import {
  addClusterOptions,
  age,
  clusterClient,
  formatTable,
  namespaceOf,
  printStructured,
  type ClusterFlags,
} from "../cluster-flags.js";

const short = (sha: string | undefined) => (sha === undefined ? "-" : sha.slice(0, 12));

function table(rows: readonly AppRow[], withNamespace: boolean): string {
  const header = [
    ...(withNamespace ? ["NAMESPACE"] : []),
    "NAME",
    "READY",
    "REVISION",
    "LATEST",
    "SIGNER",
    "DRIFT",
    "SUSPENDED",
    "PINNED",
    "AGE",
    "LAST ERROR",
  ];
  const cells = rows.map((r) => [
    ...(withNamespace ? [r.namespace] : []),
    r.name,
    r.ready,
    short(r.revision),
    r.latest === r.revision ? "=" : short(r.latest),
    r.signer ?? "-",
    String(r.driftedObjects),
    r.suspended ? "yes" : "no",
    short(r.pinnedRevision),
    age(r.created),
    r.lastError === undefined ? "-" : `${r.lastError.reason}: ${r.lastError.message}`.slice(0, 160),
  ]);
  return formatTable(header, cells);
}

export function registerGet(program: Command): void {
  const get = program.command("get").description("show gitward's objects in the cluster (as `flux get`)");
  addClusterOptions(
    get
      .command("apps")
      .alias("applications")
      .description(
        "List Applications: the revision applied and the latest seen (LATEST '=' when the same), its " +
          "signer, Ready, the last error's verdict code and reason, drifted objects, suspended, a rollback " +
          "pin, and age. From the status the operator writes.",
      )
      .argument("[name]", "one Application"),
    { list: true, output: true },
  ).action(async (name: string | undefined, flags: ClusterFlags) => {
    if (name !== undefined && flags.allNamespaces === true) {
      throw new ConfigError("a name and -A do not go together: give -n NAMESPACE", "gitward get apps");
    }
    const cluster = clusterClient(flags);
    try {
      const ns = namespaceOf(flags);
      const objects =
        name === undefined ? await listApps(cluster, ns) : [await getApp(cluster, ns ?? "", name)];
      const rows = objects.map(appRow);
      if (flags.output === "json" || flags.output === "yaml") {
        printStructured({ applications: rows }, flags.output);
      } else if (rows.length === 0) {
        process.stdout.write(`no Applications${ns === undefined ? "" : ` in namespace ${ns}`}\n`);
      } else {
        process.stdout.write(table(rows, ns === undefined));
      }
    } finally {
      cluster.close();
    }
  });
}
