// Decides whether a live object already holds what gitward would apply, so an unchanged revision on an
// unchanged cluster makes no writes. Desired must be a subset of live: every field gitward sets has the
// same value live (the server may add defaults and status; those do not count as a difference).
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

type Json = unknown;

/** One step of a field path: a map key, or a list element (named by its `name` when it has one). */
export type Segment = { readonly key: string } | { readonly item: string; readonly match: Json };

/** A path as a chain to its parent, so walking a large object copies no arrays until a difference. */
interface Path {
  readonly parent: Path | undefined;
  readonly seg: Segment;
}

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function segments(path: Path | undefined): Segment[] {
  const out: Segment[] = [];
  for (let p = path; p !== undefined; p = p.parent) out.unshift(p.seg);
  return out;
}

/** A list element is named by its `name` (containers, env, volumes, ports) when it has one. */
function itemSegment(v: Json, i: number): Segment {
  const n = isPlainObject(v) ? v["name"] : undefined;
  return typeof n === "string" && n !== "" ? { item: n, match: n } : { item: String(i), match: undefined };
}

/**
 * Collects (up to `limit`) the paths where `desired` is not a subset of `live`: every field of desired
 * present live with the same value, recursively. Lists must match element by element: the server may
 * default fields inside elements, never add or reorder elements of a list gitward owns.
 */
function walk(desired: Json, live: Json, path: Path | undefined, out: Segment[][], limit: number): void {
  if (out.length >= limit) return;
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) {
      out.push(segments(path));
      return;
    }
    for (const [k, v] of Object.entries(desired)) {
      if (v === null) continue;
      walk(v, live[k], { parent: path, seg: { key: k } }, out, limit);
    }
    return;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) {
      out.push(segments(path));
      return;
    }
    desired.forEach((v, i) => {
      walk(v, live[i], { parent: path, seg: itemSegment(v, i) }, out, limit);
    });
    return;
  }
  if (desired !== live) out.push(segments(path));
}

/** True when every field of `desired` is present in `live` with the same value (recursively). */
export function isSubset(desired: Json, live: Json): boolean {
  const out: Segment[][] = [];
  walk(desired, live, undefined, out, 1);
  return out.length === 0;
}

/**
 * The paths (at most `limit`) where the live object does not hold the desired one: metadata labels and
 * annotations, and every other top-level field but status (which the API server and controllers own).
 */
export function liveDifferences(
  desired: Record<string, Json>,
  live: Record<string, Json>,
  limit: number,
): Segment[][] {
  const out: Segment[][] = [];
  for (const [k, v] of Object.entries(desired)) {
    if (k === "status" || k === "apiVersion" || k === "kind") continue;
    if (k === "metadata") {
      const dm: Record<string, Json> = isPlainObject(v) ? v : {};
      const lm: Record<string, Json> = isPlainObject(live["metadata"]) ? live["metadata"] : {};
      const meta: Path = { parent: undefined, seg: { key: "metadata" } };
      for (const part of ["labels", "annotations"] as const) {
        walk(dm[part] ?? {}, lm[part] ?? {}, { parent: meta, seg: { key: part } }, out, limit);
      }
      continue;
    }
    walk(v, live[k], { parent: undefined, seg: { key: k } }, out, limit);
  }
  return out;
}

/** True when the live object already holds the desired one (no difference at all). */
export function liveMatches(desired: Record<string, Json>, live: Record<string, Json>): boolean {
  return liveDifferences(desired, live, 1).length === 0;
}

/** sha256 of the RFC 8785 canonical JSON of a value. */
export function hashOf(value: Json): string {
  return (
    "sha256:" +
    createHash("sha256")
      .update(canonicalize(value) ?? "null")
      .digest("hex")
  );
}
