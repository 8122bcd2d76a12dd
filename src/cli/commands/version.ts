// `gitward version`: this client's version and build (commit, build date, Node), and with --kubeconfig
// the operator's version, read from its Deployment (the gitward.dev/version annotation, else the tag or
// digest of its image), like `kubectl version` / `flux version`.
import type { Command } from "commander";
import { ClusterClient, type KubeObject } from "../../cluster/client.js";
import { buildInfo, type BuildInfo } from "../build-info.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

export const VERSION_ANNOTATION = "gitward.dev/version";

export interface OperatorVersion {
  namespace: string;
  deployment: string;
  /** The annotation, else what the image reference pins (tag or digest); undefined when not installed. */
  version?: string;
  image?: string;
}

interface Flags {
  kubeconfig?: string;
  namespace: string;
  deployment: string;
  output: OutputFormat;
}

/** The operator's version as its Deployment states it (pure, for tests). */
export function operatorVersionOf(dep: KubeObject, namespace: string, name: string): OperatorVersion {
  const spec = dep["spec"] as
    { template?: { spec?: { containers?: { name?: string; image?: string }[] } } } | undefined;
  const containers = spec?.template?.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === "gitward") ?? containers[0])?.image;
  const annotated = dep.metadata.annotations?.[VERSION_ANNOTATION];
  // registry:5000/repo:tag@sha256:... → the tag if any, else the digest; never the registry's port.
  const ref = image?.split("/").pop();
  const pinned =
    ref?.includes("@") === true
      ? ref.split("@")[1]
      : ref?.includes(":") === true
        ? ref.split(":")[1]
        : undefined;
  const version = annotated ?? pinned;
  return {
    namespace,
    deployment: name,
    ...(version === undefined ? {} : { version }),
    ...(image === undefined ? {} : { image }),
  };
}

async function operatorVersion(flags: Flags): Promise<OperatorVersion> {
  const cluster = ClusterClient.fromFile(flags.kubeconfig);
  try {
    const dep = await cluster.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: flags.namespace,
      name: flags.deployment,
    });
    return dep === undefined
      ? { namespace: flags.namespace, deployment: flags.deployment }
      : operatorVersionOf(dep, flags.namespace, flags.deployment);
  } finally {
    cluster.close();
  }
}

function text(client: BuildInfo, operator: OperatorVersion | undefined): string {
  const lines = [
    `client:   ${client.version}`,
    `commit:   ${client.commit}${client.dirty ? " (uncommitted changes)" : ""}`,
    `built:    ${client.date ?? "not a release build (no build-info.json)"}`,
    `node:     ${client.node} ${client.platform}`,
  ];
  if (operator !== undefined) {
    const where = `deployment ${operator.namespace}/${operator.deployment}`;
    lines.push(
      operator.image === undefined
        ? `operator: not installed (no ${where})`
        : `operator: ${operator.version ?? "unknown"} (${where}, image ${operator.image})`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description(
      "Print the client's version and build (git commit, build date, Node); with --kubeconfig also " +
        "the operator's, read from its Deployment.",
    )
    .option("--kubeconfig <file>", "also show the operator's version in this cluster")
    .option("-n, --namespace <ns>", "namespace of the operator's Deployment", "gitward-system")
    .option("--deployment <name>", "name of the operator's Deployment", "gitward")
    .addOption(outputOption())
    .action(async (flags: Flags) => {
      const client = buildInfo();
      const operator = flags.kubeconfig === undefined ? undefined : await operatorVersion(flags);
      if (flags.output === "json") printJson({ client, ...(operator === undefined ? {} : { operator }) });
      else process.stdout.write(text(client, operator));
    });
}
