// `gitward run`: the long-running operator (continuous reconcile, drift watch, alerts, metrics, leader
// election), until SIGTERM or SIGINT, which stop it gracefully: the apply in progress finishes, the lease
// is released. Logs are JSON lines on stdout.
import type { Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { parseDuration } from "../../config/duration.js";
import { createLogger } from "../../observe/logger.js";
import { resolveTools } from "../../render/tool.js";
import { startOperator } from "../../reconcile/run-operator.js";
import { addToolOptions } from "../tool-options.js";

interface Flags {
  config?: string;
  inCluster?: boolean;
  kubeconfig?: string;
  metricsAddr: string;
  cacheDir?: string;
  auditLog?: string;
  auditKey?: string;
  systemNamespace: string;
  keyNamespace?: string;
  keyMaxAgeDays: string;
  leaderElect: boolean;
  leaseDuration: string;
  identity?: string;
  logLevel: string;
  healthTimeout: string;
  kubectl?: string;
  helm?: string;
}

/** "HOST:PORT" or "[IPv6]:PORT". */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`--metrics-addr ${value}: expected HOST:PORT, e.g. 127.0.0.1:9090`, "gitward run");
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}

function durationFlag(name: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(`${name} ${value}: expected a duration such as 15s or 1m`, "gitward run");
  }
  return ms;
}

export function registerRun(program: Command): void {
  addToolOptions(program.command("run"))
    .description(
      "Run the operator: reconcile every Application on its interval (with jitter) and at once on a " +
        "verified git push webhook (POST /hooks/<name>), watch managed objects for drift (reported within " +
        "a second; reverted under drift: revert), send signed alerts, and serve /metrics, /healthz and " +
        "/readyz. With leader election (default) only one replica reconciles. Stops gracefully on " +
        "SIGTERM/SIGINT. Logs are JSON lines on stdout.\n" +
        "Exit 0 after a graceful stop, 2 on a usage or configuration error.",
    )
    .option("--config <file>", "gitward.yaml with TrustPolicy, Application and AlertSink documents")
    .option(
      "--in-cluster",
      "read Applications, TrustPolicies and AlertSinks from the cluster's CRDs, watched",
    )
    .option(
      "--kubeconfig <file>",
      "kubeconfig (default: $KUBECONFIG when set, then the in-cluster service account, then ~/.kube/config)",
    )
    .option(
      "--metrics-addr <host:port>",
      "address of /metrics, /healthz, /readyz and /hooks/",
      "127.0.0.1:9090",
    )
    .option("--cache-dir <dir>", "git mirror cache (default <config dir>/.gitward/cache)")
    .option("--audit-log <file>", "audit log to append to (default <config dir>/.gitward/audit.jsonl)")
    .option(
      "--audit-key <file>",
      "ed25519 private key (PEM, from `gitward audit keygen`) that signs every audit record; without it records are unsigned",
    )
    .option(
      "--system-namespace <ns>",
      "namespace of the leader lease, the state and (without --key-namespace) the sealing keys",
      "gitward-system",
    )
    .option("--key-namespace <ns>", "namespace of the sealing keys (default: the system namespace)")
    .option(
      "--key-max-age-days <days>",
      "warn (log, gitward_sealing_key_newest_timestamp_seconds) when the newest sealing key is older: rotation is overdue",
      "32",
    )
    .option("--no-leader-elect", "reconcile without a leader lease (only for a single replica)")
    .option("--lease-duration <duration>", "how long a leader's lease lasts without renewal", "15s")
    .option("--identity <name>", "this replica's name in the lease (default host name and pid)")
    .option("--health-timeout <duration>", "how long to wait for workloads to become ready", "60s")
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .action(async (flags: Flags) => {
      if ((flags.config === undefined) === (flags.inCluster !== true)) {
        throw new ConfigError("give exactly one of --config FILE or --in-cluster", "gitward run");
      }
      const listen = parseListen(flags.metricsAddr);
      const leaseDurationMs = durationFlag("--lease-duration", flags.leaseDuration);
      if (leaseDurationMs < 1_000) {
        throw new ConfigError(`--lease-duration ${flags.leaseDuration}: at least 1s`, "gitward run");
      }
      const healthTimeoutMs = durationFlag("--health-timeout", flags.healthTimeout);
      const keyMaxAgeDays = Number(flags.keyMaxAgeDays);
      if (!Number.isInteger(keyMaxAgeDays) || keyMaxAgeDays <= 0) {
        throw new ConfigError(
          `--key-max-age-days ${flags.keyMaxAgeDays}: give a positive whole number`,
          "gitward run",
        );
      }
      const logger = createLogger({ level: flags.logLevel, name: "gitward" });
      const running = await startOperator({
        ...(flags.config === undefined ? {} : { configPath: flags.config }),
        ...(flags.inCluster === true ? { inCluster: true } : {}),
        ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
        listen,
        ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
        ...(flags.auditLog === undefined ? {} : { auditPath: flags.auditLog }),
        ...(flags.auditKey === undefined ? {} : { auditKeyPath: flags.auditKey }),
        systemNamespace: flags.systemNamespace,
        ...(flags.keyNamespace === undefined ? {} : { keyNamespace: flags.keyNamespace }),
        keyMaxAgeMs: keyMaxAgeDays * 86_400_000,
        leaderElection: flags.leaderElect
          ? { leaseDurationMs, ...(flags.identity === undefined ? {} : { identity: flags.identity }) }
          : false,
        logger,
        env: { healthTimeoutMs, tools: resolveTools(flags) },
      });
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          logger.info({ signal }, "signal received");
          process.off("SIGTERM", onSignal);
          process.off("SIGINT", onSignal);
          void running.stop().then(resolve, (err: unknown) => {
            logger.error({ error: err instanceof Error ? err.message : String(err) }, "stop failed");
            resolve();
          });
        };
        process.on("SIGTERM", onSignal);
        process.on("SIGINT", onSignal);
      });
    });
}
