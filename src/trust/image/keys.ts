// cosign public keys (ECDSA P-256/P-384/P-521, ed25519, RSA) from PEM, and signature checks the way cosign
// makes them: ECDSA and RSA PKCS#1 v1.5 over SHA-256 (SHA-384/512 for the larger curves), ed25519 pure.
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";

export interface TrustedKey {
  /** The policy signer this key belongs to. */
  signer: string;
  key: KeyObject;
  /** cosign's bundle key hint: base64 SHA-256 of the SPKI DER. */
  hint: string;
}

export type KeyParse = { ok: true; key: KeyObject } | { ok: false; reason: string };

export function parsePublicKey(pem: string): KeyParse {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (err) {
    return {
      ok: false,
      reason: `not a PEM public key (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== "prime256v1" && curve !== "secp384r1" && curve !== "secp521r1") {
      return { ok: false, reason: `ECDSA curve ${curve ?? "?"} is not one cosign uses` };
    }
  } else if (type === "rsa") {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      return { ok: false, reason: "RSA key under 2048 bits" };
  } else if (type !== "ed25519") {
    return { ok: false, reason: `key type ${type ?? "?"} is not supported (ECDSA, ed25519, RSA)` };
  }
  return { ok: true, key };
}

export function keyHint(key: KeyObject): string {
  return createHash("sha256")
    .update(key.export({ format: "der", type: "spki" }))
    .digest("base64");
}

/** The hash cosign pairs with a key type. */
export function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === "secp384r1" ? "sha384" : curve === "secp521r1" ? "sha512" : "sha256";
  }
  return "sha256";
}

/** Verifies a signature over `data`; a malformed signature is simply false. */
export function verifyWith(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return cryptoVerify(hashFor(key), data, key, signature);
  } catch {
    return false;
  }
}
