// SSH signatures in the SSHSIG format (OpenSSH PROTOCOL.sshsig) as `git commit -S` with gpg.format=ssh
// makes them: namespace "git", sha256 or sha512 of the payload, signed by ed25519, ECDSA P-256/P-384 or
// RSA (rsa-sha2-256/512). Verified with node:crypto in-process; also signs (ed25519) for the demo.
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import {
  parseSshKeyBlob,
  sshFingerprint,
  SshReader,
  sshString,
  unsignedFixed,
  type SshPublicKey,
} from "./ssh-keys.js";

const MAGIC = Buffer.from("SSHSIG");
const BEGIN = "-----BEGIN SSH SIGNATURE-----";
const END = "-----END SSH SIGNATURE-----";
const HASHES = new Set(["sha256", "sha512"]);

export interface SshSignature {
  publicKey: Buffer;
  namespace: string;
  reserved: Buffer;
  hashAlgorithm: string;
  signatureAlgorithm: string;
  signature: Buffer;
}

/** Parses an armored SSHSIG; throws with a reason when it is malformed (the input is untrusted). */
export function parseSshSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new Error("not an armored SSH signature");
  const b64 = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error("SSH signature armor holds non-base64 text");
  const r = new SshReader(Buffer.from(b64, "base64"));
  if (!r.bytes(6).equals(MAGIC)) throw new Error("SSH signature does not start with SSHSIG");
  const version = r.uint32();
  if (version !== 1) throw new Error(`SSH signature version ${version} is not supported`);
  const publicKey = Buffer.from(r.string());
  const namespace = r.text();
  const reserved = Buffer.from(r.string());
  const hashAlgorithm = r.text();
  const sigBlob = new SshReader(r.string());
  if (!r.done) throw new Error("trailing bytes after the SSH signature");
  const signatureAlgorithm = sigBlob.text();
  const signature = Buffer.from(sigBlob.string());
  return { publicKey, namespace, reserved, hashAlgorithm, signatureAlgorithm, signature };
}

/** The bytes the key actually signs: SSHSIG header fields and the hash of the message. */
function signedData(namespace: string, reserved: Buffer, hashAlgorithm: string, message: Buffer): Buffer {
  return Buffer.concat([
    MAGIC,
    sshString(namespace),
    sshString(reserved),
    sshString(hashAlgorithm),
    sshString(createHash(hashAlgorithm).update(message).digest()),
  ]);
}

/** Which signature algorithms a key type may sign with, and the digest each uses. */
function digestFor(keyType: SshPublicKey["type"], sigAlg: string): string | null | undefined {
  switch (keyType) {
    case "ssh-ed25519":
      return sigAlg === "ssh-ed25519" ? null : undefined;
    case "ecdsa-sha2-nistp256":
      return sigAlg === keyType ? "sha256" : undefined;
    case "ecdsa-sha2-nistp384":
      return sigAlg === keyType ? "sha384" : undefined;
    case "ssh-rsa":
      // "ssh-rsa" signatures use SHA-1: refused, as OpenSSH does for SSHSIG.
      return sigAlg === "rsa-sha2-256" ? "sha256" : sigAlg === "rsa-sha2-512" ? "sha512" : undefined;
  }
}

/**
 * Checks `sig` over `message` with `key`, which the caller has matched to sig.publicKey. Returns a reason
 * when it does not verify, undefined when it does.
 */
export function checkSshSignature(
  sig: SshSignature,
  key: SshPublicKey,
  message: Buffer,
  namespace = "git",
): string | undefined {
  if (sig.namespace !== namespace)
    return `signature namespace is ${JSON.stringify(sig.namespace)}, not "${namespace}"`;
  if (!HASHES.has(sig.hashAlgorithm))
    return `hash algorithm ${JSON.stringify(sig.hashAlgorithm)} is not allowed`;
  if (!sig.publicKey.equals(key.blob)) return "signature names a different key";
  const digest = digestFor(key.type, sig.signatureAlgorithm);
  if (digest === undefined)
    return `signature algorithm ${sig.signatureAlgorithm} does not fit a ${key.type} key`;
  const data = signedData(sig.namespace, sig.reserved, sig.hashAlgorithm, message);
  let ok: boolean;
  try {
    if (key.type === "ecdsa-sha2-nistp256" || key.type === "ecdsa-sha2-nistp384") {
      const size = key.type === "ecdsa-sha2-nistp256" ? 32 : 48;
      const r = new SshReader(sig.signature);
      const p1363 = Buffer.concat([unsignedFixed(r.string(), size), unsignedFixed(r.string(), size)]);
      ok = verify(digest, data, { key: key.key, dsaEncoding: "ieee-p1363" }, p1363);
    } else {
      ok = verify(digest, data, key.key, sig.signature);
    }
  } catch {
    ok = false;
  }
  return ok ? undefined : "signature does not verify over the commit's content";
}

export interface SshSigningKey {
  privateKey: KeyObject;
  /** authorized_keys line for the trust policy. */
  publicKeyLine: string;
  fingerprint: string;
}

/** A fresh ed25519 signing key (for the demo and for in-process signing in benchmarks). */
export function generateSshSigningKey(comment = "gitward"): SshSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const x = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  const blob = Buffer.concat([sshString("ssh-ed25519"), sshString(x)]);
  return {
    privateKey,
    publicKeyLine: `ssh-ed25519 ${blob.toString("base64")} ${comment}`,
    fingerprint: sshFingerprint(blob),
  };
}

/** Signs `message` as `git commit -S` would with an ed25519 SSH key: an armored SSHSIG, namespace git. */
export function signSshsig(message: Buffer, key: SshSigningKey, namespace = "git"): string {
  const pub = parseSshKeyBlob(Buffer.from(key.publicKeyLine.split(" ")[1] ?? "", "base64"));
  const data = signedData(namespace, Buffer.alloc(0), "sha512", message);
  const sigBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(sign(null, data, key.privateKey))]);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1, 0);
  const body = Buffer.concat([
    MAGIC,
    version,
    sshString(pub.blob),
    sshString(namespace),
    sshString(""),
    sshString("sha512"),
    sshString(sigBlob),
  ]).toString("base64");
  const lines = body.match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
}
