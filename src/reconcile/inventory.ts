// The inventory: which objects gitward applied for an application, and how it marks them (the ownership
// label). Prune works only from this list and only on objects that still carry that label, so nothing
// gitward did not create for this very application is ever deleted (ARCHITECTURE.md invariant 4).
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { KubeObject, ObjectRef } from "../cluster/client.js";
import { groupOf } from "../cluster/core-kinds.js";

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

/** A frozen copy, entries too: what the state caches hand out, so a caller that changed it fails loudly. */
export function frozenInventory(entries: readonly InventoryEntry[]): readonly InventoryEntry[] {
  return Object.freeze(entries.map((e) => Object.freeze({ ...e })));
}

/** The ConfigMap key of a packed inventory (binaryData: gzip of the JSON list). */
export const PACKED_INVENTORY_KEY = "inventory.json.gz";
/** The ConfigMap key of the unpacked JSON list that earlier versions wrote (still read). */
export const INVENTORY_KEY = "inventory.json";
/**
 * The most a packed inventory may take: a ConfigMap holds 1 MiB of values (kube-apiserver refuses more),
 * less room for the status beside it. About 15,000 entries at ~63 bytes each packed.
 */
export const PACKED_INVENTORY_LIMIT = 1024 * 1024 - 64 * 1024;
/** Unpacking stops here: the ConfigMap is gitward's, but a planted gzip bomb must not take the memory. */
const UNPACKED_LIMIT = 64 * 1024 * 1024;

export class InventoryTooLargeError extends Error {
  override readonly name = "InventoryTooLargeError";
  constructor(
    readonly entries: number,
    readonly bytes: number,
    readonly limit: number = PACKED_INVENTORY_LIMIT,
  ) {
    super(
      limit === PACKED_INVENTORY_LIMIT
        ? `the inventory of ${entries} objects takes ${bytes} bytes packed, more than a ConfigMap holds (${limit}); split the application into smaller ones`
        : `the inventory of ${entries} objects takes ${bytes} bytes packed, more than its parts hold (${limit}); split the application into smaller ones`,
    );
  }
}

/** In a head whose inventory is stored in parts (inventory-parts.ts): which generation and parts. */
export const INVENTORY_PARTS_KEY = "inventory.parts.json";

/** A stored inventory that cannot be read in full: never handed out in part, since prune would miss the rest. */
export class InventoryUnreadableError extends Error {
  override readonly name = "InventoryUnreadableError";
}

/** The entries of a packed inventory (gzip of the JSON list), or undefined when it does not unpack. */
export function unpackInventory(packed: Buffer): InventoryEntry[] | undefined {
  let text: string;
  try {
    text = gunzipSync(packed, { maxOutputLength: UNPACKED_LIMIT }).toString("utf8");
  } catch {
    return undefined;
  }
  return parseInventory(text);
}

/** The inventory as base64 of its gzip'd JSON (random uids and hashes keep it at ~63 bytes an entry). */
export function packInventory(
  entries: readonly InventoryEntry[],
  limit: number = PACKED_INVENTORY_LIMIT,
): string {
  const packed = gzipSync(JSON.stringify(entries));
  if (packed.length > limit) throw new InventoryTooLargeError(entries.length, packed.length);
  return packed.toString("base64");
}

/**
 * A stored inventory from a ConfigMap's binaryData (packed) or data (earlier, unpacked); defensive. One
 * stored in parts is read with readInventory (inventory-parts.ts); here it is refused, never read as empty.
 */
export function inventoryFromConfigMap(cm: { [key: string]: unknown } | undefined): InventoryEntry[] {
  const binary = cm?.["binaryData"];
  const packed = isTextMap(binary) ? binary[PACKED_INVENTORY_KEY] : undefined;
  if (typeof packed === "string") return unpackInventory(Buffer.from(packed, "base64")) ?? [];
  const data = cm?.["data"];
  if (isTextMap(data) && INVENTORY_PARTS_KEY in data) {
    throw new InventoryUnreadableError("this inventory is stored in parts: read it with readInventory");
  }
  const text = isTextMap(data) ? data[INVENTORY_KEY] : undefined;
  return parseInventory(typeof text === "string" ? text : undefined);
}

function isTextMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
