// Validation for the check stage and CI: is a SealedSecret well-formed, and sealed to a key we know?
// With only certificates (CI, developers) "known" can be checked no further than the key block's size,
// since RSA-OAEP ciphertext does not name its key; with the key ring (in the cluster) every value is
// opened in memory and the plaintext dropped at once.
import type { KeyObject } from "node:crypto";
import { splitSealedValue } from "./hybrid.js";
import { modulusBytes, type SealingKeyRing } from "./keys.js";
import { parseSealedSecret } from "./sealed-secret.js";
import { describeScope, scopeOf } from "./scope.js";
import {
  ANNOTATION_CLUSTER_WIDE,
  ANNOTATION_NAMESPACE_WIDE,
  describeObject,
  SecretsErrorCode,
} from "./types.js";
import type { SecretsErrorCode as Code } from "./types.js";
import { unsealSecret } from "./unseal.js";
import { decodeBase64 } from "./yaml-input.js";

export interface ValidationFinding {
  code: Code;
  message: string;
}

export interface ValidateOptions {
  /** Public keys of the certificates values may be sealed to. */
  certificates?: readonly KeyObject[];
  /** The key ring: when given, every value is opened (in memory) to prove it unseals here. */
  keys?: SealingKeyRing;
  /** The namespace a SealedSecret without one will be applied in. */
  namespace?: string;
}

/** Every problem found; an empty list means valid. */
export function validateSealedSecret(input: unknown, options: ValidateOptions = {}): ValidationFinding[] {
  const parsed = parseSealedSecret(input);
  if (!parsed.ok) return [{ code: parsed.code, message: parsed.message }];
  const sealed = parsed.sealed;
  const namespace = sealed.metadata.namespace ?? options.namespace;
  const what = describeObject("SealedSecret", {
    ...sealed.metadata,
    ...(namespace === undefined ? {} : { namespace }),
  });
  const findings: ValidationFinding[] = [];
  const scope = scopeOf(sealed.metadata);
  const templateMeta = sealed.spec.template?.metadata;
  const templateAnnotations = templateMeta?.annotations ?? {};
  const templateDeclares =
    ANNOTATION_CLUSTER_WIDE in templateAnnotations || ANNOTATION_NAMESPACE_WIDE in templateAnnotations;
  if (templateDeclares && scopeOf(templateMeta) !== scope) {
    findings.push({
      code: SecretsErrorCode.ScopeMismatch,
      message: `${what}: metadata annotations say ${scope} but spec.template says ${scopeOf(templateMeta)}`,
    });
  }
  if (scope !== "cluster-wide" && (namespace === undefined || namespace === "")) {
    findings.push({
      code: SecretsErrorCode.MissingNamespace,
      message: `${what}: a ${scope} SealedSecret needs a namespace`,
    });
  }
  if (scope === "strict" && namespace !== undefined && templateMeta !== undefined) {
    const place = `${namespace}/${sealed.metadata.name ?? ""}`;
    const sealedFor = `${templateMeta.namespace ?? namespace}/${templateMeta.name ?? sealed.metadata.name ?? ""}`;
    if (place !== sealedFor) {
      findings.push({
        code: SecretsErrorCode.ScopeMismatch,
        message: `${what}: its template says it was sealed for ${describeScope("strict", ...splitPlace(sealedFor))}; a strict SealedSecret cannot be renamed or moved`,
      });
    }
  }
  const sizes = new Set((options.certificates ?? []).map(modulusBytes));
  for (const [key, encoded] of Object.entries(sealed.spec.encryptedData)) {
    const bytes = decodeBase64(encoded);
    if (bytes === undefined) {
      findings.push({ code: SecretsErrorCode.BadBase64, message: `${what} value "${key}": is not base64` });
      continue;
    }
    const parts = splitSealedValue(bytes);
    if (!parts.ok) {
      findings.push({ code: SecretsErrorCode.Truncated, message: `${what} value "${key}": is truncated` });
      continue;
    }
    if (sizes.size > 0 && !sizes.has(parts.rsa.length)) {
      findings.push({
        code: SecretsErrorCode.UnknownKey,
        message: `${what} value "${key}": its ${parts.rsa.length}-byte key block fits none of the known certificates`,
      });
    }
  }
  if (findings.length === 0 && options.keys !== undefined) {
    const unsealed = unsealSecret(sealed, options.keys, namespace === undefined ? {} : { namespace });
    if (!unsealed.ok) findings.push({ code: unsealed.code, message: unsealed.message });
  }
  return findings;
}

function splitPlace(place: string): [string, string] {
  const slash = place.indexOf("/");
  return [place.slice(0, slash), place.slice(slash + 1)];
}
