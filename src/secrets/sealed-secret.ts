// Reads a SealedSecret from untrusted input (a file in git) into its typed shape, refusing anything that
// Sealed Secrets would not accept or that gitward will not handle, with a reason that names the object.
import { describeObject, fail, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND } from "./types.js";
import { SecretsErrorCode, type ObjectMeta, type SealedSecret, type SecretsResult } from "./types.js";
import { isRecord, stringMap } from "./yaml-input.js";

/** Bounds on untrusted SealedSecrets; a Kubernetes Secret holds at most 1 MiB, which these leave room for. */
export const LIMITS = {
  maxValues: 1000,
  /** Base64 of 1 MiB plus the RSA block and tag, rounded up. */
  maxValueChars: 1_500_000,
} as const;

export function isSealedSecretLike(value: unknown): boolean {
  return isRecord(value) && value["kind"] === SEALED_SECRET_KIND;
}

function readMeta(value: unknown): ObjectMeta | undefined {
  if (!isRecord(value)) return undefined;
  const meta: ObjectMeta = {};
  if (typeof value["name"] === "string") meta.name = value["name"];
  if (typeof value["namespace"] === "string") meta.namespace = value["namespace"];
  const labels = stringMap(value["labels"]);
  if (labels !== undefined) meta.labels = labels;
  const annotations = stringMap(value["annotations"]);
  if (annotations !== undefined) meta.annotations = annotations;
  return meta;
}

export function parseSealedSecret(value: unknown): SecretsResult<{ sealed: SealedSecret }> {
  if (!isRecord(value)) return fail(SecretsErrorCode.Malformed, "a SealedSecret must be a mapping");
  const meta = readMeta(value["metadata"]);
  const what = describeObject(SEALED_SECRET_KIND, meta);
  if (value["kind"] !== SEALED_SECRET_KIND || value["apiVersion"] !== SEALED_SECRET_API_VERSION) {
    return fail(
      SecretsErrorCode.Malformed,
      `${what}: expected apiVersion ${SEALED_SECRET_API_VERSION} and kind ${SEALED_SECRET_KIND}`,
    );
  }
  if (meta?.name === undefined || meta.name === "") {
    return fail(SecretsErrorCode.Malformed, `${what}: metadata.name is required`);
  }
  const spec = value["spec"];
  if (!isRecord(spec)) return fail(SecretsErrorCode.Malformed, `${what}: spec is required`);
  if (spec["data"] !== undefined && spec["data"] !== null) {
    return fail(
      SecretsErrorCode.DeprecatedData,
      `${what}: uses the deprecated whole-secret spec.data field; re-seal it with a current kubeseal or ` +
        "`gitward secrets seal` to get spec.encryptedData",
    );
  }
  const encryptedData = stringMap(spec["encryptedData"] ?? {});
  if (encryptedData === undefined) {
    return fail(SecretsErrorCode.Malformed, `${what}: spec.encryptedData must map keys to base64 strings`);
  }
  // Each value costs an RSA decryption per key: bound the work a hostile file can ask for.
  const entries = Object.entries(encryptedData);
  if (entries.length > LIMITS.maxValues) {
    return fail(
      SecretsErrorCode.Malformed,
      `${what}: ${entries.length} values in spec.encryptedData, more than the ${LIMITS.maxValues} allowed`,
    );
  }
  const tooBig = entries.find(([, encoded]) => encoded.length > LIMITS.maxValueChars);
  if (tooBig !== undefined) {
    return fail(
      SecretsErrorCode.Malformed,
      `${what}: value "${tooBig[0]}" is larger than a Secret can hold (1 MiB); it cannot be a sealed value`,
    );
  }
  const sealed: SealedSecret = {
    apiVersion: SEALED_SECRET_API_VERSION,
    kind: SEALED_SECRET_KIND,
    metadata: meta,
    spec: { encryptedData },
  };
  const template = spec["template"];
  if (template !== undefined && template !== null) {
    if (!isRecord(template))
      return fail(SecretsErrorCode.Malformed, `${what}: spec.template must be a mapping`);
    const out: NonNullable<SealedSecret["spec"]["template"]> = {};
    const templateMeta = readMeta(template["metadata"]);
    if (templateMeta !== undefined) out.metadata = templateMeta;
    if (typeof template["type"] === "string") out.type = template["type"];
    if (typeof template["immutable"] === "boolean") out.immutable = template["immutable"];
    if (template["data"] !== undefined && template["data"] !== null) {
      if (!isRecord(template["data"])) {
        return fail(SecretsErrorCode.Malformed, `${what}: spec.template.data must be a mapping`);
      }
      const data: Record<string, string | null> = {};
      for (const [key, entry] of Object.entries(template["data"])) {
        if (entry !== null && typeof entry !== "string") {
          return fail(SecretsErrorCode.Malformed, `${what}: spec.template.data["${key}"] must be a string`);
        }
        data[key] = entry;
      }
      out.data = data;
    }
    sealed.spec.template = out;
  }
  return { ok: true, sealed };
}
