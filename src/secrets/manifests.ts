// For the reconcile: replaces every SealedSecret in a rendered set of objects by the Secret it stands
// for, all or nothing. One value that does not open fails the whole set, so a revision is never applied
// with some secrets missing or stale.
import type { SealingKeyRing } from "./keys.js";
import { isSealedSecretLike } from "./sealed-secret.js";
import type { SecretObject, SecretsErrorCode } from "./types.js";
import { unsealSecret } from "./unseal.js";

export interface UnsealFailure {
  /** Position of the SealedSecret in the input list. */
  index: number;
  code: SecretsErrorCode;
  message: string;
}

export type UnsealManifestsResult =
  { ok: true; objects: unknown[]; unsealed: number } | { ok: false; failures: UnsealFailure[] };

/**
 * Objects in the same order, SealedSecrets replaced by Secrets (in memory only). `namespace` is used for
 * SealedSecrets that have none (the Application's destination namespace).
 */
export function unsealManifests(
  objects: readonly unknown[],
  keys: SealingKeyRing,
  options: { namespace?: string } = {},
): UnsealManifestsResult {
  const out: unknown[] = [];
  const failures: UnsealFailure[] = [];
  let unsealed = 0;
  for (const [index, object] of objects.entries()) {
    if (!isSealedSecretLike(object)) {
      out.push(object);
      continue;
    }
    const result = unsealSecret(object as Record<string, unknown>, keys, options);
    if (result.ok) {
      out.push(result.secret satisfies SecretObject);
      unsealed += 1;
    } else {
      failures.push({ index, code: result.code, message: result.message });
    }
  }
  return failures.length === 0 ? { ok: true, objects: out, unsealed } : { ok: false, failures };
}
