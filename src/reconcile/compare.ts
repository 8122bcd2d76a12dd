// Decides whether a live object already holds what gitward would apply, so an unchanged revision on an
// unchanged cluster makes no writes. Desired must be a subset of live: every field gitward sets has the
// same value live (the server may add defaults and status; those do not count as a difference).
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when every field of `desired` is present in `live` with the same value (recursively). */
export function isSubset(desired: Json, live: Json): boolean {
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) return false;
    return Object.entries(desired).every(([k, v]) => v === null || isSubset(v, live[k]));
  }
  if (Array.isArray(desired)) {
    // Lists must match element by element: the server may default fields inside elements, never add
    // or reorder elements of a list gitward owns.
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((v, i) => isSubset(v, live[i]))
    );
  }
  return desired === live;
}

/**
 * True when the live object already holds the desired one: metadata labels and annotations, and every
 * other top-level field but status (which the API server and controllers own).
 */
export function liveMatches(desired: Record<string, Json>, live: Record<string, Json>): boolean {
  for (const [k, v] of Object.entries(desired)) {
    if (k === "status" || k === "apiVersion" || k === "kind") continue;
    if (k === "metadata") {
      const dm = isPlainObject(v) ? v : {};
      const lm = isPlainObject(live["metadata"]) ? live["metadata"] : {};
      if (!isSubset(dm["labels"] ?? {}, lm["labels"] ?? {})) return false;
      if (!isSubset(dm["annotations"] ?? {}, lm["annotations"] ?? {})) return false;
      continue;
    }
    if (!isSubset(v, live[k])) return false;
  }
  return true;
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
