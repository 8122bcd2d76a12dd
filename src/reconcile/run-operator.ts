// Puts `gitward run` together: the config (a gitward.yaml, or the CRDs in the cluster, watched), the
// cluster client, the audit log, alert sinks, metrics and the HTTP endpoints, the leader lease (or the
// shard Leases of --shards), and the Operator itself. Returns a handle whose stop() is the graceful shutdown that SIGTERM asks for.
import os from "node:os";
import path from "node:path";
import { mkdir } from "node:fs/promises";
import { loadConfig, type ConfigSet } from "../config/load.js";
import { ConfigError } from "../config/errors.js";
import type { Application } from "../config/types.js";
import { ClusterClient } from "../cluster/client.js";
import { Notifier } from "../notify/notifier.js";
import { resolveAlertSinks, resolveSecretValue, type SecretSources } from "../notify/sinks-from-config.js";
import type { Logger } from "../observe/logger.js";
import { OperatorMetrics } from "../observe/metrics.js";
import { tokenAccess } from "../dashboard/auth.js";
import { startDashboard, type Dashboard } from "../dashboard/server.js";
import { startOperatorServer, type OperatorServer } from "../observe/server.js";
import { LeaderElector } from "./leader.js";
import { shardOf } from "./shard-hash.js";
import { ShardCoordinator } from "./shards.js";
import type { AppId } from "./inventory.js";
import { Operator, type LogFn } from "./operator.js";
import { CredentialsCache, openAuditLog, SealingKeyCache, secretValue } from "./run-config.js";
import type { SealingKeyRing } from "../secrets/keys.js";
import { ConfigMapStateStore } from "./state.js";
import { cleanStaleCheckouts } from "./checkout.js";
import { watchClusterConfig, CrdStateStore, type ClusterConfigWatch } from "./cluster-config.js";
import type { ReconcileEnv } from "./reconcile.js";
import { ClusterAuditLog } from "../audit/cluster-log.js";
import { readAuditKeyFile } from "../audit/keys.js";
import type { AuditSink } from "../audit/writer.js";

export interface RunOptions {
  /** A gitward.yaml; or, with inCluster, the Applications, TrustPolicies and AlertSinks of the cluster. */
  readonly configPath?: string;
  readonly inCluster?: boolean;
  readonly kubeconfig?: string;
  readonly kubeconfigText?: string;
  /** host:port of /metrics, /healthz, /readyz and /hooks/ (default 127.0.0.1:9090). */
  readonly listen?: { host: string; port: number };
  /**
   * host:port of the read-only dashboard (off when absent). Requests need a bearer token, checked with
   * TokenReview and SubjectAccessReview as the operator's own identity (docs/dashboard.md).
   */
  readonly dashboard?: { host: string; port: number };
  readonly cacheDir?: string;
  readonly auditPath?: string;
  /** ed25519 private key (PEM file, mounted from the gitward-audit-key Secret) signing every audit record. */
  readonly auditKeyPath?: string;
  /**
   * Where audit records go: "cluster", one chain for every replica in ConfigMaps of the system namespace
   * (default with inCluster and no auditPath), or "file" (auditPath).
   */
  readonly auditStore?: "file" | "cluster";
  /** Also write every audit record as a JSON log line (for a log pipeline). */
  readonly auditStdout?: boolean;
  /** Namespace of the sealing keys and the leader lease (default gitward-system). */
  readonly systemNamespace?: string;
  /** Where the sealing keys are (default: the system namespace). */
  readonly keyNamespace?: string;
  /** A newest sealing key older than this means rotation is overdue: warned about (default 32 days). */
  readonly keyMaxAgeMs?: number;
  /** Clock for the key age check (tests). */
  readonly now?: () => Date;
  /**
   * Leader election (default on); `identity` defaults to host name and pid. With `shards` above 1 the
   * Applications are split into that many shards, one Lease each, spread over the replicas (shards.ts).
   */
  readonly leaderElection?:
    false | { identity?: string; leaseDurationMs?: number; name?: string; shards?: number };
  readonly logger: Logger;
  readonly env?: Partial<ReconcileEnv>;
  /** The most bytes of one inventory part (default a whole ConfigMap's worth); crash tests make it small. */
  readonly inventoryPartBytes?: number;
  /** Environment for alert-sink and webhook secrets given as {env: NAME} (default process.env). */
  readonly secretEnv?: Readonly<Record<string, string | undefined>>;
}

export interface RunningOperator {
  readonly operator: Operator;
  readonly server: OperatorServer;
  readonly elector?: LeaderElector;
  readonly shards?: ShardCoordinator;
  readonly dashboard?: Dashboard;
  /** Graceful: stop taking work, let the apply in progress finish, release the lease, close. */
  stop(): Promise<void>;
}

/** The operator's kubeconfig chain: $KUBECONFIG when set, then the in-cluster account, then ~/.kube/config. */
function clusterFrom(opts: RunOptions): ClusterClient {
  if (opts.kubeconfigText !== undefined) return ClusterClient.fromText(opts.kubeconfigText);
  return ClusterClient.fromFile(opts.kubeconfig, {}, { preferInCluster: true });
}

/**
 * A check of the newest sealing key's age on every pass: older than `maxAgeMs` means the scheduled rotation
 * (deploy/install/key-rotation.yaml) has not run or failed. Warned at most once an hour; the metric
 * gitward_sealing_key_newest_timestamp_seconds lets an alert rule say the same.
 */
function overdueKeyWarning(
  namespace: string,
  maxAgeMs: number,
  log: LogFn,
  now: () => Date = () => new Date(),
): (ring: SealingKeyRing) => SealingKeyRing {
  let lastWarned = -Infinity;
  return (ring) => {
    const newest = ring.newest?.createdAt;
    const t = now().getTime();
    if (newest !== undefined && t - newest.getTime() > maxAgeMs && t - lastWarned >= 3_600_000) {
      lastWarned = t;
      log("warn", "sealing key rotation overdue: the newest sealing key is older than the rotation period", {
        namespace,
        newestKey: ring.newest?.name,
        newestKeyCreated: newest.toISOString(),
        maxAgeDays: Math.round(maxAgeMs / 86_400_000),
      });
    }
    return ring;
  };
}

export async function startOperator(opts: RunOptions): Promise<RunningOperator> {
  if ((opts.configPath === undefined) === (opts.inCluster !== true)) {
    throw new ConfigError("give exactly one of --config FILE or --in-cluster", "gitward run");
  }
  const log = opts.logger;
  const logFn: LogFn = (level, message, fields) => {
    log[level](fields ?? {}, message);
  };
  const systemNamespace = opts.systemNamespace ?? "gitward-system";
  const base =
    opts.configPath === undefined
      ? path.join(os.homedir(), ".gitward")
      : path.join(path.dirname(path.resolve(opts.configPath)), ".gitward");
  const cacheDir = opts.cacheDir ?? path.join(base, "cache");
  const auditPath = opts.auditPath ?? path.join(base, "audit.jsonl");
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await mkdir(path.dirname(auditPath), { recursive: true, mode: 0o700 });
  // A gitward killed mid-checkout (SIGKILL, OOM) leaves its folder behind: removed now, not at the
  // first checkout, which a failing source could put off indefinitely.
  const stale = await cleanStaleCheckouts();
  if (stale.length > 0) logFn("info", "removed checkout folders of a killed gitward", { folders: stale });

  const fileConfig: ConfigSet | undefined =
    opts.configPath === undefined ? undefined : await loadConfig(opts.configPath);
  const cluster = clusterFrom(opts);
  const auditStore =
    opts.auditStore ?? (opts.inCluster === true && opts.auditPath === undefined ? "cluster" : "file");
  const onRecord =
    opts.auditStdout === true
      ? (record: unknown) => {
          log.info({ audit: record }, "audit record");
        }
      : undefined;
  let audit: AuditSink;
  if (auditStore === "cluster") {
    const signingKey =
      opts.auditKeyPath === undefined ? undefined : await readAuditKeyFile(opts.auditKeyPath, "private");
    audit = new ClusterAuditLog({
      cluster,
      namespace: systemNamespace,
      ...(signingKey === undefined ? {} : { signingKey }),
      ...(onRecord === undefined ? {} : { onRecord }),
    });
  } else {
    const file = await openAuditLog(auditPath, opts.auditKeyPath);
    audit =
      onRecord === undefined
        ? file
        : {
            append: async (entry) => {
              const record = await file.append(entry);
              onRecord(record);
              return record;
            },
            close: () => file.close(),
          };
  }
  if (opts.auditKeyPath === undefined) {
    logFn("warn", "audit records are not signed: give --audit-key (see `gitward audit keygen`)", {
      auditLog: auditStore === "cluster" ? `cluster (${systemNamespace})` : auditPath,
    });
  }
  const metrics = new OperatorMetrics();
  // Read in full again only when their Secrets change (by resourceVersion), not on every pass.
  const keyNamespace = opts.keyNamespace ?? systemNamespace;
  const sealingKeys = new SealingKeyCache(cluster, keyNamespace, (ring) => {
    metrics.setSealingKeys(ring.keys.length, ring.newest?.createdAt);
  });
  const keyAge = overdueKeyWarning(keyNamespace, opts.keyMaxAgeMs ?? 32 * 86_400_000, logFn, opts.now);
  const credentials = new CredentialsCache(cluster);
  const readSecret = (namespace: string, name: string, key: string): Promise<string | undefined> =>
    secretValue(cluster, namespace, name, key);
  const sources: SecretSources = {
    ...(opts.secretEnv === undefined ? {} : { env: opts.secretEnv }),
    ...(opts.configPath === undefined ? {} : { baseDir: path.dirname(path.resolve(opts.configPath)) }),
    ...(opts.inCluster === true ? { readSecret } : {}),
  };

  let notifier: Notifier | undefined;
  const setSinks = async (config: ConfigSet): Promise<void> => {
    const sinks = await resolveAlertSinks(config.alertSinks, sources);
    notifier = sinks.length === 0 ? undefined : new Notifier(sinks);
  };
  // Webhook secrets, read once per Application spec.
  const hookSecrets = new Map<string, string>();
  const setHookSecrets = async (apps: readonly Application[]): Promise<void> => {
    hookSecrets.clear();
    for (const a of apps) {
      if (a.spec.webhook === undefined) continue;
      hookSecrets.set(
        `${a.metadata.namespace}/${a.metadata.name}`,
        await resolveSecretValue(
          a.spec.webhook.secret,
          a.metadata.namespace,
          `Application ${a.metadata.namespace}/${a.metadata.name} spec.webhook.secret`,
          sources,
        ),
      );
    }
  };

  let elector: LeaderElector | undefined;
  const partOptions = opts.inventoryPartBytes === undefined ? {} : { partBytes: opts.inventoryPartBytes };
  let sharding: { coordinator: ShardCoordinator; shardOf: (id: AppId) => number } | undefined;
  const operator = new Operator({
    cluster,
    state:
      opts.inCluster === true
        ? new CrdStateStore(cluster, systemNamespace, partOptions)
        : new ConfigMapStateStore(cluster, partOptions),
    cacheDir,
    audit,
    actor: { type: "operator", name: "gitward" },
    notifier: () => notifier,
    metrics,
    log: logFn,
    ...(opts.configPath === undefined ? {} : { configDir: path.dirname(path.resolve(opts.configPath)) }),
    sealingKeys: async () => keyAge(await sealingKeys.ring()),
    credentials: (app) => credentials.get(app),
    isLeader: (id) =>
      sharding !== undefined ? sharding.coordinator.owns(sharding.shardOf(id)) : (elector?.isLeader ?? true),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });

  let watch: ClusterConfigWatch | undefined;
  if (fileConfig !== undefined) {
    await setSinks(fileConfig);
    await setHookSecrets(fileConfig.applications);
    operator.setConfig(fileConfig.applications, fileConfig.trustPolicies);
  } else {
    watch = await watchClusterConfig(cluster, {
      log: logFn,
      onChange: async (config) => {
        try {
          await setSinks(config);
          await setHookSecrets(config.applications);
        } catch (err) {
          logFn("error", "alert sinks or webhook secrets could not be read", {
            error: err instanceof Error ? err.message : String(err),
          });
        }
        operator.setConfig(config.applications, config.trustPolicies);
      },
    });
  }

  const listen = opts.listen ?? { host: "127.0.0.1", port: 9090 };
  const server = await startOperatorServer({
    host: listen.host,
    port: listen.port,
    metrics,
    log,
    ready: () => {
      if (elector !== undefined && !elector.isLeader) return { ok: true, reason: "standby" };
      if (sharding !== undefined && sharding.coordinator.view().held.length === 0)
        return { ok: true, reason: "standby" };
      return operator.synced ? { ok: true } : { ok: false, reason: "first reconcile not done" };
    },
    hooks: {
      lookup(ref) {
        const app = operator.find(ref);
        if (app === undefined) return undefined;
        const secret = hookSecrets.get(`${app.metadata.namespace}/${app.metadata.name}`);
        if (secret === undefined) return undefined;
        return {
          id: `${app.metadata.namespace}/${app.metadata.name}`,
          secret,
          trigger(verdict) {
            operator.trigger(
              { namespace: app.metadata.namespace, name: app.metadata.name },
              `${verdict.provider} ${verdict.event}${verdict.ref === undefined ? "" : ` of ${verdict.ref}`}`,
            );
          },
        };
      },
    },
  });

  const le = opts.leaderElection === false ? undefined : (opts.leaderElection ?? {});
  const timings =
    le?.leaseDurationMs === undefined
      ? {}
      : {
          leaseDurationMs: le.leaseDurationMs,
          renewDeadlineMs: Math.round(le.leaseDurationMs * (2 / 3)),
          retryPeriodMs: Math.max(100, Math.round(le.leaseDurationMs / 7.5)),
        };
  const identity = le?.identity ?? `${os.hostname()}-${process.pid}`;
  if (le !== undefined && (le.shards ?? 1) > 1) {
    sharding = startShards(le.shards ?? 1);
  } else if (le !== undefined) {
    elector = new LeaderElector({
      cluster,
      namespace: systemNamespace,
      name: le.name ?? "gitward-operator",
      identity,
      ...timings,
      log: (level, message, fields) => {
        logFn(level, message, fields);
      },
    });
    const e = elector;
    e.onStartedLeading(() => {
      metrics.setLeader(true);
      logFn("info", "leading: this replica reconciles", { holder: e.observedHolder });
      operator.triggerAll("became leader");
    });
    e.onStoppedLeading(() => {
      metrics.setLeader(false);
      logFn("warn", "stopped leading: no more writes from this replica");
      void operator.pauseWatches();
    });
    e.start();
  } else {
    metrics.setLeader(true);
  }

  /** Sharded replicas: the Operator's fence per Application is the Lease of the Application's shard. */
  function startShards(count: number): NonNullable<typeof sharding> {
    const memo = new Map<string, number>();
    const shardFor = (id: AppId): number => {
      const k = `${id.namespace}/${id.name}`;
      let s = memo.get(k);
      if (s === undefined) {
        s = shardOf(id, count);
        memo.set(k, s);
      }
      return s;
    };
    const inShard = (shard: number) => (id: AppId) => shardFor(id) === shard;
    const coordinator = new ShardCoordinator({
      cluster,
      namespace: systemNamespace,
      identity,
      shards: count,
      ...timings,
      drain: (shard) => operator.idle(inShard(shard)),
      onHeldChange: (n) => {
        metrics.setLeader(n > 0);
        metrics.setShardsHeld(n);
      },
      onAcquired: (shard) => {
        operator.triggerAll(`took shard ${String(shard)}`, inShard(shard));
      },
      onLost: (shard) => {
        void operator.pauseWatches(inShard(shard));
      },
      log: (level, message, fields) => {
        logFn(level, message, fields);
      },
    });
    coordinator.start();
    return { coordinator, shardOf: shardFor };
  }
  operator.start();
  const dashboard =
    opts.dashboard === undefined
      ? undefined
      : await startDashboard({
          cluster,
          access: tokenAccess(cluster),
          auditLog: auditPath,
          systemNamespace,
          address: opts.dashboard.host,
          port: opts.dashboard.port,
          onError: (err) => {
            logFn("warn", "dashboard request failed", {
              error: err instanceof Error ? err.message : String(err),
            });
          },
        });
  logFn("info", "gitward run started", {
    listen: server.url,
    ...(dashboard === undefined ? {} : { dashboard: dashboard.url }),
    applications: operator.snapshot().length,
    leaderElection: elector !== undefined,
    ...(sharding === undefined ? {} : { shards: le?.shards, replica: identity }),
  });

  let stopped: Promise<void> | undefined;
  return {
    operator,
    server,
    ...(elector === undefined ? {} : { elector }),
    ...(sharding === undefined ? {} : { shards: sharding.coordinator }),
    ...(dashboard === undefined ? {} : { dashboard }),
    stop() {
      stopped ??= (async () => {
        logFn("info", "stopping: finishing the work in progress");
        await watch?.stop();
        await operator.stop();
        await elector?.stop({ release: true });
        await sharding?.coordinator.stop();
        await dashboard?.close();
        await server.close();
        await audit.close();
        cluster.close();
        logFn("info", "stopped");
      })();
      return stopped;
    },
  };
}
