// The ed25519 keys that sign and verify audit records: made by `gitward audit keygen` (or `openssl genpkey
// -algorithm ed25519` and `openssl pkey -pubout`), read from PEM, named by a key id that every signed
// record carries. Any other key type is refused with a message saying so.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import { ConfigError } from "../config/errors.js";

/** "ed25519:" + the first 16 hex digits of SHA-256 over the public key's SPKI DER. */
export const KEY_ID_PATTERN = "^ed25519:[0-9a-f]{16}$";

/** The key id of a public key, or of the public half of a private key. */
export function auditKeyId(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const der = publicKey.export({ format: "der", type: "spki" });
  return "ed25519:" + createHash("sha256").update(der).digest("hex").slice(0, 16);
}

/** A new key pair as PEM (PKCS#8 private key, SPKI public key), and its key id. */
export function generateAuditKeyPair(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    keyId: auditKeyId(publicKey),
  };
}

export function loadAuditSigningKey(pem: string): KeyObject {
  const key = createPrivateKey({ key: pem, format: "pem" });
  if (key.asymmetricKeyType !== "ed25519") {
    throw new TypeError(`the audit signing key must be ed25519, not ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key;
}

export function loadAuditPublicKey(pem: string): KeyObject {
  const key = createPublicKey({ key: pem, format: "pem" });
  if (key.asymmetricKeyType !== "ed25519") {
    throw new TypeError(`the audit public key must be ed25519, not ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key;
}

/**
 * Reads a PEM key file for the CLI and the operator: a file that cannot be read, or holds no ed25519 key
 * of the wanted kind, is a ConfigError naming the file (never its content).
 */
export async function readAuditKeyFile(file: string, kind: "private" | "public"): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(
      `cannot read the audit ${kind} key: ${typeof code === "string" ? code : "error"}`,
      file,
    );
  }
  try {
    return kind === "private" ? loadAuditSigningKey(pem) : loadAuditPublicKey(pem);
  } catch (err) {
    throw new ConfigError(
      `not an ed25519 ${kind} key in PEM form (${err instanceof TypeError ? err.message : "unreadable"})`,
      file,
    );
  }
}
