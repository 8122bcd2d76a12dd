// An inventory too big for one ConfigMap (1 MiB, about 15,000 entries packed), stored in parts: the packed
// inventory is cut into part ConfigMaps written first, and only then does the head (the state ConfigMap the
// inventory always lived in) point at them, with the sha256 of each. A crash between part writes leaves the
// head on the previous generation, whose parts are untouched: the parts of generation g live in slot g % 2,
// so a write of g + 1 never overwrites what the head names. Stale parts are emptied afterwards (gitward
// may not delete ConfigMaps, so they are emptied by name, never listed and deleted). Small inventories keep
// the single-ConfigMap form, which is still what `inventoryFromConfigMap` reads.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import {
  INVENTORY_PARTS_KEY,
  InventoryTooLargeError,
  InventoryUnreadableError,
  PACKED_INVENTORY_KEY,
  PACKED_INVENTORY_LIMIT,
  inventoryFromConfigMap,
  unpackInventory,
  type InventoryEntry,
} from "./inventory.js";

/** On the head, readable by a metadata-only read: the generation last written, and how many parts. */
export const GENERATION_ANNOTATION = "gitward.dev/inventory-generation";
export const PARTS_ANNOTATION = "gitward.dev/inventory-parts";
/** On each part: whose inventory it is part of (not the state label: parts are no application's state). */
export const PART_LABEL = "gitward.dev/inventory-part";
const PART_KEY = "part";
/** The generation annotation of a part emptied because no head names it any more. */
const EMPTIED = "emptied";
/** At most this many parts: with 960 KiB each, about 15 MiB packed, some 200,000 entries. */
export const MAX_PARTS = 16;

interface PartsPointer {
  readonly generation: number;
  /** sha256 (hex) of each part's bytes, in order; the part names follow from the head's and the slot. */
  readonly parts: readonly string[];
}

/** What a head carries about its inventory: set on the head ConfigMap by the state store that writes it. */
export interface HeadFields {
  readonly annotations: Record<string, string>;
  readonly data: Record<string, string>;
  readonly binaryData: Record<string, string>;
}

/** The name of part `index` of slot `slot` of the inventory whose head is `head`; unique per head. */
export function partName(head: string, slot: number, index: number): string {
  const suffix = `-part-${slot}-${index}`;
  if (head.length + suffix.length <= 253) return `${head}${suffix}`;
  const digest = createHash("sha256").update(head).digest("hex").slice(0, 16);
  return `${head.slice(0, 253 - suffix.length - 17).replace(/[-.]+$/, "")}-${digest}${suffix}`;
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

function pointerOf(head: KubeObject): PartsPointer | undefined {
  const data = head["data"];
  if (typeof data !== "object" || data === null) return undefined;
  const text = (data as Record<string, unknown>)[INVENTORY_PARTS_KEY];
  if (typeof text !== "string") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InventoryUnreadableError(`ConfigMap ${head.metadata.name}: ${INVENTORY_PARTS_KEY} is not JSON`);
  }
  const { generation, parts } = (v ?? {}) as Record<string, unknown>;
  if (
    typeof generation !== "number" ||
    !Number.isSafeInteger(generation) ||
    generation < 0 ||
    !Array.isArray(parts) ||
    parts.length > MAX_PARTS ||
    !parts.every((p) => typeof p === "string" && /^[0-9a-f]{64}$/.test(p))
  ) {
    throw new InventoryUnreadableError(
      `ConfigMap ${head.metadata.name}: ${INVENTORY_PARTS_KEY} is malformed`,
    );
  }
  return { generation, parts: parts as string[] };
}

/** Whether the head's inventory is stored in parts (then `readInventory` must be used to read it). */
export function hasParts(head: KubeObject | undefined): boolean {
  const data = head?.["data"];
  return typeof data === "object" && data !== null && INVENTORY_PARTS_KEY in data;
}

/**
 * The inventory a head holds, inline or in parts read through `getPart` (a get by name in the head's
 * namespace). A part that is missing or not the one the head names (its sha256) fails the read: a partial
 * inventory is never handed out, since what it lacks would never be pruned.
 */
export async function readInventory(
  head: KubeObject | undefined,
  getPart: (name: string) => Promise<KubeObject | undefined>,
): Promise<InventoryEntry[]> {
  if (head === undefined) return [];
  const pointer = pointerOf(head);
  if (pointer === undefined) return inventoryFromConfigMap(head);
  const slot = pointer.generation % 2;
  const bufs = await Promise.all(
    pointer.parts.map(async (want, i) => {
      const name = partName(head.metadata.name, slot, i);
      const part = await getPart(name);
      const bin = part?.["binaryData"] as Record<string, unknown> | undefined;
      const text = bin?.[PART_KEY];
      const buf = typeof text === "string" ? Buffer.from(text, "base64") : undefined;
      if (buf === undefined || sha256(buf) !== want) {
        throw new InventoryUnreadableError(
          `inventory ${head.metadata.name}: part ${name} of generation ${pointer.generation} is ${buf === undefined ? "missing" : "not the one written"}`,
        );
      }
      return buf;
    }),
  );
  const entries = unpackInventory(Buffer.concat(bufs));
  if (entries === undefined)
    throw new InventoryUnreadableError(`inventory ${head.metadata.name}: its parts do not unpack`);
  return entries;
}

/**
 * What a state store keeps of a head read by version: the inventory when it was inline, the (small) head
 * when it names parts; `resolve` reads those parts once per head version and keeps the result.
 */
export class PartsCache<T> {
  private readonly resolved = new WeakMap<object, T>();

  constructor(private readonly cluster: ClusterClient) {}

  async resolve(key: object, head: KubeObject, make: (entries: InventoryEntry[]) => T): Promise<T> {
    const known = this.resolved.get(key);
    if (known !== undefined) return known;
    const value = make(await readInventoryFrom(this.cluster, head));
    this.resolved.set(key, value);
    return value;
  }
}

/** A head's inventory read from the cluster, parts by name in the head's namespace. */
export function readInventoryFrom(
  cluster: ClusterClient,
  head: KubeObject | undefined,
): Promise<InventoryEntry[]> {
  const namespace = head?.metadata.namespace;
  return readInventory(head, (name) =>
    cluster.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      name,
      ...(namespace === undefined ? {} : { namespace }),
    }),
  );
}

/** Throws InventoryTooLargeError when `entries` could not be stored, even in parts. */
export function packParts(entries: readonly InventoryEntry[], partBytes = PACKED_INVENTORY_LIMIT): Buffer[] {
  const json = JSON.stringify(entries);
  const packed = gzipSync(json);
  if (packed.length > partBytes * MAX_PARTS || json.length > UNPACKED_MAX)
    throw new InventoryTooLargeError(entries.length, packed.length, partBytes * MAX_PARTS);
  const out: Buffer[] = [];
  for (let at = 0; at < packed.length; at += partBytes) out.push(packed.subarray(at, at + partBytes));
  return out.length === 0 ? [packed] : out;
}

/**
 * Throws InventoryTooLargeError when `entries` would not fit, with a little room: the uids of objects an
 * apply is about to make are not known yet, and random ones stand in for them.
 */
export function assertInventoryFits(
  entries: readonly InventoryEntry[],
  partBytes = PACKED_INVENTORY_LIMIT,
): void {
  packParts(entries, Math.floor(partBytes * 0.98));
}

/** What unpackInventory accepts (inventory.ts), less a margin. */
const UNPACKED_MAX = 60 * 1024 * 1024;

export interface InventoryWriteOptions {
  readonly cluster: ClusterClient;
  readonly head: ObjectRef & { namespace: string };
  readonly entries: readonly InventoryEntry[];
  /** Writes the head with these fields (and whatever else the store keeps on it); answers what was written. */
  readonly writeHead: (fields: HeadFields) => Promise<KubeObject>;
  /** Set on every part, e.g. the Application that owns the head, so they go together. */
  readonly ownerReferences?: readonly Record<string, unknown>[];
  /** The most bytes a part holds; tests make it small. */
  readonly partBytes?: number;
}

/**
 * Writes an inventory: parts of the next generation first (into the slot the head does not name), then the
 * head, then empties whatever parts are now stale. Answers the head as written.
 */
export async function writeInventory(o: InventoryWriteOptions): Promise<KubeObject> {
  const partBytes = o.partBytes ?? PACKED_INVENTORY_LIMIT;
  const parts = packParts(o.entries, partBytes);
  const before = await o.cluster.get(o.head, { metadataOnly: true });
  const lastGeneration = Number(before?.metadata.annotations?.[GENERATION_ANNOTATION] ?? "0");
  const hadParts = Number(before?.metadata.annotations?.[PARTS_ANNOTATION] ?? "0") > 0;
  const generation = (Number.isSafeInteger(lastGeneration) && lastGeneration >= 0 ? lastGeneration : 0) + 1;
  const slot = generation % 2;
  const inline = parts.length === 1;
  if (!inline) {
    for (const [i, bytes] of parts.entries()) {
      await o.cluster.apply(partObject(o, slot, i, generation, { [PART_KEY]: bytes.toString("base64") }));
    }
  }
  const pointer: PartsPointer = { generation, parts: parts.map(sha256) };
  const written = await o.writeHead({
    annotations: {
      [GENERATION_ANNOTATION]: String(generation),
      [PARTS_ANNOTATION]: String(inline ? 0 : parts.length),
    },
    data: inline ? {} : { [INVENTORY_PARTS_KEY]: JSON.stringify(pointer) },
    binaryData: inline ? { [PACKED_INVENTORY_KEY]: (parts[0] ?? Buffer.alloc(0)).toString("base64") } : {},
  });
  if (hadParts || !inline) await emptyStale(o, inline ? -1 : slot, inline ? 0 : parts.length);
  return written;
}

function partObject(
  o: InventoryWriteOptions,
  slot: number,
  index: number,
  generation: number | typeof EMPTIED,
  binaryData: Record<string, string> | undefined,
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: partName(o.head.name, slot, index),
      namespace: o.head.namespace,
      labels: { [PART_LABEL]: "true" },
      annotations: { [GENERATION_ANNOTATION]: String(generation) },
      ...(o.ownerReferences === undefined ? {} : { ownerReferences: o.ownerReferences }),
    },
    ...(binaryData === undefined ? {} : { binaryData }),
  };
}

/**
 * Empties the parts the head no longer names: every part of the other slot, and those of the kept slot past
 * its count (left by a longer generation, or by a write that crashed). Parts are made in order, so the
 * first missing one ends a slot; an emptied one does not (a crash may have stopped emptying midway).
 */
async function emptyStale(o: InventoryWriteOptions, keptSlot: number, kept: number): Promise<void> {
  for (const slot of [0, 1]) {
    for (let i = slot === keptSlot ? kept : 0; i < MAX_PARTS; i++) {
      const ref = {
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: o.head.namespace,
        name: partName(o.head.name, slot, i),
      };
      const part = await o.cluster.get(ref, { metadataOnly: true });
      if (part === undefined) break;
      if (part.metadata.annotations?.[GENERATION_ANNOTATION] === EMPTIED) continue;
      await o.cluster.apply(partObject(o, slot, i, EMPTIED, undefined));
    }
  }
}
