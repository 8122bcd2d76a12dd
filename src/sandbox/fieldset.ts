// Field sets in the `FieldsV1` format of managedFields: a tree whose keys are `f:<field>`, `k:<json key>`
// for associative list items, `v:<json value>` for set members and `.` for "this item itself". Server-side
// apply computes ownership, conflicts and removals with the set operations here.
import { fieldSchema, type TypeSchema } from "./schema.js";

export type FieldSet = Map<string, FieldSet>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The `k:` key of an associative list item: its key fields as JSON with sorted keys, as Kubernetes writes. */
export function itemKey(item: JsonObject, keys: readonly string[]): string {
  const parts = [...keys]
    .sort()
    .filter((k) => item[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(item[k])}`);
  return `k:{${parts.join(",")}}`;
}

export function itemMatches(item: Json | undefined, key: JsonObject): boolean {
  if (!isObject(item)) return false;
  for (const [k, v] of Object.entries(key)) if (!jsonEqual(item[k], v)) return false;
  return true;
}

export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

const leaf = (): FieldSet => new Map();

/** Every field set in `value` (leaves and list items), as an apply or a create owns them. */
export function setOf(value: Json, schema: TypeSchema | undefined): FieldSet {
  const out: FieldSet = new Map();
  if (isObject(value)) {
    if (schema?.atomic === true) return out;
    for (const [k, v] of Object.entries(value)) out.set(`f:${k}`, childSet(v, fieldSchema(schema, k)));
    return out;
  }
  if (Array.isArray(value)) {
    const list = schema?.list;
    if (list?.type === "map") {
      for (const item of value) {
        if (!isObject(item)) continue;
        const node = setOf(item, list.items);
        node.set(".", leaf());
        out.set(itemKey(item, list.keys), node);
      }
    } else if (list?.type === "set") {
      for (const item of value) out.set(`v:${JSON.stringify(item)}`, leaf());
    }
  }
  return out;
}

function childSet(v: Json, schema: TypeSchema | undefined): FieldSet {
  if (isObject(v) || (Array.isArray(v) && (schema?.list?.type === "map" || schema?.list?.type === "set"))) {
    return setOf(v, schema);
  }
  return leaf();
}

/** Fields whose value differs between `before` and `after` (added or changed), as an update owns them. */
export function changedSet(before: Json | undefined, after: Json, schema: TypeSchema | undefined): FieldSet {
  const out: FieldSet = new Map();
  if (isObject(after) && schema?.atomic !== true) {
    const old = isObject(before) ? before : undefined;
    if (old === undefined && before !== undefined) return setOf(after, schema);
    for (const [k, v] of Object.entries(after)) {
      const prev = old?.[k];
      if (prev !== undefined && jsonEqual(prev, v)) continue;
      const s = fieldSchema(schema, k);
      const composite =
        isObject(v) || (Array.isArray(v) && s?.list !== undefined && s.list.type !== "atomic");
      if (!composite) {
        out.set(`f:${k}`, leaf());
        continue;
      }
      const child = prev === undefined ? childSet(v, s) : changedSet(prev, v, s);
      if (prev === undefined) child.set(".", leaf());
      out.set(`f:${k}`, child);
    }
    return out;
  }
  if (Array.isArray(after) && schema?.list?.type === "map") {
    const keys = schema.list.keys;
    const items = schema.list.items;
    const prevList = Array.isArray(before) ? before : [];
    for (const item of after) {
      if (!isObject(item)) continue;
      const key = itemKey(item, keys);
      const prev = prevList.find((p) => isObject(p) && itemKey(p, keys) === key);
      if (prev !== undefined && jsonEqual(prev, item)) continue;
      const node = prev === undefined ? setOf(item, items) : changedSet(prev, item, items);
      if (prev === undefined) node.set(".", leaf());
      out.set(key, node);
    }
    return out;
  }
  if (Array.isArray(after) && schema?.list?.type === "set") {
    const prevList = Array.isArray(before) ? before : [];
    for (const item of after) {
      if (!prevList.some((p) => jsonEqual(p, item))) out.set(`v:${JSON.stringify(item)}`, leaf());
    }
  }
  return out;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = new Map(a);
  for (const [k, v] of b) {
    const mine = out.get(k);
    out.set(k, mine === undefined ? v : union(mine, v));
  }
  return out;
}

/** `a` without the leaves of `b` (a leaf of `b` removes only the same leaf of `a`). */
export function subtract(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = new Map();
  for (const [k, v] of a) {
    const theirs = b.get(k);
    if (theirs === undefined) {
      out.set(k, v);
      continue;
    }
    if (v.size === 0) {
      if (theirs.size !== 0) out.set(k, v);
      continue;
    }
    const rest = subtract(v, theirs);
    if (rest.size > 0) out.set(k, rest);
  }
  return out;
}

/** Only the parts of `a` that also exist in `b`. */
export function intersect(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = new Map();
  for (const [k, v] of a) {
    const theirs = b.get(k);
    if (theirs === undefined) continue;
    if (v.size === 0) {
      out.set(k, v);
      continue;
    }
    const both = intersect(v, theirs);
    if (both.size > 0) out.set(k, both);
  }
  return out;
}

/** Paths of the leaves of a set (without the `.` markers' parents' duplicates). */
export function leaves(set: FieldSet, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const [k, v] of set) {
    const path = [...prefix, k];
    if (v.size === 0) out.push(path);
    else leaves(v, path, out);
  }
  return out;
}

export function has(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const p of path) {
    node = node.get(p);
    if (node === undefined) return false;
  }
  return true;
}

/** Whether the path is a leaf of the set (owned as a whole value, not only through its children). */
export function isLeaf(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const p of path) {
    node = node.get(p);
    if (node === undefined) return false;
  }
  return node.size === 0;
}

export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of set) out[k] = toFieldsV1(v);
  return out;
}

export function fromFieldsV1(v: unknown): FieldSet {
  const out: FieldSet = new Map();
  if (typeof v !== "object" || v === null) return out;
  for (const [k, child] of Object.entries(v)) out.set(k, fromFieldsV1(child));
  return out;
}

/** `.spec.containers[name="app"].image`, as Kubernetes names a field in conflict messages. */
export function pathString(path: readonly string[]): string {
  let s = "";
  for (const p of path) {
    if (p === ".") continue;
    if (p.startsWith("f:")) s += `.${p.slice(2)}`;
    else if (p.startsWith("k:")) {
      const key = JSON.parse(p.slice(2)) as JsonObject;
      s += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    } else if (p.startsWith("v:")) s += `[=${p.slice(2)}]`;
    else if (p.startsWith("i:")) s += `[${p.slice(2)}]`;
  }
  return s;
}

/** The value at a set path in an object, or undefined when it is absent. */
export function valueAt(obj: Json | undefined, path: readonly string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const p of path) {
    if (cur === undefined) return undefined;
    if (p === ".") continue;
    if (p.startsWith("f:")) {
      cur = isObject(cur) ? cur[p.slice(2)] : undefined;
    } else if (p.startsWith("k:")) {
      const key = JSON.parse(p.slice(2)) as JsonObject;
      cur = Array.isArray(cur) ? cur.find((i) => itemMatches(i, key)) : undefined;
    } else if (p.startsWith("v:")) {
      const want = JSON.parse(p.slice(2)) as Json;
      cur = Array.isArray(cur) ? cur.find((i) => jsonEqual(i, want)) : undefined;
    } else if (p.startsWith("i:")) {
      cur = Array.isArray(cur) ? cur[Number(p.slice(2))] : undefined;
    } else return undefined;
  }
  return cur;
}

/**
 * Removes from `obj` every field of `set` that `keep` does not own, at any depth: a list item or a map
 * that another manager still has fields in stays, and only the fields nobody else owns go.
 */
export function removeFields(obj: JsonObject, set: FieldSet, keep: FieldSet): void {
  removeIn(obj, set, keep);
}

function removeIn(container: Json, set: FieldSet, keep: FieldSet | undefined): void {
  for (const [k, v] of set) {
    if (k === ".") continue;
    const kept = keep?.get(k);
    if (k.startsWith("f:") && isObject(container)) {
      const name = k.slice(2);
      if (!(name in container)) continue;
      if (kept === undefined) {
        if (v.size === 0 || v.has(".") || !hasOtherChildren(container[name], v))
          Reflect.deleteProperty(container, name);
        else removeIn(container[name] ?? null, v, undefined);
      } else if (v.size > 0) {
        removeIn(container[name] ?? null, v, kept);
      }
    } else if (k.startsWith("k:") && Array.isArray(container)) {
      const key = JSON.parse(k.slice(2)) as JsonObject;
      const idx = container.findIndex((i) => itemMatches(i, key));
      if (idx < 0) continue;
      if (kept === undefined) {
        if (v.has(".")) container.splice(idx, 1);
        else removeIn(container[idx] ?? null, v, undefined);
      } else {
        // The item stays (someone else owns part of it); remove only this manager's other fields,
        // never the key fields that identify the item.
        const keyFields = new Set(Object.keys(key).map((f) => `f:${f}`));
        const own = new Map([...v].filter(([f]) => !keyFields.has(f)));
        removeIn(container[idx] ?? null, own, kept);
      }
    } else if (k.startsWith("v:") && Array.isArray(container) && kept === undefined) {
      const want = JSON.parse(k.slice(2)) as Json;
      const idx = container.findIndex((i) => jsonEqual(i, want));
      if (idx >= 0) container.splice(idx, 1);
    }
  }
}

/** Whether a map has fields that the set does not mention (so someone else put them there). */
function hasOtherChildren(value: Json | undefined, set: FieldSet): boolean {
  if (!isObject(value)) return false;
  return Object.keys(value).some((f) => !set.has(`f:${f}`));
}

/** A JSON value as text: strings as they are, nothing as "", anything else as JSON. */
export function text(v: Json | undefined): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
