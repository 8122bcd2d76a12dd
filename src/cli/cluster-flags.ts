// The kubectl-style flags of every command that talks to a cluster (get, suspend, resume, rollback,
// reconcile --now, history, audit verify/export): --kubeconfig, --context, -n/--namespace, and where a
// command lists, -A/--all-namespaces and -o table|json|yaml. One place, so they mean the same everywhere.
import { Option, type Command } from "commander";
import { stringify } from "yaml";
import { ClusterClient } from "../cluster/client.js";
import { loadKubeconfig } from "../cluster/kubeconfig.js";

/** Where gitward's Applications live unless -n says otherwise (as flux-system for Flux). */
export const DEFAULT_APP_NAMESPACE = "gitward-system";

export type ClusterOutput = "table" | "json" | "yaml";

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output?: ClusterOutput;
}

/** Adds the shared flags; `list` adds -A, `output` adds -o table|json|yaml. */
export function addClusterOptions(
  cmd: Command,
  opts: { list?: boolean; output?: boolean; namespaceHelp?: string } = {},
): Command {
  cmd
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--context <name>", "kubeconfig context to use (default its current-context)")
    .option(
      "-n, --namespace <ns>",
      opts.namespaceHelp ?? `namespace of the Application (default ${DEFAULT_APP_NAMESPACE})`,
    );
  if (opts.list === true) cmd.option("-A, --all-namespaces", "every namespace");
  if (opts.output === true) {
    cmd.addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["table", "json", "yaml"])
        .default("table"),
    );
  }
  return cmd;
}

/** A client for --kubeconfig/--context (the default lookup otherwise). */
export function clusterClient(flags: Pick<ClusterFlags, "kubeconfig" | "context">): ClusterClient {
  return ClusterClient.fromResolved(
    loadKubeconfig(flags.kubeconfig, flags.context === undefined ? {} : { context: flags.context }),
  );
}

/** The namespace to act in: -n, else gitward's; undefined with -A (every namespace). */
export function namespaceOf(flags: Pick<ClusterFlags, "namespace" | "allNamespaces">): string | undefined {
  if (flags.allNamespaces === true) return undefined;
  return flags.namespace ?? DEFAULT_APP_NAMESPACE;
}

/** Prints `value` as JSON or YAML (table output is the command's own). */
export function printStructured(value: unknown, output: "json" | "yaml"): void {
  process.stdout.write(output === "json" ? JSON.stringify(value, null, 2) + "\n" : stringify(value));
}

/** Fixed-width columns, as kubectl prints them: a header row, then one row per item. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd() + "\n";
  return line(header) + rows.map(line).join("");
}

/** "3d", "5h", "12m", "40s": the age column of kubectl. */
export function age(since: string | undefined, now = Date.now()): string {
  if (since === undefined) return "-";
  const ms = now - Date.parse(since);
  if (!Number.isFinite(ms)) return "-";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
