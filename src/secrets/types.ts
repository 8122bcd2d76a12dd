// The shapes that sealed secrets work with: a Kubernetes Secret, a Bitnami-compatible SealedSecret
// (`bitnami.com/v1alpha1`) and the closed set of failure codes that sealing and unsealing return.
// Failures are values (STYLE.md): callers and tests match on `code`; messages never carry plaintext.

export const SEALED_SECRET_API_VERSION = "bitnami.com/v1alpha1";
export const SEALED_SECRET_KIND = "SealedSecret";

/** Annotations that Sealed Secrets reads to pick the scope (cluster-wide wins over namespace-wide). */
export const ANNOTATION_NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide";
export const ANNOTATION_CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide";

export const SCOPES = ["strict", "namespace-wide", "cluster-wide"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A core/v1 Secret as gitward reads and writes it: `data` holds base64, `stringData` plain text. */
export interface SecretObject {
  apiVersion: "v1";
  kind: "Secret";
  metadata: ObjectMeta;
  type?: string;
  immutable?: boolean;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface SealedSecretTemplate {
  metadata?: ObjectMeta;
  type?: string;
  immutable?: boolean;
  /** Keys rendered from decrypted data by Go templates in Sealed Secrets; null removes a key. */
  data?: Record<string, string | null>;
}

export interface SealedSecret {
  apiVersion: typeof SEALED_SECRET_API_VERSION;
  kind: typeof SEALED_SECRET_KIND;
  metadata: ObjectMeta;
  spec: {
    template?: SealedSecretTemplate;
    /** Per value: base64 of (2-byte RSA ciphertext length || RSA-OAEP ciphertext || AES-GCM ciphertext). */
    encryptedData: Record<string, string>;
  };
}

/** Every expected failure of sealing, unsealing, resealing, validation and key handling. */
export const SecretsErrorCode = {
  /** The input is not a well-formed Secret / SealedSecret (missing fields, wrong types, bad YAML). */
  Malformed: "MALFORMED",
  /** A value in `encryptedData` (or a Secret's `data`) is not valid base64. */
  BadBase64: "BAD_BASE64",
  /** A sealed value is shorter than its own length prefix says: it was truncated. */
  Truncated: "TRUNCATED",
  /** No key of the ring opens the value with the label its scope and place give. */
  DecryptFailed: "DECRYPT_FAILED",
  /** The value opens only for the name/namespace/scope it was sealed for, not where it now stands. */
  ScopeMismatch: "SCOPE_MISMATCH",
  /** The session key opened, but the AES-GCM part failed authentication: the value was altered. */
  CiphertextAltered: "CIPHERTEXT_ALTERED",
  /** The RSA part's size fits no known certificate: sealed to a key this cluster does not know. */
  UnknownKey: "UNKNOWN_KEY",
  /** `spec.template.data` uses Go templates, which gitward does not evaluate. */
  TemplateUnsupported: "TEMPLATE_UNSUPPORTED",
  /** The deprecated whole-secret `spec.data` field (Sealed Secrets v1 format). */
  DeprecatedData: "DEPRECATED_DATA",
  /** A namespace is required (strict and namespace-wide scopes) but none was given. */
  MissingNamespace: "MISSING_NAMESPACE",
  /** The key ring is empty. */
  NoKeys: "NO_KEYS",
  /** A certificate cannot be read, is not RSA, or has expired. */
  BadCertificate: "BAD_CERTIFICATE",
  /** A private key cannot be read or is not RSA. */
  BadKey: "BAD_KEY",
} as const;
export type SecretsErrorCode = (typeof SecretsErrorCode)[keyof typeof SecretsErrorCode];

export interface SecretsFailure {
  ok: false;
  code: SecretsErrorCode;
  /** Names the object and value at fault and says what to do; never holds plaintext or key material. */
  message: string;
}

export type SecretsResult<T> = ({ ok: true } & T) | SecretsFailure;

export function fail(code: SecretsErrorCode, message: string): SecretsFailure {
  return { ok: false, code, message };
}

/** "SealedSecret shop/db" (or "SealedSecret db" when it has no namespace), for messages. */
export function describeObject(kind: string, meta: ObjectMeta | undefined): string {
  const name = meta?.name ?? "<unnamed>";
  return meta?.namespace === undefined ? `${kind} ${name}` : `${kind} ${meta.namespace}/${name}`;
}
