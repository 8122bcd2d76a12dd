// The inventory: which objects gitward applied for an application, and how it marks them (the ownership
// label). Prune works only from this list and only on objects that still carry that label, so nothing
// gitward did not create for this very application is ever deleted (ARCHITECTURE.md invariant 4).
import { createHash } from "node:crypto";
import type { KubeObject, ObjectRef } from "../cluster/client.js";

/** Label on every applied object: which application owns it (a label value, see ownerLabelValue). */
export const OWNER_LABEL = "gitward.dev/application";
/** The same owner, spelled in full ("namespace/name") for people, as an annotation. */
export const OWNER_ANNOTATION = "gitward.dev/application";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

export interface InventoryEntry {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The uid the object had when gitward applied it: prune deletes only that very object. */
  readonly uid?: string;
  /** sha256 of the desired object last applied, so a field removed from git is noticed. */
  readonly hash?: string;
}

export interface AppId {
  readonly namespace: string;
  readonly name: string;
}

/**
 * A label value naming the application: "namespace.name" when that fits a label value (63 characters),
 * otherwise a prefix and a hash of the full name, which stays unique.
 */
export function ownerLabelValue(app: AppId): string {
  const full = `${app.namespace}.${app.name}`;
  if (full.length <= 63) return full;
  const digest = createHash("sha256").update(full).digest("hex").slice(0, 16);
  return `${full.slice(0, 46).replace(/[-.]+$/, "")}-${digest}`;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * Identity of an object across revisions: group, kind, namespace and name. The version is left out, so
 * moving an object to a newer apiVersion does not make it look removed (and pruned).
 */
export function keyOf(ref: ObjectRef | InventoryEntry): string {
  return [groupOf(ref.apiVersion), ref.kind, ref.namespace ?? "", ref.name].join("\u0000");
}

export function isOwnedBy(obj: KubeObject, app: AppId): boolean {
  return obj.metadata.labels?.[OWNER_LABEL] === ownerLabelValue(app);
}

/** Parses a stored inventory defensively: anything malformed is dropped, never guessed at. */
export function parseInventory(text: string | undefined): InventoryEntry[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: InventoryEntry[] = [];
  for (const e of value as unknown[]) {
    if (typeof e !== "object" || e === null) continue;
    const { apiVersion, kind, namespace, name, uid, hash } = e as Record<string, unknown>;
    if (typeof apiVersion !== "string" || typeof kind !== "string" || typeof name !== "string") continue;
    out.push({
      apiVersion,
      kind,
      name,
      ...(typeof namespace === "string" ? { namespace } : {}),
      ...(typeof uid === "string" ? { uid } : {}),
      ...(typeof hash === "string" ? { hash } : {}),
    });
  }
  return out;
}
