// Every SealedSecret of the revision, validated with secrets/validate.ts: well-formed, in a place its scope
// allows, and (given the sealing certificates) sealed to one of them. The reconcile opens each value with
// the cluster's keys and refuses what does not open; this is the part CI can check with certificates only.
import type { KeyObject } from "node:crypto";
import type { Manifest } from "../render/types.js";
import { isSealedSecretLike } from "../secrets/sealed-secret.js";
import { SecretsErrorCode } from "../secrets/types.js";
import { validateSealedSecret } from "../secrets/validate.js";
import { refOf, type Finding, type Severity } from "./types.js";

export interface SealedSecretCheck {
  /** Public keys of the sealing certificates; empty: only well-formedness and scope are checked. */
  readonly certificates: readonly KeyObject[];
  /** Where SealedSecrets without a namespace will be applied (the destination namespace). */
  readonly namespace?: string;
}

export const SEALED_SECRET_RULES = [
  {
    id: "secrets/sealed-secret-invalid",
    severity: "high",
    title: "SealedSecrets must be well-formed and stand where their scope allows",
    remediation:
      "Seal the Secret again (`gitward secrets seal --cert CERT`) for the name and namespace it is deployed " +
      "under, or give the namespace with --namespace.",
  },
  {
    id: "secrets/sealed-secret-unknown-cert",
    severity: "high",
    title: "SealedSecrets must be sealed to a known sealing certificate",
    remediation:
      "Seal the Secret again with the cluster's certificate (`gitward secrets cert`), or pass that " +
      "certificate with --cert.",
  },
] as const satisfies readonly { id: string; severity: Severity; title: string; remediation: string }[];

const [INVALID, UNKNOWN_CERT] = SEALED_SECRET_RULES;

/** One finding per problem of each SealedSecret (a value sealed to an unknown key is one problem). */
export function sealedSecretFindings(manifests: readonly Manifest[], check: SealedSecretCheck): Finding[] {
  const findings: Finding[] = [];
  for (const m of manifests) {
    if (!isSealedSecretLike(m.object)) continue;
    const problems = validateSealedSecret(m.object, {
      certificates: check.certificates,
      ...(check.namespace === undefined ? {} : { namespace: check.namespace }),
    });
    for (const p of problems) {
      const rule = p.code === SecretsErrorCode.UnknownKey ? UNKNOWN_CERT : INVALID;
      findings.push({
        ruleId: rule.id,
        severity: rule.severity,
        // validate.ts messages name the object and value, never plaintext (it is never opened here).
        message: `${p.message} (${p.code})`,
        remediation: rule.remediation,
        object: refOf(m),
        origin: m.origin,
      });
    }
  }
  return findings;
}
