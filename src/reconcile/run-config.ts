// One pass over every Application of a gitward.yaml (`gitward reconcile --once`, `gitward restore`, the
// demo): loads and validates the config, connects to the cluster, loads the sealing keys and each
// application's git credentials from the cluster, and reconciles the applications one after another.
import os from "node:os";
import path from "node:path";
import { mkdir } from "node:fs/promises";
import { loadConfig, type ConfigSet } from "../config/load.js";
import { ConfigError } from "../config/errors.js";
import type { Application } from "../config/types.js";
import { ReadByVersion, versionOf } from "../cluster/by-version.js";
import { ClusterClient, type KubeObject } from "../cluster/client.js";
import type { ResolvedKubeconfig } from "../cluster/kubeconfig.js";
import { AuditLog } from "../audit/writer.js";
import { readAuditKeyFile } from "../audit/keys.js";
import { SealingKeyRing, SEALING_KEY_LABEL, sealingKeyFromSecret, type SealingKey } from "../secrets/keys.js";
import type { SourceCredentials } from "../source/fetch.js";
import { reconcileApplication, type ReconcileEnv, type ReconcileReport } from "./reconcile.js";
import { ConfigMapStateStore } from "./state.js";

export interface ConfigRunOptions {
  readonly configPath: string;
  /** A loaded config; when absent, configPath is read. */
  readonly config?: ConfigSet;
  /** Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster). */
  readonly kubeconfig?: string;
  /** Kubeconfig text (the demo passes its sandbox's). */
  readonly kubeconfigText?: string;
  /** An already read kubeconfig (the CLI's --context); wins over kubeconfig and kubeconfigText. */
  readonly resolvedKubeconfig?: ResolvedKubeconfig;
  /** Git mirror cache (default <config dir>/.gitward/cache). */
  readonly cacheDir?: string;
  /** Audit log (default <config dir>/.gitward/audit.jsonl). */
  readonly auditPath?: string;
  /** ed25519 private key (PEM file) that signs every audit record. */
  readonly auditKeyPath?: string;
  /** Namespace of the sealing keys (default gitward-system). */
  readonly keyNamespace?: string;
  readonly restore?: boolean;
  /** Only the Application of this name (default every one). */
  readonly only?: string;
  readonly log?: (line: string) => void;
  readonly env?: Partial<ReconcileEnv>;
}

/**
 * The audit log, its records signed when a key file is given. Read after the cluster client is made, so a
 * missing kubeconfig is reported first; an unreadable key stops the run before anything is written.
 */
export async function openAuditLog(auditPath: string, keyPath: string | undefined): Promise<AuditLog> {
  const signingKey = keyPath === undefined ? undefined : await readAuditKeyFile(keyPath, "private");
  return AuditLog.open({ path: auditPath, ...(signingKey === undefined ? {} : { signingKey }) });
}

/** Sealing keys from the cluster; an empty ring when there are none or they cannot be read. */
export async function loadSealingKeys(cluster: ClusterClient, namespace: string): Promise<SealingKeyRing> {
  return (await readSealingKeys(cluster, namespace)).ring;
}

/** The ring, and the Secrets it was read from (by uid and resourceVersion: see SealingKeyCache). */
async function readSealingKeys(
  cluster: ClusterClient,
  namespace: string,
): Promise<{ ring: SealingKeyRing; versions: string | undefined }> {
  const keys: SealingKey[] = [];
  let secrets: KubeObject[];
  try {
    secrets = await cluster.list("v1", "Secret", { namespace, labelSelector: SEALING_KEY_LABEL });
  } catch {
    // No keys readable: a revision with SealedSecrets is then refused, naming the missing keys.
    return { ring: new SealingKeyRing([]), versions: undefined };
  }
  for (const s of secrets) {
    const read = sealingKeyFromSecret(s, `namespace ${namespace}`);
    if (read.ok) keys.push(read.key);
  }
  return { ring: new SealingKeyRing(keys), versions: versionsOf(secrets) };
}

/** Which objects, at which versions: equal exactly when none was added, removed, remade or written. */
function versionsOf(objects: readonly KubeObject[]): string {
  return objects
    .map((o) => `${o.metadata.name}/${versionOf(o)}`)
    .sort()
    .join(",");
}

/**
 * The operator's sealing keys, read in full (and their RSA keys parsed) only when a key Secret was added,
 * removed or changed since the last pass: a metadata-only list tells, by uid and resourceVersion.
 */
export class SealingKeyCache {
  private last: { ring: SealingKeyRing; versions: string } | undefined;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly namespace: string,
    /** Called with every ring read in full (a new, changed or removed key): metrics, the age check. */
    private readonly onRead?: (ring: SealingKeyRing) => void,
  ) {}

  async ring(): Promise<SealingKeyRing> {
    if (this.last !== undefined) {
      try {
        const meta = await this.cluster.list("v1", "Secret", {
          namespace: this.namespace,
          labelSelector: SEALING_KEY_LABEL,
          metadataOnly: true,
        });
        if (versionsOf(meta) === this.last.versions) return this.last.ring;
      } catch {
        // Read again in full below, which fails closed the same way as without a cache.
      }
    }
    const read = await readSealingKeys(this.cluster, this.namespace);
    this.last = read.versions === undefined ? undefined : { ring: read.ring, versions: read.versions };
    this.onRead?.(read.ring);
    return read.ring;
  }
}

function text(data: Record<string, string>, key: string): string | undefined {
  const v = data[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
}

/** One key of a Secret, decoded; undefined when the Secret or the key is missing. */
export async function secretValue(
  cluster: ClusterClient,
  namespace: string,
  name: string,
  key: string,
): Promise<string | undefined> {
  const secret = await cluster.get({ apiVersion: "v1", kind: "Secret", namespace, name });
  return text((secret?.["data"] ?? {}) as Record<string, string>, key);
}

/** Git credentials from the Secret an Application's source names (in the Application's namespace). */
export async function sourceCredentials(
  cluster: ClusterClient,
  app: Application,
): Promise<SourceCredentials | undefined> {
  const ref = app.spec.source.secretRef;
  if (ref === undefined) return undefined;
  return credentialsFrom(app, await cluster.get(credentialsRef(app, ref.name)));
}

function credentialsRef(app: Application, name: string) {
  return { apiVersion: "v1", kind: "Secret", namespace: app.metadata.namespace, name };
}

function credentialsFrom(app: Application, secret: KubeObject | undefined): SourceCredentials {
  const name = app.spec.source.secretRef?.name ?? "";
  if (secret === undefined) {
    throw new ConfigError(
      `Application ${app.metadata.name}: Secret ${app.metadata.namespace}/${name} (source.secretRef) not found`,
      "cluster",
    );
  }
  const data = (secret["data"] ?? {}) as Record<string, string>;
  const knownHosts = text(data, "known_hosts");
  if (knownHosts !== undefined) {
    const privateKey = text(data, "identity");
    return { kind: "ssh", knownHosts, ...(privateKey === undefined ? {} : { privateKey }) };
  }
  const token = text(data, "token");
  if (token !== undefined) {
    const username = text(data, "username");
    return { kind: "token", token, ...(username === undefined ? {} : { username }) };
  }
  const username = text(data, "username");
  const password = text(data, "password");
  if (username !== undefined && password !== undefined) return { kind: "basic", username, password };
  throw new ConfigError(
    `Application ${app.metadata.name}: Secret ${name} holds neither username/password, token, nor identity + known_hosts`,
    "cluster",
  );
}

/**
 * The operator's git credentials per Application, read in full only when the Secret changed (its uid or
 * resourceVersion, asked with a metadata-only read) or the Application names another one.
 */
export class CredentialsCache {
  /** Each Secret as read (parsed per Application, which names it in its messages). */
  private readonly secrets: ReadByVersion<KubeObject>;

  constructor(cluster: ClusterClient) {
    this.secrets = new ReadByVersion(cluster, (secret) => secret);
  }

  async get(app: Application): Promise<SourceCredentials | undefined> {
    const name = app.spec.source.secretRef?.name;
    if (name === undefined) return undefined;
    return credentialsFrom(app, await this.secrets.read(credentialsRef(app, name)));
  }
}

/** Reconciles every Application of the config once; resolves with one report per Application. */
export async function reconcileConfig(opts: ConfigRunOptions): Promise<ReconcileReport[]> {
  const config = opts.config ?? (await loadConfig(opts.configPath));
  const base = path.join(path.dirname(path.resolve(opts.configPath)), ".gitward");
  const cacheDir = opts.cacheDir ?? path.join(base, "cache");
  const auditPath = opts.auditPath ?? path.join(base, "audit.jsonl");
  // A dry run writes no audit record, so it does not even open (or create) the audit log.
  const dryRun = opts.env?.dryRun === true;
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  if (!dryRun) await mkdir(path.dirname(auditPath), { recursive: true, mode: 0o700 });
  const apps = config.applications.filter((a) => opts.only === undefined || a.metadata.name === opts.only);
  if (apps.length === 0 && opts.only !== undefined) {
    throw new ConfigError(`the config defines no Application named ${opts.only}`, opts.configPath);
  }
  const cluster =
    opts.resolvedKubeconfig !== undefined
      ? ClusterClient.fromResolved(opts.resolvedKubeconfig)
      : opts.kubeconfigText !== undefined
        ? ClusterClient.fromText(opts.kubeconfigText)
        : ClusterClient.fromFile(opts.kubeconfig);
  const audit = dryRun ? undefined : await openAuditLog(auditPath, opts.auditKeyPath);
  try {
    const sealingKeys = await loadSealingKeys(cluster, opts.keyNamespace ?? "gitward-system");
    const reports: ReconcileReport[] = [];
    for (const app of apps) {
      const trust = config.trustPolicies.find((t) => t.metadata.name === app.spec.trustPolicy);
      if (trust === undefined) {
        throw new ConfigError(
          `Application ${app.metadata.name} names TrustPolicy ${app.spec.trustPolicy}, which the config does not define`,
          opts.configPath,
        );
      }
      const credentials = await sourceCredentials(cluster, app);
      reports.push(
        await reconcileApplication(app, trust, {
          cluster,
          state: new ConfigMapStateStore(cluster),
          cacheDir,
          ...(audit === undefined ? {} : { audit }),
          actor: { type: "user", name: os.userInfo().username || "gitward" },
          sealingKeys,
          configDir: path.dirname(path.resolve(opts.configPath)),
          ...(credentials === undefined ? {} : { credentials }),
          ...(opts.restore === true ? { restore: true } : {}),
          ...(opts.log === undefined ? {} : { log: opts.log }),
          ...opts.env,
        }),
      );
    }
    return reports;
  } finally {
    await audit?.close();
    cluster.close();
  }
}
