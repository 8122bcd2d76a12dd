// Reads cosign's encrypted private key file (`cosign.key`): PEM "ENCRYPTED SIGSTORE PRIVATE KEY" (or the
// older "ENCRYPTED COSIGN PRIVATE KEY") around JSON {kdf: scrypt, cipher: nacl/secretbox, ciphertext} that
// seals a PKCS#8 DER key. By hand because no npm library reads this format; scrypt is node's, secretbox tweetnacl's.
import { createPrivateKey, scrypt, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";
import { isRecord } from "../../json/record.js";

export type KeyReadResult = { ok: true; key: KeyObject } | { ok: false; reason: string };

/** cosign reads only these scrypt costs; a file asking for more is refused before any work. */
const ALLOWED_N = new Set([32768, 65536, 131072]);
const PEM =
  /-----BEGIN (ENCRYPTED SIGSTORE PRIVATE KEY|ENCRYPTED COSIGN PRIVATE KEY)-----([\s\S]*?)-----END \1-----/;

function scryptAsync(password: Buffer, salt: Buffer, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Decrypts the key file text with the passphrase; a wrong passphrase is a value, not a throw. */
export async function readCosignPrivateKey(text: string, password: string): Promise<KeyReadResult> {
  const m = PEM.exec(text);
  if (m === null) return { ok: false, reason: "not a cosign key (no ENCRYPTED SIGSTORE PRIVATE KEY block)" };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from((m[2] ?? "").replace(/\s+/g, ""), "base64").toString("utf8"));
  } catch {
    return { ok: false, reason: "the key block does not hold JSON" };
  }
  if (!isRecord(doc) || !isRecord(doc.kdf) || !isRecord(doc.cipher) || typeof doc.ciphertext !== "string") {
    return { ok: false, reason: "the key block lacks kdf, cipher or ciphertext" };
  }
  const { kdf, cipher } = doc;
  const params = isRecord(kdf.params) ? kdf.params : {};
  if (
    kdf.name !== "scrypt" ||
    params.r !== 8 ||
    params.p !== 1 ||
    typeof params.N !== "number" ||
    !ALLOWED_N.has(params.N)
  ) {
    return { ok: false, reason: "unsupported key derivation (cosign uses scrypt, N 2^15..2^17, r 8, p 1)" };
  }
  if (cipher.name !== "nacl/secretbox" || typeof cipher.nonce !== "string" || typeof kdf.salt !== "string") {
    return { ok: false, reason: "unsupported cipher (cosign uses nacl/secretbox)" };
  }
  const nonce = Buffer.from(cipher.nonce, "base64");
  if (nonce.length !== nacl.secretbox.nonceLength) return { ok: false, reason: "bad nonce length" };
  const secret = await scryptAsync(Buffer.from(password, "utf8"), Buffer.from(kdf.salt, "base64"), params.N);
  const plain = nacl.secretbox.open(
    new Uint8Array(Buffer.from(doc.ciphertext, "base64")),
    new Uint8Array(nonce),
    new Uint8Array(secret),
  );
  if (plain === null) return { ok: false, reason: "wrong passphrase (or a corrupt key file)" };
  try {
    return { ok: true, key: createPrivateKey({ key: Buffer.from(plain), format: "der", type: "pkcs8" }) };
  } catch {
    return { ok: false, reason: "the decrypted key is not PKCS#8" };
  }
}
