// The scale subresource's view of a workload (autoscaling/v1 Scale), as `kubectl scale` reads it.
import type { ResourceDef } from "./catalog.js";
import { isObject, text, type JsonObject } from "./fieldset.js";
import { metaOf } from "./store.js";

export function scaleOf(def: ResourceDef, obj: JsonObject): JsonObject {
  const meta = metaOf(obj);
  const spec = isObject(obj["spec"]) ? obj["spec"] : {};
  const status = isObject(obj["status"]) ? obj["status"] : {};
  // A ReplicationController's selector is a plain map; the others' a LabelSelector.
  const sel = !isObject(spec["selector"])
    ? undefined
    : def.kind === "ReplicationController"
      ? spec["selector"]
      : spec["selector"]["matchLabels"];
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: meta["name"] ?? "",
      namespace: meta["namespace"] ?? "",
      uid: meta["uid"] ?? "",
      resourceVersion: meta["resourceVersion"] ?? "",
      creationTimestamp: meta["creationTimestamp"] ?? null,
    },
    spec: { replicas: typeof spec["replicas"] === "number" ? spec["replicas"] : 1 },
    status: {
      replicas: typeof status["replicas"] === "number" ? status["replicas"] : 0,
      selector: isObject(sel)
        ? Object.entries(sel)
            .map(([k, v]) => `${k}=${text(v)}`)
            .join(",")
        : "",
    },
  };
}
