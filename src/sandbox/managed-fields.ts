// Field ownership (metadata.managedFields): decoding and encoding the entries, the part of an object they
// describe, the manager of an update and what an update moves to it, and the conflict error of a
// server-side apply (the apply's own ownership move is in api.ts, beside the merge it goes with).
import { ApiError, errors, type StatusCause } from "./errors.js";
import {
  changedSet,
  fromFieldsV1,
  intersect,
  isObject,
  jsonEqual,
  pathString,
  setOf,
  subtract,
  toFieldsV1,
  union,
  type FieldSet,
  type Json,
  type JsonObject,
} from "./fieldset.js";
import { groupVersionOf, type ResourceDef } from "./catalog.js";
import { metaOf } from "./store.js";
import type { WriteContext } from "./api-types.js";
import { now, serverMeta } from "./object-rules.js";

export interface ManagedEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  subresource: string | undefined;
  set: FieldSet;
}

/** The part of an object that managed fields describe: no apiVersion, kind or server-owned metadata. */
export function trackable(obj: JsonObject): JsonObject {
  const out: JsonObject = { ...obj };
  delete out["apiVersion"];
  delete out["kind"];
  const meta = isObject(obj["metadata"]) ? { ...obj["metadata"] } : {};
  for (const f of [...serverMeta, "name", "namespace"]) Reflect.deleteProperty(meta, f);
  if (Object.keys(meta).length > 0) out["metadata"] = meta;
  else delete out["metadata"];
  return out;
}

export function decodeManaged(obj: JsonObject | undefined): ManagedEntry[] {
  const mf = obj === undefined ? undefined : metaOf(obj)["managedFields"];
  if (!Array.isArray(mf)) return [];
  const out: ManagedEntry[] = [];
  for (const e of mf) {
    if (!isObject(e)) continue;
    out.push({
      manager: typeof e["manager"] === "string" ? e["manager"] : "",
      operation: e["operation"] === "Apply" ? "Apply" : "Update",
      apiVersion: typeof e["apiVersion"] === "string" ? e["apiVersion"] : "",
      time: typeof e["time"] === "string" ? e["time"] : now(),
      subresource: typeof e["subresource"] === "string" ? e["subresource"] : undefined,
      set: fromFieldsV1(e["fieldsV1"]),
    });
  }
  return out;
}

export function encodeManaged(entries: ManagedEntry[]): Json[] {
  return entries
    .filter((e) => e.set.size > 0)
    .map((e) => {
      const out: JsonObject = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: "FieldsV1",
        fieldsV1: toFieldsV1(e.set) as JsonObject,
      };
      if (e.subresource !== undefined) out["subresource"] = e.subresource;
      return out;
    });
}

export function managerFrom(ctx: WriteContext): string {
  if (ctx.fieldManager !== undefined && ctx.fieldManager !== "") return ctx.fieldManager;
  const ua = ctx.userAgent.split("/")[0] ?? "";
  return ua === "" ? "unknown" : ua.slice(0, 128);
}

/** A path as a field set with one leaf. */
export function pathSet(path: readonly string[]): FieldSet {
  const root: FieldSet = new Map();
  let node = root;
  for (const p of path) {
    const child: FieldSet = new Map();
    node.set(p, child);
    node = child;
  }
  return root;
}

export function applyConflict(
  def: ResourceDef,
  name: string,
  conflicts: { entry: ManagedEntry; paths: string[][] }[],
): ApiError {
  const total = conflicts.reduce((n, c) => n + c.paths.length, 0);
  const causes: StatusCause[] = [];
  const parts: string[] = [];
  for (const c of conflicts) {
    const who = `${JSON.stringify(c.entry.manager)} using ${c.entry.apiVersion}`;
    const fields = c.paths.map(pathString);
    for (const f of fields)
      causes.push({ type: "FieldManagerConflict", message: `conflict with ${who}`, field: f });
    parts.push(
      fields.length === 1
        ? `conflict with ${who}: ${fields[0] ?? ""}`
        : `conflicts with ${who}:\n- ${fields.join("\n- ")}`,
    );
  }
  const message = `Apply failed with ${total} conflict${total === 1 ? "" : "s"}: ${parts.join("\n")}`;
  return errors.conflict({ group: def.group, resource: def.resource, name }, message, causes);
}

/**
 * The managed fields after an update (create, update, patch): the fields it changed move to its manager's
 * Update entry; a client that sends managedFields of its own replaces them.
 */
export function recordUpdate(
  def: ResourceDef,
  old: JsonObject | undefined,
  next: JsonObject,
  ctx: WriteContext,
  sub: string | undefined,
): void {
  const fmeta = metaOf(next);
  const given = fmeta["managedFields"];
  const oldManaged = old === undefined ? undefined : metaOf(old)["managedFields"];
  if (given !== undefined && given !== null && !jsonEqual(given, oldManaged ?? null)) {
    // A client that sends managedFields replaces them (kubectl does so to migrate client-side apply).
    fmeta["managedFields"] = encodeManaged(decodeManaged(next));
  } else {
    const entries = decodeManaged(old);
    const after = trackable(next);
    const changed = changedSet(old === undefined ? undefined : trackable(old), after, def.schema);
    const manager = managerFrom(ctx);
    if (changed.size > 0) {
      for (const e of entries) e.set = subtract(e.set, changed);
      const mine = entries.find(
        (e) => e.manager === manager && e.operation === "Update" && e.subresource === sub,
      );
      if (mine !== undefined) {
        mine.set = union(mine.set, changed);
        mine.time = now();
      } else {
        entries.push({
          manager,
          operation: "Update",
          apiVersion: groupVersionOf(def),
          time: now(),
          subresource: sub,
          set: changed,
        });
      }
      const full = setOf(after, def.schema);
      for (const e of entries) e.set = intersect(e.set, full);
    }
    fmeta["managedFields"] = encodeManaged(entries);
  }
}
