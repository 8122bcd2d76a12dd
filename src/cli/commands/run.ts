// `gitward run`: the long-running operator (continuous reconcile, drift watch, alerts, metrics, leader
// election), until SIGTERM or SIGINT, which stop it gracefully: the apply in progress finishes, the lease
// is released. Logs are JSON lines on stdout.
import { Option, type Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { formatDuration, parseDuration } from "../../config/duration.js";
import { createLogger } from "../../observe/logger.js";
import { resolveTools } from "../../render/tool.js";
import { PACKED_INVENTORY_LIMIT } from "../../reconcile/inventory.js";
import { startOperator } from "../../reconcile/run-operator.js";
import { MAX_SHARDS } from "../../reconcile/shard-hash.js";
import { addToolOptions } from "../tool-options.js";

interface Flags {
  config?: string;
  inCluster?: boolean;
  kubeconfig?: string;
  metricsAddr: string;
  dashboardAddr?: string;
  cacheDir?: string;
  auditLog?: string;
  auditKey?: string;
  auditStore?: "file" | "cluster";
  auditStdout?: boolean;
  systemNamespace: string;
  keyNamespace?: string;
  keyMaxAgeDays: string;
  leaderElect: boolean;
  leaseDuration: string;
  shards: string;
  identity?: string;
  logLevel: string;
  healthTimeout: string;
  kubectl?: string;
  helm?: string;
  inventoryPartBytes?: string;
}

/** "HOST:PORT" or "[IPv6]:PORT". */
export function parseListen(value: string, flag = "--metrics-addr"): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${flag} ${value}: expected HOST:PORT, e.g. 127.0.0.1:9090`, "gitward run");
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}

/**
 * Bounds of the duration flags. The lease: client-go's leader election uses 15s (kube-controller-manager,
 * kube-scheduler) and a few seconds to a minute elsewhere; past 10m a dead leader stalls every replica
 * that long. 1s is the floor the renew deadline and retry period (2/3 and 1/7.5 of it) still work with.
 * The health timeout: a rollout that takes over an hour is a stuck one; 1s is the shortest useful wait.
 */
export const DURATION_FLAG_BOUNDS = {
  "--lease-duration": { minMs: 1_000, maxMs: 10 * 60_000 },
  "--health-timeout": { minMs: 1_000, maxMs: 60 * 60_000 },
} as const;

function durationFlag(name: keyof typeof DURATION_FLAG_BOUNDS, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(`${name} ${value}: expected a duration such as 15s or 1m`, "gitward run");
  }
  const { minMs, maxMs } = DURATION_FLAG_BOUNDS[name];
  if (ms < minMs || ms > maxMs) {
    const range = `${formatDuration(minMs)} to ${formatDuration(maxMs)}`;
    throw new ConfigError(`${name} ${value}: give a duration from ${range}`, "gitward run");
  }
  return ms;
}

/** The hidden --inventory-part-bytes: from 1 KiB to the size of a whole part. */
function inventoryPartBytes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1024 || n > PACKED_INVENTORY_LIMIT) {
    throw new ConfigError(
      `--inventory-part-bytes ${value}: give a whole number from 1024 to ${PACKED_INVENTORY_LIMIT}`,
      "gitward run",
    );
  }
  return n;
}

export function registerRun(program: Command): void {
  addToolOptions(program.command("run"))
    .description(
      "Run the operator: reconcile every Application on its interval (with jitter) and at once on a " +
        "verified git push webhook (POST /hooks/<name>), watch managed objects for drift (reported within " +
        "a second; reverted under drift: revert), send signed alerts, and serve /metrics, /healthz and " +
        "/readyz. With leader election (default) only one replica reconciles; with --shards N the " +
        "Applications are spread over the replicas, each reconciled by one replica at a time. Stops gracefully on " +
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
    .option(
      "--dashboard-addr <host:port>",
      "serve the read-only dashboard there (off unless given); each request needs a Kubernetes bearer token",
    )
    .option("--cache-dir <dir>", "git mirror cache (default <config dir>/.gitward/cache)")
    .option("--audit-log <file>", "audit log to append to (default <config dir>/.gitward/audit.jsonl)")
    .option(
      "--audit-key <file>",
      "ed25519 private key (PEM, from `gitward audit keygen`) that signs every audit record; without it records are unsigned",
    )
    .addOption(
      new Option(
        "--audit-store <store>",
        "cluster: one hash-chained trail for every replica in ConfigMaps of the system namespace (default " +
          "with --in-cluster and no --audit-log); file: --audit-log",
      ).choices(["file", "cluster"]),
    )
    .option("--audit-stdout", "also write every audit record as a JSON log line, for a log pipeline")
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
    .option(
      "--lease-duration <duration>",
      "how long a leader's lease lasts without renewal (1s to 10m)",
      "15s",
    )
    .option(
      "--shards <count>",
      `split the Applications into this many shards (1 to ${String(MAX_SHARDS)}), one Lease each ` +
        "(gitward-shard-<i>), spread evenly over the live replicas; every replica must run with the same " +
        "count. 1: one leader reconciles everything (Lease gitward-operator)",
      "1",
    )
    .option("--identity <name>", "this replica's name in the leases (default host name and pid)")
    .option("--health-timeout <duration>", "how long to wait for workloads to become ready (1s to 1h)", "60s")
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .addOption(
      // For crash tests only: small parts make a multi-part inventory of a few objects, so that a kill
      // can land between two part writes.
      new Option("--inventory-part-bytes <n>", "most bytes of one inventory part").hideHelp(),
    )
    .action(async (flags: Flags) => {
      if ((flags.config === undefined) === (flags.inCluster !== true)) {
        throw new ConfigError("give exactly one of --config FILE or --in-cluster", "gitward run");
      }
      const listen = parseListen(flags.metricsAddr);
      const leaseDurationMs = durationFlag("--lease-duration", flags.leaseDuration);
      const healthTimeoutMs = durationFlag("--health-timeout", flags.healthTimeout);
      const shards = Number(flags.shards);
      if (!/^\d+$/.test(flags.shards) || shards < 1 || shards > MAX_SHARDS) {
        throw new ConfigError(
          `--shards ${flags.shards}: give a whole number from 1 to ${String(MAX_SHARDS)}`,
          "gitward run",
        );
      }
      if (shards > 1 && !flags.leaderElect) {
        throw new ConfigError("--shards needs leader election; drop --no-leader-elect", "gitward run");
      }
      const keyMaxAgeDays = Number(flags.keyMaxAgeDays);
      if (!Number.isInteger(keyMaxAgeDays) || keyMaxAgeDays <= 0) {
        throw new ConfigError(
          `--key-max-age-days ${flags.keyMaxAgeDays}: give a positive whole number`,
          "gitward run",
        );
      }
      const partBytes = inventoryPartBytes(flags.inventoryPartBytes);
      const logger = createLogger({ level: flags.logLevel, name: "gitward" });
      const running = await startOperator({
        ...(flags.config === undefined ? {} : { configPath: flags.config }),
        ...(flags.inCluster === true ? { inCluster: true } : {}),
        ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
        listen,
        ...(flags.dashboardAddr === undefined
          ? {}
          : { dashboard: parseListen(flags.dashboardAddr, "--dashboard-addr") }),
        ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
        ...(flags.auditLog === undefined ? {} : { auditPath: flags.auditLog }),
        ...(flags.auditKey === undefined ? {} : { auditKeyPath: flags.auditKey }),
        ...(flags.auditStore === undefined ? {} : { auditStore: flags.auditStore }),
        ...(flags.auditStdout === true ? { auditStdout: true } : {}),
        systemNamespace: flags.systemNamespace,
        ...(flags.keyNamespace === undefined ? {} : { keyNamespace: flags.keyNamespace }),
        keyMaxAgeMs: keyMaxAgeDays * 86_400_000,
        leaderElection: flags.leaderElect
          ? {
              leaseDurationMs,
              shards,
              ...(flags.identity === undefined ? {} : { identity: flags.identity }),
            }
          : false,
        logger,
        env: { healthTimeoutMs, tools: resolveTools(flags) },
        ...(partBytes === undefined ? {} : { inventoryPartBytes: partBytes }),
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
