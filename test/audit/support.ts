// Helpers for the audit tests: a valid entry, and ed25519 keys made by openssl (an independent tool).
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { AuditEntry } from "../../src/audit/record.js";

const run = promisify(execFile);

export function entry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    application: { namespace: "gitward-system", name: "shop" },
    revision: n.toString(16).padStart(40, "0"),
    signers: [{ name: "platform", key: "SHA256:abc", commits: 1 }],
    findings: { total: 0, bySeverity: { low: 0, medium: 0, high: 0, critical: 0 }, codes: [] },
    applied: [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: "shop",
        name: `web-${n}`,
        digest: "sha256:" + "a".repeat(64),
      },
    ],
    pruned: [],
    result: "applied",
    actor: { type: "operator", name: "system:serviceaccount:gitward-system:gitward" },
    ...overrides,
  };
}

/** An ed25519 key pair written by openssl: returns the PEM file paths and texts. */
export async function opensslKeyPair(dir: string, name = "audit") {
  const priv = path.join(dir, `${name}.key`);
  const pub = path.join(dir, `${name}.pub`);
  await run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", priv]);
  await run("openssl", ["pkey", "-in", priv, "-pubout", "-out", pub]);
  return { priv, pub, privPem: await readFile(priv, "utf8"), pubPem: await readFile(pub, "utf8") };
}
