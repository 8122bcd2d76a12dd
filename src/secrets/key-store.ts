// Sealing keys kept in the cluster: Secrets in gitward's namespace labelled as sealing keys, read into a
// key ring and added to on rotation. Old keys are never deleted here, so everything they sealed still
// unseals; `keygen` only adds a key when the newest one is older than the rotation period (or forced).
import {
  generateSealingKey,
  KEY_DEFAULTS,
  SEALING_KEY_LABEL,
  SealingKeyRing,
  sealingKeyFromSecret,
  sealingKeyToSecret,
  type SealingKey,
} from "./keys.js";
import { ClusterClient, type KubeObject } from "../cluster/client.js";
import { ClusterError } from "../cluster/errors.js";
import { fail, SecretsErrorCode, type SecretObject, type SecretsResult } from "./types.js";

export const DEFAULT_NAMESPACE = "gitward-system";

/** The two calls the key store makes; a small seam so the logic runs against any API server. */
export interface SecretApi {
  list(namespace: string, labelSelector: string): Promise<unknown[]>;
  create(namespace: string, secret: SecretObject): Promise<void>;
}

/** A SecretApi over gitward's cluster client, from a kubeconfig file or the default lookup. */
export function kubernetesSecretApi(kubeconfig?: string): Promise<SecretApi> {
  // Throws a ClusterError naming the file when the kubeconfig cannot be read.
  const client = ClusterClient.fromFile(kubeconfig, { timeoutMs: 60_000 });
  return Promise.resolve({
    async list(namespace, labelSelector) {
      return client.list("v1", "Secret", { namespace, labelSelector });
    },
    async create(namespace, secret) {
      await client.create({ ...secret, metadata: { ...secret.metadata, namespace } } as KubeObject);
    },
  });
}

/** What went wrong talking to the API server, without echoing request or response bodies. */
export function describeApiError(err: unknown): string {
  if (err instanceof ClusterError && err.status !== undefined) {
    const code = err.status;
    if (code === 401 || code === 403)
      return `the API server refused access (HTTP ${code}); check the kubeconfig's user and RBAC`;
    if (code === 404) return "the namespace was not found (HTTP 404); install gitward or pass --namespace";
    return `the API server answered HTTP ${code}`;
  }
  const cause =
    err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  return `cannot reach the API server (${cause})`;
}

/**
 * Every sealing key in `namespace`, as a ring (newest first). A labelled Secret that is no usable key is
 * left out and named in `skipped` (what is wrong with it, never its content), so one broken Secret does
 * not stop rotation, sealing or unsealing with the good keys; callers say so.
 */
export async function loadClusterKeys(
  api: SecretApi,
  namespace: string = DEFAULT_NAMESPACE,
): Promise<SecretsResult<{ ring: SealingKeyRing; skipped: string[] }>> {
  let items: unknown[];
  try {
    items = await api.list(namespace, SEALING_KEY_LABEL);
  } catch (err) {
    return fail(
      SecretsErrorCode.NoKeys,
      `reading sealing keys in namespace ${namespace}: ${describeApiError(err)}`,
    );
  }
  const keys: SealingKey[] = [];
  const skipped: string[] = [];
  for (const item of items) {
    // List items carry no kind of their own; put it back for the reader.
    const read = sealingKeyFromSecret({ kind: "Secret", ...(item as object) }, `namespace ${namespace}`);
    if (read.ok) keys.push(read.key);
    else skipped.push(read.message);
  }
  return { ok: true, ring: new SealingKeyRing(keys), skipped };
}

export interface KeygenOptions {
  namespace?: string;
  /** Make a new key when the newest is older than this many days. */
  rotationDays?: number;
  /** Make a new key whatever the age of the newest. */
  force?: boolean;
  modulusLength?: number;
  now?: Date;
}

export interface KeygenOutcome {
  /** The key made now, or undefined when the newest was still within the rotation period. */
  created: SealingKey | undefined;
  newest: SealingKey;
  /** How many usable keys the namespace holds after the call. */
  total: number;
  /** Labelled Secrets that are no usable key (left alone, never deleted), with what is wrong. */
  skipped: string[];
  reason: "no-key" | "rotation-due" | "forced" | "current";
}

export async function keygen(
  api: SecretApi,
  options: KeygenOptions = {},
): Promise<SecretsResult<KeygenOutcome>> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const now = options.now ?? new Date();
  const loaded = await loadClusterKeys(api, namespace);
  if (!loaded.ok) return loaded;
  const newest = loaded.ring.newest;
  const periodMs = (options.rotationDays ?? KEY_DEFAULTS.rotationDays) * 86_400_000;
  let reason: KeygenOutcome["reason"];
  if (newest === undefined) reason = "no-key";
  else if (options.force === true) reason = "forced";
  else if (newest.createdAt === undefined || now.getTime() - newest.createdAt.getTime() >= periodMs)
    reason = "rotation-due";
  else
    return {
      ok: true,
      created: undefined,
      newest,
      total: loaded.ring.keys.length,
      reason: "current",
      skipped: loaded.skipped,
    };

  const key = await generateSealingKey({
    modulusLength: options.modulusLength ?? KEY_DEFAULTS.modulusLength,
    now,
  });
  try {
    await api.create(namespace, sealingKeyToSecret(key, namespace));
  } catch (err) {
    return fail(
      SecretsErrorCode.NoKeys,
      `storing a new sealing key in namespace ${namespace}: ${describeApiError(err)}`,
    );
  }
  return {
    ok: true,
    created: key,
    newest: key,
    total: loaded.ring.keys.length + 1,
    reason,
    skipped: loaded.skipped,
  };
}
