// Resealing after a key rotation: opens each value with the ring and seals it again to the newest key,
// with the same scope label, so old keys can retire. Values already sealed to the newest key are left
// as they are, which keeps diffs in git to what actually changed.
import { hybridEncrypt } from "./hybrid.js";
import type { SealingKeyRing } from "./keys.js";
import { parseSealedSecret } from "./sealed-secret.js";
import { scopeLabel, scopeOf } from "./scope.js";
import { describeObject, fail, SecretsErrorCode, type SealedSecret, type SecretsResult } from "./types.js";
import { openSealedValue, type Placement } from "./unseal.js";

export interface ResealOutcome {
  sealed: SealedSecret;
  /** Keys of encryptedData that were sealed again to the newest key. */
  resealed: string[];
  /** Keys already sealed to the newest key, left untouched. */
  unchanged: string[];
}

export function resealSecret(
  input: SealedSecret | Record<string, unknown>,
  keys: SealingKeyRing,
  options: { namespace?: string } = {},
): SecretsResult<ResealOutcome> {
  const parsed = parseSealedSecret(input);
  if (!parsed.ok) return parsed;
  const sealed = parsed.sealed;
  const namespace = sealed.metadata.namespace ?? options.namespace ?? "";
  const what = describeObject("SealedSecret", { ...sealed.metadata, namespace });
  const newest = keys.newest;
  if (newest === undefined) return fail(SecretsErrorCode.NoKeys, `${what}: no sealing keys to reseal with`);
  const scope = scopeOf(sealed.metadata);
  if (scope !== "cluster-wide" && namespace === "") {
    return fail(SecretsErrorCode.MissingNamespace, `${what}: a ${scope} SealedSecret needs a namespace`);
  }
  const placement: Placement = { scope, namespace, name: sealed.metadata.name ?? "" };
  const label = scopeLabel(scope, namespace, placement.name);
  const encryptedData: Record<string, string> = {};
  const resealed: string[] = [];
  const unchanged: string[] = [];
  for (const [key, encoded] of Object.entries(sealed.spec.encryptedData)) {
    const opened = openSealedValue(encoded, keys, placement, `${what} value "${key}"`);
    if (!opened.ok) return opened;
    if (opened.key.fingerprint === newest.fingerprint) {
      encryptedData[key] = encoded;
      unchanged.push(key);
    } else {
      encryptedData[key] = hybridEncrypt(newest.publicKey, opened.plaintext, label).toString("base64");
      resealed.push(key);
    }
    opened.plaintext.fill(0);
  }
  return { ok: true, sealed: { ...sealed, spec: { ...sealed.spec, encryptedData } }, resealed, unchanged };
}
