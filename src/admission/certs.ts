// The webhook's own small PKI: an ECDSA P-256 CA and serving certificates it signs, made with
// @peculiar/x509 on node's WebCrypto. The API server trusts the CA (caBundle of the
// ValidatingWebhookConfiguration); the webhook serves the certificate. rotation.ts decides when to issue.
import "reflect-metadata"; // @peculiar/x509's dependency injection needs the Reflect metadata polyfill
import * as x509 from "@peculiar/x509";
import { X509Certificate, createPrivateKey, webcrypto } from "node:crypto";
import { isIP } from "node:net";

export interface KeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  // Positive, non-zero first byte: an X.509 serial is a positive integer.
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[0-7]?./, "1");
}

async function exportKey(keys: webcrypto.CryptoKeyPair): Promise<string> {
  return toPem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
}

/** A new CA valid from a minute ago (clock skew) for `validityMs`. */
export async function issueCa(validityMs: number, now = new Date()): Promise<KeyPair> {
  x509.cryptoProvider.set(webcrypto);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=gitward-webhook-ca-${now.toISOString().slice(0, 19).replace(/[-:]/g, "")}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + validityMs),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys) };
}

/** A serving certificate for `hosts` (DNS names or IPs), signed by `ca`. */
export async function issueServing(
  ca: KeyPair,
  hosts: readonly string[],
  validityMs: number,
  now = new Date(),
): Promise<KeyPair> {
  x509.cryptoProvider.set(webcrypto);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    "pkcs8",
    createPrivateKey(ca.keyPem).export({ format: "der", type: "pkcs8" }),
    ALG,
    false,
    ["sign"],
  );
  const keys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const names: x509.JsonGeneralName[] = hosts.map((h) =>
    isIP(h) === 0 ? { type: "dns", value: h } : { type: "ip", value: h },
  );
  const caNotAfter = caCert.notAfter.getTime();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0] ?? "gitward-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    // Never past its CA: a chain is only as valid as its shortest link.
    notAfter: new Date(Math.min(now.getTime() + validityMs, caNotAfter)),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportKey(keys) };
}

/** Validity of a PEM certificate (the first in the text). */
export function validity(certPem: string): { notBefore: number; notAfter: number } {
  const c = new X509Certificate(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
