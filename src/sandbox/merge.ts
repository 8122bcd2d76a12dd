// Merging values by the schema of the built-in kinds: server-side apply merges an applied configuration
// into the live object, and a strategic merge patch (with its `$patch` directives) into the same, both
// matching associative list items on their keys instead of replacing the list.
import { fieldSchema, type TypeSchema } from "./schema.js";
import { isObject, itemMatches, jsonEqual, type Json, type JsonObject } from "./fieldset.js";

function keyOf(item: JsonObject, keys: readonly string[]): JsonObject {
  const key: JsonObject = {};
  for (const k of keys) {
    const v = item[k];
    if (v !== undefined) key[k] = v;
  }
  return key;
}

/** Server-side apply: the applied configuration's values win; maps and associative lists merge. */
export function mergeApply(live: Json | undefined, applied: Json, schema: TypeSchema | undefined): Json {
  if (isObject(applied)) {
    if (!isObject(live) || schema?.atomic === true) return applied;
    const out: JsonObject = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApply(live[k], v, fieldSchema(schema, k));
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const list = schema?.list;
    if (list?.type === "map") {
      const out: Json[] = [...live];
      const appended: Json[] = [];
      for (const item of applied) {
        if (!isObject(item)) continue;
        const key = keyOf(item, list.keys);
        const idx = out.findIndex((l) => itemMatches(l, key));
        if (idx >= 0) out[idx] = mergeApply(out[idx], item, list.items);
        else appended.push(item);
      }
      return [...out, ...appended];
    }
    if (list?.type === "set") {
      const out: Json[] = [...live];
      for (const item of applied) if (!out.some((l) => jsonEqual(l, item))) out.push(item);
      return out;
    }
  }
  return applied;
}

/**
 * Strategic merge patch: a JSON merge patch (null deletes) that merges associative lists by key and
 * honours `$patch: delete|replace` and drops the `$setElementOrder`/`$retainKeys` hints, which only order
 * or narrow what the merge already produces.
 */
export function strategicMerge(live: Json | undefined, patch: Json, schema: TypeSchema | undefined): Json {
  if (isObject(patch)) {
    if (patch["$patch"] === "replace") return stripDirectives(patch);
    if (patch["$patch"] === "delete") return null;
    const out: JsonObject = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith("$setElementOrder/") || k === "$retainKeys" || k === "$patch") continue;
      if (k.startsWith("$deleteFromPrimitiveList/")) {
        const field = k.slice("$deleteFromPrimitiveList/".length);
        const cur = out[field];
        if (Array.isArray(cur) && Array.isArray(v))
          out[field] = cur.filter((c) => !v.some((d) => jsonEqual(c, d)));
        continue;
      }
      if (v === null) {
        Reflect.deleteProperty(out, k);
        continue;
      }
      out[k] = strategicMerge(out[k], v, fieldSchema(schema, k));
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const list = schema?.list;
    if (list?.type === "map") {
      if (patch.some((p) => isObject(p) && p["$patch"] === "replace")) {
        return patch.filter((p) => !(isObject(p) && p["$patch"] === "replace")).map(stripDirectives);
      }
      const out: Json[] = Array.isArray(live) ? [...live] : [];
      for (const item of patch) {
        if (!isObject(item)) continue;
        const key = keyOf(item, list.keys);
        const idx = out.findIndex((l) => itemMatches(l, key));
        if (item["$patch"] === "delete") {
          if (idx >= 0) out.splice(idx, 1);
          continue;
        }
        if (idx >= 0) out[idx] = strategicMerge(out[idx], item, list.items);
        else out.push(stripDirectives(item));
      }
      return out;
    }
    if (list?.type === "set") {
      const out: Json[] = Array.isArray(live) ? [...live] : [];
      for (const item of patch) if (!out.some((l) => jsonEqual(l, item))) out.push(item);
      return out;
    }
    return patch.map(stripDirectives);
  }
  return patch;
}

/** RFC 7386 JSON merge patch (a few lines; the strategic merge above extends it, so both live here). */
export function mergePatch(live: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, c] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(c);
  return out;
}
