// Drift: a live object that no longer holds what gitward applied for the revision in force. These pure
// functions say which fields differ (paths only, never values, so a Secret's drift report carries no
// secret) and which field manager made the change, read from the object's managedFields.
import { FIELD_MANAGER, refOf, type KubeObject, type ObjectRef } from "../cluster/client.js";
import { liveDifferences, type Segment } from "./compare.js";
import type { DesiredObject } from "./desired.js";

export interface DriftFinding {
  readonly object: ObjectRef;
  /** Paths of the fields that differ from git ("spec.replicas", "spec.template.spec.containers[web].image"). */
  readonly fields: readonly string[];
  /** The field manager that made the change (from managedFields), "deleted", or "unknown". */
  readonly manager: string;
}

/** A drift report names at most this many fields: enough to act on, bounded for alerts and audit. */
export const MAX_DRIFT_FIELDS = 50;
export const DELETED = "deleted";

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function render(path: readonly Segment[]): string {
  let out = "";
  for (const s of path) {
    if ("key" in s) {
      out += /^[A-Za-z0-9_-]+$/.test(s.key)
        ? out === ""
          ? s.key
          : `.${s.key}`
        : `[${JSON.stringify(s.key)}]`;
    } else {
      out += `[${s.item}]`;
    }
  }
  return out;
}

/** The same comparison as the no-op check (compare.ts), so drift and "unchanged" can never disagree. */
function driftedPaths(desired: KubeObject, live: KubeObject): Segment[][] {
  return liveDifferences(desired, live, MAX_DRIFT_FIELDS);
}

/** The paths of the fields gitward sets whose live value differs from git, at most MAX_DRIFT_FIELDS. */
export function driftedFields(desired: KubeObject, live: KubeObject): string[] {
  return driftedPaths(desired, live).map(render);
}

interface ManagedFieldsEntry {
  manager?: unknown;
  operation?: unknown;
  time?: unknown;
  subresource?: unknown;
  fieldsV1?: unknown;
}

/** Whether a FieldsV1 set (`{"f:spec":{"f:replicas":{}}}`) holds a path or something below it. */
function owns(fields: Json, path: readonly Segment[]): boolean {
  let node: Json = fields;
  for (const s of path) {
    if (!isPlainObject(node)) return false;
    if ("key" in s) {
      node = node[`f:${s.key}`];
      continue;
    }
    // Associative list items are keyed by their merge key: k:{"name":"web"} for the usual lists.
    const entry = Object.entries(node).find(([k]) => {
      if (!k.startsWith("k:")) return false;
      try {
        const key = JSON.parse(k.slice(2)) as Json;
        return isPlainObject(key) && s.match !== undefined && key["name"] === s.match;
      } catch {
        return false;
      }
    });
    if (entry === undefined) return false;
    node = entry[1];
  }
  return node !== undefined;
}

function entriesOf(live: KubeObject): ManagedFieldsEntry[] {
  const mf = live.metadata["managedFields"];
  return Array.isArray(mf) ? mf.filter(isPlainObject) : [];
}

/**
 * Who changed the drifted fields: the managers other than gitward that own one of them (an update takes
 * ownership of the fields it changed); failing that, the one that wrote last. managedFields is written by
 * the API server, but its values are still cluster data: only a bounded, printable name is returned.
 */
export function driftManager(live: KubeObject, paths: readonly (readonly Segment[])[]): string {
  const others = entriesOf(live).filter(
    (e) => typeof e.manager === "string" && e.manager !== FIELD_MANAGER && e.subresource !== "status",
  );
  const owning = others.filter((e) => paths.some((p) => owns(e.fieldsV1, p)));
  const pick = (list: ManagedFieldsEntry[]): string | undefined =>
    list
      .map((e) => ({ name: e.manager as string, time: typeof e.time === "string" ? e.time : "" }))
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))[0]?.name;
  const name = pick(owning) ?? pick(others) ?? "unknown";
  return sanitize(name);
}

function sanitize(name: string): string {
  // Control characters and unbounded length never reach a log line or an alert.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 128);
  return clean === "" ? "unknown" : clean;
}

/** The drift of one managed object, or undefined when the live object holds what git says. */
export function findDrift(desired: DesiredObject, live: KubeObject | undefined): DriftFinding | undefined {
  const object = refOf(desired.object);
  if (live === undefined) return { object, fields: [], manager: DELETED };
  const paths = driftedPaths(desired.object, live);
  if (paths.length === 0) return undefined;
  return { object, fields: paths.map(render), manager: driftManager(live, paths) };
}

/** One string per distinct drift, so the same drift seen again (watch, relist, interval) is reported once. */
export function driftSignature(f: DriftFinding): string {
  return `${f.manager}\u0000${f.fields.join("\u0000")}`;
}
