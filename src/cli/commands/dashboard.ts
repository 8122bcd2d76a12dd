// `gitward dashboard --kubeconfig FILE [--port N] [--address A] [--audit-log FILE] [--audit-key PUB]`:
// the read-only web dashboard against any cluster (the sandbox included). Bound to 127.0.0.1 unless
// --address says otherwise; off loopback it demands --auth token (TokenReview + SubjectAccessReview),
// since anyone who can reach the port would otherwise read with the kubeconfig's rights.
import type { Command } from "commander";
import { ClusterClient } from "../../cluster/client.js";
import { ConfigError } from "../../config/errors.js";
import { readAuditKeyFile } from "../../audit/keys.js";
import { localAccess, tokenAccess } from "../../dashboard/auth.js";
import { startDashboard } from "../../dashboard/server.js";
import { isLoopbackHost } from "../../images/reference.js";
import { parsePort } from "../port.js";

interface Flags {
  kubeconfig?: string;
  port: string;
  address: string;
  auditLog?: string;
  auditKey?: string;
  auth: string;
  systemNamespace: string;
}

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description(
      "Serve the read-only web dashboard: Applications with their applied revision, signer, refusals and " +
        "drift; each Application's revision timeline, objects and images; the audit log with its chain " +
        "status. Nothing in it can change the cluster (GET and HEAD only). Prints the URL and serves until " +
        "interrupted.\n\n" +
        "--auth local (the default) serves every page with the kubeconfig's rights and is allowed on a " +
        "loopback address only, like kubectl port-forward. --auth token checks each request's bearer token " +
        "with TokenReview and a SubjectAccessReview for get on applications.gitward.dev in the namespace.",
    )
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
    .option("--port <n>", "port to listen on (0 picks a free one)", "8080")
    .option("--address <addr>", "address to bind", "127.0.0.1")
    .option("--audit-log <file>", "the operator's audit log, for timelines and the audit page")
    .option("--audit-key <pub>", "ed25519 public key the audit records are signed with")
    .option("--auth <mode>", "local | token", "local")
    .option("--system-namespace <ns>", "namespace of gitward's own objects", "gitward-system")
    .action(async (flags: Flags) => {
      if (flags.auth !== "local" && flags.auth !== "token")
        throw new ConfigError(`--auth ${flags.auth}: give local or token`, "gitward dashboard");
      const host = flags.address.includes(":") ? `[${flags.address}]` : flags.address;
      if (flags.auth === "local" && !isLoopbackHost(host))
        throw new ConfigError(
          `--address ${flags.address} is not a loopback address: serving it with --auth local would let anyone ` +
            "who reaches the port read with your kubeconfig's rights; use --auth token",
          "gitward dashboard",
        );
      const cluster = ClusterClient.fromFile(flags.kubeconfig);
      const auditKey =
        flags.auditKey === undefined ? undefined : await readAuditKeyFile(flags.auditKey, "public");
      const dashboard = await startDashboard({
        cluster,
        access: flags.auth === "token" ? tokenAccess(cluster) : localAccess(),
        ...(flags.auditLog === undefined ? {} : { auditLog: flags.auditLog }),
        ...(auditKey === undefined ? {} : { auditKey }),
        systemNamespace: flags.systemNamespace,
        port: parsePort(flags.port, "--port", "gitward dashboard"),
        address: flags.address,
        onError: (err) => {
          process.stderr.write(`dashboard: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      });
      process.stdout.write(`gitward dashboard: ${dashboard.url} (read-only; Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await dashboard.close();
      cluster.close();
    });
}
