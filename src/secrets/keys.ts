// Sealing keys: RSA key pairs with a self-signed certificate (the public half that CI and developers
// seal to), the ring of all keys a cluster holds (newest seals, every key unseals) and their Secret form.
// The Secret form matches the Sealed Secrets controller's (kubernetes.io/tls, tls.crt/tls.key, labelled
// `sealedsecrets.bitnami.com/sealed-secrets-key`), so keys can move between the two in either direction.
import crypto, { type KeyObject, X509Certificate } from "node:crypto";
import { decodeBase64, isRecord, parseDocuments, stringMap } from "./yaml-input.js";
import { fail, SecretsErrorCode, type SecretObject, type SecretsResult } from "./types.js";

export const SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";
export const SEALING_KEY_ACTIVE = "active";
export const SEALING_KEY_NAME_PREFIX = "sealed-secrets-key";

/** Defaults for new keys, in one place. */
export const KEY_DEFAULTS = {
  modulusLength: 4096,
  validityDays: 3650,
  commonName: "gitward-sealed-secret",
  rotationDays: 30,
} as const;

export interface SealingKey {
  /** Where the key lives: the Secret's name, or the file it was read from. */
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Absent for a bare private key file, which has no certificate. */
  readonly certificate?: X509Certificate;
  /** When the key was made (its certificate's notBefore); absent without a certificate. */
  readonly createdAt?: Date;
  /** SHA-256 of the public key's SubjectPublicKeyInfo, hex: names a key in output without revealing it. */
  readonly fingerprint: string;
}

/** Every key a cluster holds, newest first: the newest seals, all of them unseal. */
export class SealingKeyRing {
  readonly keys: readonly SealingKey[];

  constructor(keys: readonly SealingKey[]) {
    const seen = new Set<string>();
    const unique = keys.filter((key) => !seen.has(key.fingerprint) && seen.add(key.fingerprint));
    // Dated keys newest first; undated ones (bare private keys) after them, in the order given.
    this.keys = [...unique].sort((a, b) => {
      if (a.createdAt === undefined || b.createdAt === undefined) {
        return (a.createdAt === undefined ? 1 : 0) - (b.createdAt === undefined ? 1 : 0);
      }
      return b.createdAt.getTime() - a.createdAt.getTime() || a.name.localeCompare(b.name);
    });
  }

  get newest(): SealingKey | undefined {
    return this.keys[0];
  }
}

export function fingerprintOf(publicKey: KeyObject): string {
  return crypto
    .createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export function modulusBytes(publicKey: KeyObject): number {
  return Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

export interface GenerateOptions {
  name?: string;
  modulusLength?: number;
  validityDays?: number;
  commonName?: string;
  now?: Date;
}

/** A new RSA key pair and its self-signed certificate (what the Sealed Secrets controller makes). */
export async function generateSealingKey(options: GenerateOptions = {}): Promise<SealingKey> {
  const modulusLength = options.modulusLength ?? KEY_DEFAULTS.modulusLength;
  const now = options.now ?? new Date();
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>(
    (resolve, reject) => {
      crypto.generateKeyPair("rsa", { modulusLength, publicExponent: 0x10001 }, (err, pub, priv) => {
        if (err) reject(err);
        else resolve({ privateKey: priv, publicKey: pub });
      });
    },
  );
  const { selfSignedCertificate } = await import("./certificate.js");
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const validityMs = (options.validityDays ?? KEY_DEFAULTS.validityDays) * 86_400_000;
  const certificate = await selfSignedCertificate(privateKey, publicKey, {
    commonName: options.commonName ?? KEY_DEFAULTS.commonName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityMs),
  });
  return {
    name: options.name ?? newKeyName(),
    privateKey,
    publicKey,
    certificate,
    createdAt: new Date(certificate.validFrom),
    fingerprint: fingerprintOf(publicKey),
  };
}

/** "sealed-secrets-key" and five random characters, as the controller's generateName gives. */
export function newKeyName(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const bytes = crypto.randomBytes(5);
  return SEALING_KEY_NAME_PREFIX + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export function certificatePem(key: SealingKey): string | undefined {
  return key.certificate?.toString();
}

/** The public key a certificate carries, checked to be RSA and within its validity period. */
export function parseCertificate(
  pem: string | Buffer,
  source: string,
  now: Date = new Date(),
): SecretsResult<{ publicKey: KeyObject; certificate: X509Certificate; fingerprint: string }> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return fail(SecretsErrorCode.BadCertificate, `${source}: not a PEM or DER X.509 certificate`);
  }
  const publicKey = certificate.publicKey;
  if (publicKey.asymmetricKeyType !== "rsa") {
    return fail(
      SecretsErrorCode.BadCertificate,
      `${source}: the certificate's key is ${publicKey.asymmetricKeyType ?? "unknown"}, sealing needs RSA`,
    );
  }
  if (new Date(certificate.validTo).getTime() < now.getTime()) {
    return fail(
      SecretsErrorCode.BadCertificate,
      `${source}: the certificate expired on ${certificate.validTo}; fetch the current one with ` +
        "`gitward secrets cert`",
    );
  }
  return { ok: true, publicKey, certificate, fingerprint: fingerprintOf(publicKey) };
}

/** A sealing key from its PEM private key and (optional) PEM certificate, checked to belong together. */
export function sealingKeyFromPem(
  name: string,
  keyPem: string,
  certPem: string | undefined,
): SecretsResult<{ key: SealingKey }> {
  let privateKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey(keyPem);
  } catch {
    return fail(SecretsErrorCode.BadKey, `${name}: not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== "rsa") {
    return fail(SecretsErrorCode.BadKey, `${name}: the private key is not RSA`);
  }
  const publicKey = crypto.createPublicKey(privateKey);
  const fingerprint = fingerprintOf(publicKey);
  if (certPem === undefined) return { ok: true, key: { name, privateKey, publicKey, fingerprint } };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    return fail(SecretsErrorCode.BadCertificate, `${name}: tls.crt is not an X.509 certificate`);
  }
  if (fingerprintOf(certificate.publicKey) !== fingerprint) {
    return fail(SecretsErrorCode.BadCertificate, `${name}: tls.crt does not belong to tls.key`);
  }
  return {
    ok: true,
    key: {
      name,
      privateKey,
      publicKey,
      certificate,
      createdAt: new Date(certificate.validFrom),
      fingerprint,
    },
  };
}

/** The Secret that stores a key in the cluster (PKCS#1 key PEM, as the Sealed Secrets controller writes). */
export function sealingKeyToSecret(key: SealingKey, namespace: string): SecretObject {
  const pem = certificatePem(key);
  if (pem === undefined) throw new Error(`sealing key ${key.name} has no certificate to store`);
  const keyPem = key.privateKey.export({ type: "pkcs1", format: "pem" });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: key.name,
      namespace,
      labels: { [SEALING_KEY_LABEL]: SEALING_KEY_ACTIVE, "app.kubernetes.io/managed-by": "gitward" },
    },
    type: "kubernetes.io/tls",
    data: {
      "tls.crt": Buffer.from(pem).toString("base64"),
      "tls.key": Buffer.from(keyPem).toString("base64"),
    },
  };
}

/** A key from a sealing-key Secret (ours or the Sealed Secrets controller's). */
export function sealingKeyFromSecret(secret: unknown, source: string): SecretsResult<{ key: SealingKey }> {
  if (!isRecord(secret) || secret["kind"] !== "Secret" || !isRecord(secret["metadata"])) {
    return fail(SecretsErrorCode.Malformed, `${source}: not a Secret`);
  }
  const name = typeof secret["metadata"]["name"] === "string" ? secret["metadata"]["name"] : source;
  const data = stringMap(secret["data"]);
  const key = data?.["tls.key"] === undefined ? undefined : decodeBase64(data["tls.key"]);
  const cert = data?.["tls.crt"] === undefined ? undefined : decodeBase64(data["tls.crt"]);
  if (key === undefined) {
    return fail(SecretsErrorCode.BadKey, `Secret ${name}: data["tls.key"] is missing or not base64`);
  }
  const read = sealingKeyFromPem(`Secret ${name}`, key.toString("utf8"), cert?.toString("utf8"));
  // Messages say "Secret <name>"; the key itself goes by the Secret's name, as in the cluster.
  return read.ok ? { ok: true, key: { ...read.key, name } } : read;
}

/**
 * Keys from a key file: PEM private key(s), a sealing-key Secret, or a List of them (what
 * `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` prints).
 */
export function readKeyFile(text: string, source: string): SecretsResult<{ keys: SealingKey[] }> {
  if (text.includes("-----BEGIN")) {
    const blocks = text.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/gu);
    if (blocks === null) return fail(SecretsErrorCode.BadKey, `${source}: no PEM private key in the file`);
    const keys: SealingKey[] = [];
    for (const [index, block] of blocks.entries()) {
      const read = sealingKeyFromPem(
        blocks.length === 1 ? source : `${source}#${index + 1}`,
        block,
        undefined,
      );
      if (!read.ok) return read;
      keys.push(read.key);
    }
    return { ok: true, keys };
  }
  const parsed = parseDocuments(text, source);
  if (!parsed.ok) return parsed;
  const secrets: unknown[] = [];
  for (const doc of parsed.documents) {
    if (isRecord(doc) && doc["kind"] === "List" && Array.isArray(doc["items"]))
      secrets.push(...(doc["items"] as unknown[]));
    else secrets.push(doc);
  }
  const keys: SealingKey[] = [];
  for (const secret of secrets) {
    const read = sealingKeyFromSecret(secret, source);
    if (!read.ok) return read;
    keys.push(read.key);
  }
  if (keys.length === 0) return fail(SecretsErrorCode.NoKeys, `${source}: holds no sealing key`);
  return { ok: true, keys };
}
