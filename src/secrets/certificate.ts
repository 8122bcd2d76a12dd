// Writes the self-signed X.509 certificate of a sealing key. node:crypto reads certificates but cannot
// write them, so this uses @peculiar/x509 (WebCrypto based). That library needs the Reflect metadata
// polyfill loaded first; keys.ts imports this module lazily, so only key generation pays for both.
import "reflect-metadata";
import crypto, { type KeyObject, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

export interface CertificateOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Self-signs a certificate for an RSA key pair: CA basic constraints and key-encipherment usage, as the
 * Sealed Secrets controller's certificates carry, signed with SHA-256 RSA PKCS#1 v1.5.
 */
export async function selfSignedCertificate(
  privateKey: KeyObject,
  publicKey: KeyObject,
  options: CertificateOptions,
): Promise<X509Certificate> {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const generated = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: positiveSerial(),
    name: `CN=${options.commonName}`,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    keys: {
      privateKey: privateKey.toCryptoKey(algorithm, false, ["sign"]),
      publicKey: publicKey.toCryptoKey(algorithm, true, ["verify"]),
    },
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.encipherOnly, true),
    ],
  });
  return new X509Certificate(Buffer.from(generated.rawData));
}

/** A random positive 128-bit serial number in hex: the top bit cleared so DER does not read it as negative. */
function positiveSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes.writeUInt8(bytes.readUInt8(0) & 0x7f, 0);
  return bytes.toString("hex");
}
