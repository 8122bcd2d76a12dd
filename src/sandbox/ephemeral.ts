// The pods/ephemeralcontainers subresource (what `kubectl debug` writes): a write there changes only
// spec.ephemeralContainers, and only by adding containers; existing ones may not be changed or removed.
import { errors } from "./errors.js";
import { isObject, jsonEqual, text, type Json, type JsonObject } from "./fieldset.js";
import { metaOf } from "./store.js";

const listOf = (pod: JsonObject): Json[] => {
  const spec = pod["spec"];
  return isObject(spec) && Array.isArray(spec["ephemeralContainers"]) ? spec["ephemeralContainers"] : [];
};

/** Turns `next` (the written pod) into the old pod with next's ephemeral containers, or refuses. */
export function ephemeralWrite(old: JsonObject, next: JsonObject): void {
  const wanted = listOf(next);
  const byName = new Map(wanted.map((c) => [isObject(c) ? text(c["name"]) : "", c]));
  const name = text(metaOf(old)["name"]);
  for (const c of listOf(old)) {
    const n = isObject(c) ? text(c["name"]) : "";
    const now = byName.get(n);
    if (now === undefined || !jsonEqual(now, c)) {
      throw errors.invalid("Pod", { group: "", resource: "pods", name }, [
        {
          type: "FieldValueForbidden",
          message: `Forbidden: existing ephemeral containers ${JSON.stringify(n)} may not be ${now === undefined ? "removed" : "changed"}`,
          field: "spec.ephemeralContainers",
        },
      ]);
    }
  }
  const result = JSON.parse(JSON.stringify(old)) as JsonObject;
  const spec: JsonObject = isObject(result["spec"]) ? result["spec"] : {};
  if (wanted.length > 0) spec["ephemeralContainers"] = wanted;
  result["spec"] = spec;
  for (const k of Object.keys(next)) Reflect.deleteProperty(next, k);
  Object.assign(next, result);
}
