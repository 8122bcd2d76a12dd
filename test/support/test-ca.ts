// Test certificates made by a real openssl: EC P-256 keys, a CA that signs leaf certificates, and
// self-signed certificates. One place for the openssl sequence that the kubeconfig, webhook, registry and
// token-service tests need. Files are written into the folder given; paths are returned.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "./git-exec.js";

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export interface IssueOptions {
  /** subjectAltName value, e.g. "IP:127.0.0.1,DNS:localhost". */
  readonly san?: string;
  /** Adds extendedKeyUsage=serverAuth. */
  readonly serverAuth?: boolean;
}

export interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

export interface TestCa extends KeyPair {
  /** A key and a certificate for `subject` signed by this CA, as `<name>.key` and `<name>.crt`. */
  issue(name: string, subject: string, opts?: IssueOptions): Promise<KeyPair>;
}

/** A CA (`ca.key`, `ca.crt`) in `dir`, valid for two days. */
export async function makeTestCa(dir: string, subject = "/CN=gitward test CA"): Promise<TestCa> {
  const ca = await selfSigned(dir, "ca", subject);
  return {
    ...ca,
    async issue(name, leafSubject, opts = {}) {
      const key = path.join(dir, `${name}.key`);
      const csr = path.join(dir, `${name}.csr`);
      const cert = path.join(dir, `${name}.crt`);
      await run("openssl", ["req", ...EC_KEY, "-keyout", key, "-out", csr, "-subj", leafSubject]);
      const ext = [
        ...(opts.san === undefined ? [] : [`subjectAltName=${opts.san}`]),
        ...(opts.serverAuth === true ? ["extendedKeyUsage=serverAuth"] : []),
      ];
      const extFile = path.join(dir, `${name}.ext`);
      if (ext.length > 0) await writeFile(extFile, ext.join("\n") + "\n");
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca.cert,
        "-CAkey",
        ca.key,
        "-CAcreateserial",
        "-out",
        cert,
        "-days",
        "2",
        ...(ext.length > 0 ? ["-extfile", extFile] : []),
      ]);
      return { key, cert };
    },
  };
}

/** A self-signed key and certificate for `subject` (`<name>.key`, `<name>.crt` in `dir`), two days. */
export async function selfSigned(dir: string, name: string, subject: string, san?: string): Promise<KeyPair> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  await run("openssl", [
    "req",
    "-x509",
    ...EC_KEY,
    "-days",
    "2",
    "-subj",
    subject,
    ...(san === undefined ? [] : ["-addext", `subjectAltName=${san}`]),
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  return { key, cert };
}
