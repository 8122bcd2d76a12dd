// The operator's audit signing key (ADR 0005) as the Secret gitward-audit-key, made by `gitward install`
// when it is missing and replaced by `gitward install --rotate-audit-key`. The private key is generated
// here, goes only into the Secret and is never printed; the public keys that ever signed stay in the
// Secret beside it, so `audit verify --key` can be given each of them after a rotation.
import { createPublicKey } from "node:crypto";
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import { auditKeyId, generateAuditKeyPair, loadAuditSigningKey } from "../audit/keys.js";
import { ConfigError } from "../config/errors.js";
import type { Step } from "./apply.js";
import { AUDIT_KEY_SECRET, OPERATOR_DEPLOYMENT, PART_OF, PART_OF_LABEL, SYSTEM_NAMESPACE } from "./layout.js";

/** Data keys of the Secret: the one the Deployment mounts, its public half, and the retired public keys. */
export const AUDIT_KEY_DATA = { privateKey: "audit.key", publicKey: "audit.pub" } as const;
const RETIRED_PREFIX = "retired-";
/** On the Deployment's pod template: a new key id there rolls the pods, which read the key once at start. */
export const AUDIT_KEY_ID_ANNOTATION = "gitward.dev/audit-key-id";

const SECRET_REF: ObjectRef = {
  apiVersion: "v1",
  kind: "Secret",
  namespace: SYSTEM_NAMESPACE,
  name: AUDIT_KEY_SECRET,
};
const WHAT = `Secret ${SYSTEM_NAMESPACE}/${AUDIT_KEY_SECRET}`;

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** "retired-<16 hex>.pub": a Secret data key may not hold the ":" of a key id. */
function retiredName(keyId: string): string {
  return `${RETIRED_PREFIX}${keyId.replace(/^ed25519:/, "")}.pub`;
}

function secretOf(pair: { privatePem: string; publicPem: string }, retired: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: AUDIT_KEY_SECRET,
      namespace: SYSTEM_NAMESPACE,
      labels: { [PART_OF_LABEL]: PART_OF },
    },
    data: {
      ...retired,
      [AUDIT_KEY_DATA.privateKey]: b64(pair.privatePem),
      [AUDIT_KEY_DATA.publicKey]: b64(pair.publicPem),
    },
  } satisfies KubeObject;
}

function dataOf(secret: KubeObject): Record<string, string> {
  const data = secret["data"];
  return typeof data === "object" && data !== null ? (data as Record<string, string>) : {};
}

/**
 * The key id and public PEM of the private key a Secret holds. A Secret whose audit.key is no ed25519
 * key is refused: rotating it away would hide that the operator could never have signed with it.
 */
function currentKey(secret: KubeObject): { keyId: string; publicPem: string } | undefined {
  const pem = dataOf(secret)[AUDIT_KEY_DATA.privateKey];
  if (pem === undefined || pem === "") return undefined;
  try {
    const key = loadAuditSigningKey(Buffer.from(pem, "base64").toString("utf8"));
    return {
      keyId: auditKeyId(key),
      publicPem: createPublicKey(key).export({ format: "pem", type: "spki" }).toString(),
    };
  } catch {
    throw new ConfigError(
      `${WHAT}: ${AUDIT_KEY_DATA.privateKey} is not an ed25519 private key in PEM form; fix or delete the Secret`,
    );
  }
}

/**
 * Makes the audit key Secret when there is none (or it holds no audit.key); an existing key is left as it
 * is. With `dryRun` nothing is stored and the step says what would be done.
 */
export async function ensureAuditKey(cluster: ClusterClient, opts: { dryRun?: boolean } = {}): Promise<Step> {
  const live = await cluster.get(SECRET_REF);
  const current = live === undefined ? undefined : currentKey(live);
  if (current !== undefined) return { what: WHAT, action: "unchanged", note: `audit key ${current.keyId}` };
  if (opts.dryRun === true) return { what: WHAT, action: "created", note: "dry run, a new audit key" };
  const pair = generateAuditKeyPair();
  const secret = secretOf(pair, {});
  if (live === undefined) await cluster.create(secret);
  else await cluster.replace({ ...secret, metadata: { ...secret.metadata, ...resourceVersion(live) } });
  return {
    what: WHAT,
    action: live === undefined ? "created" : "configured",
    note: `audit key ${pair.keyId}`,
  };
}

function resourceVersion(live: KubeObject): { resourceVersion?: string } {
  const rv = live.metadata.resourceVersion;
  return rv === undefined ? {} : { resourceVersion: rv };
}

/**
 * Replaces the signing key with a new one: the old public key is kept in the Secret as
 * retired-<id>.pub (with those retired before), and the operator's pods are rolled by the new key id on
 * their template, since they read the key once at start. The replace is conditional on the Secret's
 * resourceVersion, so two rotations at once cannot lose a retired key.
 */
export async function rotateAuditKey(cluster: ClusterClient): Promise<Step[]> {
  const live = await cluster.get(SECRET_REF);
  const current = live === undefined ? undefined : currentKey(live);
  if (live === undefined || current === undefined) return [await ensureAuditKey(cluster)];
  const retired: Record<string, string> = {};
  for (const [name, value] of Object.entries(dataOf(live)))
    if (name.startsWith(RETIRED_PREFIX)) retired[name] = value;
  retired[retiredName(current.keyId)] = b64(current.publicPem);
  const pair = generateAuditKeyPair();
  const secret = secretOf(pair, retired);
  await cluster.replace({ ...secret, metadata: { ...secret.metadata, ...resourceVersion(live) } });
  const steps: Step[] = [
    {
      what: WHAT,
      action: "configured",
      note: `audit key ${pair.keyId} replaces ${current.keyId}, whose public key stays as ${retiredName(current.keyId)}`,
    },
  ];
  const deployment: ObjectRef = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: SYSTEM_NAMESPACE,
    name: OPERATOR_DEPLOYMENT,
  };
  if ((await cluster.get(deployment, { metadataOnly: true })) !== undefined) {
    await cluster.mergePatch(deployment, {
      spec: { template: { metadata: { annotations: { [AUDIT_KEY_ID_ANNOTATION]: pair.keyId } } } },
    });
    steps.push({
      what: `Deployment ${SYSTEM_NAMESPACE}/${OPERATOR_DEPLOYMENT}`,
      action: "configured",
      note: "pods restart to sign with the new key",
    });
  }
  return steps;
}

/** Every public key the Secret holds (the current one first), as PEM, for `audit verify --key`. */
export function auditPublicKeys(secret: KubeObject): string[] {
  const data = dataOf(secret);
  const names = Object.keys(data)
    .filter((n) => n === AUDIT_KEY_DATA.publicKey || n.startsWith(RETIRED_PREFIX))
    .sort((a, b) => (a === AUDIT_KEY_DATA.publicKey ? -1 : b === AUDIT_KEY_DATA.publicKey ? 1 : 0));
  return names.map((n) => Buffer.from(data[n] ?? "", "base64").toString("utf8"));
}
