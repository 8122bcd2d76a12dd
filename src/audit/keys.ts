// Loads the ed25519 keys that sign and verify audit records, from PEM (what `openssl genpkey -algorithm
// ed25519` and `openssl pkey -pubout` write). Any other key type is refused with a message saying so.
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

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
