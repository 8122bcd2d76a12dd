// Sealing: turns a Secret into a SealedSecret that only the holder of the certificate's private key can
// open, value by value, bound by the OAEP label to the scope chosen (Sealed Secrets' wire format).
import type { KeyObject } from "node:crypto";
import { hybridEncrypt } from "./hybrid.js";
import { scopeLabel, scopeOf, withScopeAnnotations } from "./scope.js";
import {
  describeObject,
  fail,
  SEALED_SECRET_API_VERSION,
  SEALED_SECRET_KIND,
  SecretsErrorCode,
} from "./types.js";
import type { ObjectMeta, Scope, SealedSecret, SecretsResult } from "./types.js";
import { decodeBase64, isRecord, stringMap } from "./yaml-input.js";

export interface SealOptions {
  /** The scope; default: what the Secret's own annotations say, else strict. */
  scope?: Scope;
  /** Overrides metadata.name / metadata.namespace of the Secret. */
  name?: string;
  namespace?: string;
}

/** Annotations that kubectl and kubecfg add holding a full copy of the object, values included. */
const LAST_APPLIED = [
  "kubectl.kubernetes.io/last-applied-configuration",
  "kubecfg.ksonnet.io/last-applied-configuration",
];

/** Seals a Secret (parsed YAML/JSON, untrusted shape) to `publicKey`. */
export function sealSecret(
  secret: unknown,
  publicKey: KeyObject,
  options: SealOptions = {},
): SecretsResult<{ sealed: SealedSecret }> {
  if (!isRecord(secret) || secret["kind"] !== "Secret" || !isRecord(secret["metadata"] ?? {})) {
    return fail(SecretsErrorCode.Malformed, "the input is not a Secret (kind: Secret)");
  }
  const rawMeta = isRecord(secret["metadata"]) ? secret["metadata"] : {};
  const name = options.name ?? (typeof rawMeta["name"] === "string" ? rawMeta["name"] : undefined);
  const namespace =
    options.namespace ?? (typeof rawMeta["namespace"] === "string" ? rawMeta["namespace"] : undefined);
  const labels = stringMap(rawMeta["labels"]);
  const inputAnnotations = stringMap(rawMeta["annotations"]);
  const what = describeObject("Secret", {
    ...(name === undefined ? {} : { name }),
    ...(namespace === undefined ? {} : { namespace }),
  });
  if (name === undefined || name === "") {
    return fail(SecretsErrorCode.Malformed, `${what}: metadata.name is required (or pass --name)`);
  }
  const scope =
    options.scope ?? scopeOf(inputAnnotations === undefined ? {} : { annotations: inputAnnotations });
  if (scope !== "cluster-wide" && (namespace === undefined || namespace === "")) {
    return fail(
      SecretsErrorCode.MissingNamespace,
      `${what}: a ${scope} SealedSecret is bound to a namespace; set metadata.namespace or pass --namespace`,
    );
  }
  const values = new Map<string, Buffer>();
  const data = stringMap(secret["data"] ?? {});
  const stringData = stringMap(secret["stringData"] ?? {});
  if (data === undefined || stringData === undefined) {
    return fail(SecretsErrorCode.Malformed, `${what}: data and stringData must map keys to strings`);
  }
  for (const [key, encoded] of Object.entries(data)) {
    const bytes = decodeBase64(encoded);
    if (bytes === undefined) {
      return fail(
        SecretsErrorCode.BadBase64,
        `${what}: data["${key}"] is not base64 (use stringData for text)`,
      );
    }
    values.set(key, bytes);
  }
  // stringData wins over data for the same key, as the API server merges them.
  for (const [key, text] of Object.entries(stringData)) values.set(key, Buffer.from(text, "utf8"));

  const label = scopeLabel(scope, namespace ?? "", name);
  const encryptedData: Record<string, string> = {};
  for (const [key, bytes] of [...values.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    encryptedData[key] = hybridEncrypt(publicKey, bytes, label).toString("base64");
    bytes.fill(0);
  }

  const annotations = Object.fromEntries(
    Object.entries(inputAnnotations ?? {}).filter(([key]) => !LAST_APPLIED.includes(key)),
  );
  const scopeAnnotations = withScopeAnnotations(annotations, scope);
  const templateMeta: ObjectMeta = { name };
  if (namespace !== undefined && namespace !== "") templateMeta.namespace = namespace;
  if (labels !== undefined) templateMeta.labels = labels;
  if (scopeAnnotations !== undefined) templateMeta.annotations = scopeAnnotations;
  const meta: ObjectMeta = { name };
  if (namespace !== undefined && namespace !== "") meta.namespace = namespace;
  const metaAnnotations = withScopeAnnotations(undefined, scope);
  if (metaAnnotations !== undefined) meta.annotations = metaAnnotations;

  const template: NonNullable<SealedSecret["spec"]["template"]> = { metadata: templateMeta };
  if (typeof secret["type"] === "string") template.type = secret["type"];
  if (typeof secret["immutable"] === "boolean") template.immutable = secret["immutable"];
  return {
    ok: true,
    sealed: {
      apiVersion: SEALED_SECRET_API_VERSION,
      kind: SEALED_SECRET_KIND,
      metadata: meta,
      spec: { template, encryptedData },
    },
  };
}
