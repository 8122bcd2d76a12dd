// Unsealing, in memory only: opens every value of a SealedSecret with the cluster's key ring and returns
// the Secret to apply. Each value is checked as a sequence of named steps (base64, framing, key size,
// session key, authentication) so a failure says exactly which step refused and for which value.
import { openBody, openSessionKey, splitSealedValue } from "./hybrid.js";
import { modulusBytes, type SealingKey, type SealingKeyRing } from "./keys.js";
import { parseSealedSecret } from "./sealed-secret.js";
import { describeScope, scopeLabel, scopeOf } from "./scope.js";
import { describeObject, fail, SCOPES, SecretsErrorCode } from "./types.js";
import type {
  ObjectMeta,
  Scope,
  SealedSecret,
  SecretObject,
  SecretsFailure,
  SecretsResult,
} from "./types.js";
import { decodeBase64 } from "./yaml-input.js";

export interface UnsealOptions {
  /** The namespace to use when the SealedSecret has none (the Application's destination namespace). */
  namespace?: string;
}

export type UnsealResult = { ok: true; secret: SecretObject } | SecretsFailure;

/** Where a SealedSecret stands and how it says it is scoped: what its values must have been sealed for. */
export interface Placement {
  scope: Scope;
  namespace: string;
  name: string;
}

export type OpenedValue = SecretsResult<{ plaintext: Buffer; key: SealingKey }>;

/**
 * Opens one sealed value (base64) for `placement`. `what` names the value in messages. On failure it
 * also tries the places in `alternatives` (e.g. the template's own name and namespace), only to explain
 * a move out of scope; their plaintext is dropped at once.
 */
export function openSealedValue(
  encoded: string,
  keys: SealingKeyRing,
  placement: Placement,
  what: string,
  alternatives: readonly Placement[] = [],
): OpenedValue {
  const bytes = decodeBase64(encoded);
  if (bytes === undefined) return fail(SecretsErrorCode.BadBase64, `${what}: is not base64`);
  const parts = splitSealedValue(bytes);
  if (!parts.ok) {
    return fail(
      SecretsErrorCode.Truncated,
      `${what}: is shorter than its length prefix says; it was truncated`,
    );
  }
  const candidates = keys.keys.filter((key) => modulusBytes(key.publicKey) === parts.rsa.length);
  if (candidates.length === 0) {
    return fail(
      SecretsErrorCode.UnknownKey,
      `${what}: its length prefix gives a ${parts.rsa.length}-byte key block, which fits none of this ` +
        "cluster's sealing keys: it was sealed to a key of another size or the value is damaged; seal it " +
        "again with the certificate from `gitward secrets cert`",
    );
  }
  const label = scopeLabel(placement.scope, placement.namespace, placement.name);
  for (const key of candidates) {
    const sessionKey = openSessionKey(key.privateKey, parts.rsa, label);
    if (sessionKey === undefined) continue;
    const plaintext = openBody(sessionKey, parts.aes);
    if (plaintext === undefined) {
      return fail(
        SecretsErrorCode.CiphertextAltered,
        `${what}: the session key opened but the encrypted value failed authentication; it was altered ` +
          "or spliced from another value. Nothing of it is used; restore it from git history or seal it again",
      );
    }
    return { ok: true, plaintext, key };
  }
  const sealedFor = alternatives.find((place) =>
    candidates.some((key) => {
      const opened = openSessionKey(
        key.privateKey,
        parts.rsa,
        scopeLabel(place.scope, place.namespace, place.name),
      );
      opened?.fill(0);
      return opened !== undefined;
    }),
  );
  if (sealedFor !== undefined) {
    return fail(
      SecretsErrorCode.ScopeMismatch,
      `${what}: was sealed for ${describeScope(sealedFor.scope, sealedFor.namespace, sealedFor.name)} but ` +
        `stands at ${describeScope(placement.scope, placement.namespace, placement.name)}; a sealed value ` +
        "cannot move out of its scope: seal it again for the new place",
    );
  }
  return fail(
    SecretsErrorCode.DecryptFailed,
    `${what}: no sealing key of this cluster opens it for ${describeScope(placement.scope, placement.namespace, placement.name)}; ` +
      "it was sealed for another name, namespace or scope, to another cluster's key, or altered. Seal it again " +
      "with `gitward secrets seal`",
  );
}

/** Every place a value might have been sealed for, other than where it stands: for diagnosis only. */
function alternativePlacements(sealed: SealedSecret, placement: Placement): Placement[] {
  const templateMeta = sealed.spec.template?.metadata;
  const namespaces = new Set([placement.namespace, templateMeta?.namespace ?? placement.namespace]);
  const names = new Set([placement.name, templateMeta?.name ?? placement.name]);
  const out: Placement[] = [];
  for (const scope of SCOPES) {
    for (const namespace of namespaces) {
      for (const name of names) {
        const same =
          scope === placement.scope && namespace === placement.namespace && name === placement.name;
        if (!same) out.push({ scope, namespace, name });
      }
    }
  }
  return out;
}

/** The Secret a SealedSecret stands for, decrypted in memory with `keys`. */
export function unsealSecret(
  input: SealedSecret | Record<string, unknown>,
  keys: SealingKeyRing,
  options: UnsealOptions = {},
): UnsealResult {
  const parsed = parseSealedSecret(input);
  if (!parsed.ok) return parsed;
  const sealed = parsed.sealed;
  const namespace = sealed.metadata.namespace ?? options.namespace;
  const meta: ObjectMeta = { ...sealed.metadata, ...(namespace === undefined ? {} : { namespace }) };
  const what = describeObject("SealedSecret", meta);
  if (keys.keys.length === 0) {
    return fail(
      SecretsErrorCode.NoKeys,
      `${what}: no sealing keys; create one with \`gitward secrets keygen\``,
    );
  }
  const scope = scopeOf(sealed.metadata);
  if (scope !== "cluster-wide" && (namespace === undefined || namespace === "")) {
    return fail(SecretsErrorCode.MissingNamespace, `${what}: a ${scope} SealedSecret needs a namespace`);
  }
  const templateData = sealed.spec.template?.data ?? {};
  for (const [key, template] of Object.entries(templateData)) {
    if (template !== null && template.includes("{{")) {
      return fail(
        SecretsErrorCode.TemplateUnsupported,
        `${what}: spec.template.data["${key}"] is a Go template, which gitward does not evaluate; ` +
          "put the whole value in encryptedData instead",
      );
    }
  }
  const name = sealed.metadata.name ?? "";
  const placement: Placement = { scope, namespace: namespace ?? "", name };
  const alternatives = alternativePlacements(sealed, placement);
  const data = new Map<string, string>();
  for (const [key, encoded] of Object.entries(sealed.spec.encryptedData)) {
    const opened = openSealedValue(encoded, keys, placement, `${what} value "${key}"`, alternatives);
    if (!opened.ok) return opened;
    data.set(key, opened.plaintext.toString("base64"));
    opened.plaintext.fill(0);
  }
  // Literal template entries are plain text already in git; null removes a key, as in Sealed Secrets.
  for (const [key, literal] of Object.entries(templateData)) {
    if (literal === null) data.delete(key);
    else data.set(key, Buffer.from(literal, "utf8").toString("base64"));
  }
  const template = sealed.spec.template;
  const secretMeta: ObjectMeta = { name };
  if (namespace !== undefined && namespace !== "") secretMeta.namespace = namespace;
  if (template?.metadata?.labels !== undefined) secretMeta.labels = { ...template.metadata.labels };
  if (template?.metadata?.annotations !== undefined)
    secretMeta.annotations = { ...template.metadata.annotations };
  const secret: SecretObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: secretMeta,
    data: Object.fromEntries(data),
  };
  if (template?.type !== undefined) secret.type = template.type;
  if (template?.immutable !== undefined) secret.immutable = template.immutable;
  return { ok: true, secret };
}
