// Guards for values parsed from JSON or YAML that nobody vouches for: the one place that says what a
// "record" (a plain object, not null, not an array) is, for every domain but the sandbox (which depends
// on nothing else of gitward and keeps its own).

/** A plain object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
