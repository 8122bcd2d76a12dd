// The sandbox's serving certificate. kubectl sends bearer tokens only over TLS, so the sandbox speaks
// HTTPS with a self-signed ECDSA P-256 certificate made at start (kept in --data-dir so a written
// kubeconfig stays valid across restarts); the kubeconfig carries it as the certificate authority.
import "reflect-metadata"; // @peculiar/x509's dependency injection needs the Reflect metadata polyfill
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { isIP } from "node:net";

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

const toPem = (der: ArrayBuffer, label: string): string => {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
};

export async function makeServingCert(host: string): Promise<ServingCert> {
  x509.cryptoProvider.set(webcrypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const names: x509.JsonGeneralName[] = [
    { type: "ip", value: "127.0.0.1" },
    { type: "ip", value: "::1" },
    { type: "dns", value: "localhost" },
  ];
  if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost" && host !== "0.0.0.0" && host !== "::") {
    names.push(isIP(host) === 0 ? { type: "dns", value: host } : { type: "ip", value: host });
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    name: "CN=gitward-sandbox",
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 3650 * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: cert.toString("pem") + "\n", keyPem: toPem(pkcs8, "PRIVATE KEY") };
}

/** The certificate kept in dataDir, or a new one (written there when a dataDir is given). */
export async function servingCert(host: string, dataDir: string | undefined): Promise<ServingCert> {
  if (dataDir !== undefined) {
    try {
      const [certPem, keyPem] = await Promise.all([
        readFile(path.join(dataDir, "tls.crt"), "utf8"),
        readFile(path.join(dataDir, "tls.key"), "utf8"),
      ]);
      return { certPem, keyPem };
    } catch {
      // None yet: make one below.
    }
  }
  const made = await makeServingCert(host);
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(dataDir, "tls.crt"), made.certPem, { mode: 0o644 });
    await writeFile(path.join(dataDir, "tls.key"), made.keyPem, { mode: 0o600 });
  }
  return made;
}
