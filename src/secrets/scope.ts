// Sealing scopes as Sealed Secrets defines them: the RSA-OAEP label binds a value to "namespace/name"
// (strict), to "namespace" (namespace-wide) or to nothing (cluster-wide), and annotations on the
// SealedSecret say which label to use when unsealing.
import {
  ANNOTATION_CLUSTER_WIDE,
  ANNOTATION_NAMESPACE_WIDE,
  SCOPES,
  type ObjectMeta,
  type Scope,
} from "./types.js";

export function isScope(text: string): text is Scope {
  return (SCOPES as readonly string[]).includes(text);
}

/** The scope an object's annotations declare; cluster-wide wins when both are set, as in Sealed Secrets. */
export function scopeOf(meta: ObjectMeta | undefined): Scope {
  const annotations = meta?.annotations ?? {};
  if (annotations[ANNOTATION_CLUSTER_WIDE] === "true") return "cluster-wide";
  if (annotations[ANNOTATION_NAMESPACE_WIDE] === "true") return "namespace-wide";
  return "strict";
}

/** The OAEP label for a scope; an empty label is the same as no label in OAEP. */
export function scopeLabel(scope: Scope, namespace: string, name: string): Buffer {
  switch (scope) {
    case "strict":
      return Buffer.from(`${namespace}/${name}`, "utf8");
    case "namespace-wide":
      return Buffer.from(namespace, "utf8");
    case "cluster-wide":
      return Buffer.alloc(0);
  }
}

/** Annotations with the scope annotations set to say `scope` (and only that), others kept. */
export function withScopeAnnotations(
  annotations: Record<string, string> | undefined,
  scope: Scope,
): Record<string, string> | undefined {
  const next = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(
      ([key]) => key !== ANNOTATION_NAMESPACE_WIDE && key !== ANNOTATION_CLUSTER_WIDE,
    ),
  );
  if (scope === "namespace-wide") next[ANNOTATION_NAMESPACE_WIDE] = "true";
  if (scope === "cluster-wide") next[ANNOTATION_CLUSTER_WIDE] = "true";
  return Object.keys(next).length === 0 ? undefined : next;
}

/** "strict (shop/db)", "namespace-wide (shop)", "cluster-wide": where a value may be unsealed. */
export function describeScope(scope: Scope, namespace: string, name: string): string {
  switch (scope) {
    case "strict":
      return `strict (${namespace}/${name})`;
    case "namespace-wide":
      return `namespace-wide (${namespace})`;
    case "cluster-wide":
      return "cluster-wide";
  }
}
