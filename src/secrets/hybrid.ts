// The Sealed Secrets hybrid cipher for one value: a fresh 32-byte AES-256-GCM session key (zero nonce,
// safe because the key is used once) encrypts the value; RSA-OAEP with SHA-256 and the scope label
// encrypts the session key. Wire format: uint16 big-endian RSA ciphertext length || RSA || AES-GCM+tag.
// Written by hand on node:crypto because no library implements this exact framing; it is the format
// kubeseal writes, so keeping it byte-for-byte is what makes existing SealedSecrets readable.
import crypto, { type KeyObject } from "node:crypto";

const SESSION_KEY_BYTES = 32;
const GCM_NONCE = Buffer.alloc(12);
const GCM_TAG_BYTES = 16;

export function hybridEncrypt(publicKey: KeyObject, plaintext: Uint8Array, label: Buffer): Buffer {
  const sessionKey = crypto.randomBytes(SESSION_KEY_BYTES);
  try {
    const rsa = crypto.publicEncrypt(
      {
        key: publicKey,
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: "sha256",
        oaepLabel: label,
      },
      sessionKey,
    );
    const cipher = crypto.createCipheriv("aes-256-gcm", sessionKey, GCM_NONCE);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(rsa.length);
    return Buffer.concat([prefix, rsa, body]);
  } finally {
    sessionKey.fill(0);
  }
}

/** The two parts of a sealed value, or why it cannot be split (attacker-controlled input). */
export type SplitValue = { ok: true; rsa: Buffer; aes: Buffer } | { ok: false; reason: "truncated" };

export function splitSealedValue(sealed: Buffer): SplitValue {
  if (sealed.length < 2) return { ok: false, reason: "truncated" };
  const rsaLength = sealed.readUInt16BE(0);
  // The AES part is at least the GCM tag; a shorter value was cut short somewhere.
  if (sealed.length < 2 + rsaLength + GCM_TAG_BYTES) return { ok: false, reason: "truncated" };
  return { ok: true, rsa: sealed.subarray(2, 2 + rsaLength), aes: sealed.subarray(2 + rsaLength) };
}

/**
 * Opens the session key with one private key. Returns undefined when OAEP decoding fails, which is how
 * a wrong key, a wrong label and an altered RSA part all look (OAEP does not tell them apart).
 */
export function openSessionKey(privateKey: KeyObject, rsa: Buffer, label: Buffer): Buffer | undefined {
  try {
    const key = crypto.privateDecrypt(
      {
        key: privateKey,
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: "sha256",
        oaepLabel: label,
      },
      rsa,
    );
    return key.length === SESSION_KEY_BYTES ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Decrypts and authenticates the AES part; undefined when the GCM tag does not match. */
export function openBody(sessionKey: Buffer, aes: Buffer): Buffer | undefined {
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", sessionKey, GCM_NONCE);
    decipher.setAuthTag(aes.subarray(aes.length - GCM_TAG_BYTES));
    return Buffer.concat([decipher.update(aes.subarray(0, aes.length - GCM_TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  } finally {
    sessionKey.fill(0);
  }
}
