// OpenAPI schemas of the kinds served, for /openapi/v3 documents and the /openapi/v2 document that
// kubectl reads (explain, client-side apply's patch metadata, validation fallback). Built-in kinds get
// their full type graph from @kubernetes/client-node's models, with Kubernetes' list merge keys; a custom
// resource gets its CRD's openAPIV3Schema.
import { attributesOfModel, modelOf } from "./field-validation.js";
import { isObject, type Json, type JsonObject } from "./fieldset.js";
import type { ResourceDef } from "./catalog.js";

/** Kubernetes' patch merge keys of the lists kubectl patches most (model.field → keys). */
const mergeKeys: Readonly<Record<string, readonly string[]>> = {
  "V1PodSpec.containers": ["name"],
  "V1PodSpec.initContainers": ["name"],
  "V1PodSpec.ephemeralContainers": ["name"],
  "V1PodSpec.volumes": ["name"],
  "V1PodSpec.imagePullSecrets": ["name"],
  "V1Container.ports": ["containerPort", "protocol"],
  "V1Container.env": ["name"],
  "V1Container.volumeMounts": ["mountPath"],
  "V1ServiceSpec.ports": ["port", "protocol"],
  "V1ObjectMeta.ownerReferences": ["uid"],
  "V1ServiceAccount.secrets": ["name"],
};

const arrayOf = /^Array<(.+)>$/;
const mapOf = /^\{ \[key: string\]: (.+); \}$/;

function typeSchema(
  type: string,
  format: string,
  ref: (model: string) => string,
  todo: string[],
): JsonObject {
  const array = arrayOf.exec(type);
  if (array?.[1] !== undefined) return { type: "array", items: typeSchema(array[1], "", ref, todo) };
  const map = mapOf.exec(type);
  if (map?.[1] !== undefined)
    return { type: "object", additionalProperties: typeSchema(map[1], "", ref, todo) };
  switch (type) {
    case "string":
      return format === "" ? { type: "string" } : { type: "string", format };
    case "Date":
      return { type: "string", format: "date-time" };
    case "number":
      return format === "double" || format === "float"
        ? { type: "number", format }
        : { type: "integer", format: format === "" ? "int64" : format };
    case "boolean":
      return { type: "boolean" };
    case "IntOrString":
      return { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] };
    case "any":
      return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    default:
      if (attributesOfModel(type) === undefined) return {};
      todo.push(type);
      return { $ref: ref(type) };
  }
}

function modelSchema(model: string, ref: (model: string) => string, todo: string[]): JsonObject {
  const properties: JsonObject = {};
  for (const a of attributesOfModel(model) ?? []) {
    const s = typeSchema(a.type, a.format, ref, todo);
    const keys = mergeKeys[`${model}.${a.baseName}`];
    if (keys !== undefined && keys[0] !== undefined) {
      Object.assign(s, {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": [...keys],
        "x-kubernetes-patch-merge-key": keys[0],
        "x-kubernetes-patch-strategy": "merge",
      });
    }
    properties[a.baseName] = s;
  }
  return { type: "object", properties };
}

/** The schema name of a kind, as Kubernetes names it (io.k8s.api.apps.v1.Deployment). */
export function kindSchemaName(def: ResourceDef): string {
  if (def.crd !== undefined) return `${def.group.split(".").reverse().join(".")}.${def.version}.${def.kind}`;
  const pkg = def.group === "" ? "core" : (def.group.split(".")[0] ?? def.group);
  return `io.k8s.api.${pkg}.${def.version}.${def.kind}`;
}

/**
 * The schemas for some kinds, keyed by name: each kind's root (with x-kubernetes-group-version-kind) and
 * every model it reaches. `crdSchema` gives a custom resource's openAPIV3Schema.
 */
export function schemasFor(
  defs: readonly ResourceDef[],
  refPrefix: string,
  crdSchema: (def: ResourceDef) => Json | undefined,
): JsonObject {
  const out: JsonObject = {};
  const todo: string[] = [];
  const ref = (model: string): string => `${refPrefix}${model}`;
  for (const d of defs) {
    const gvk = [{ group: d.group, version: d.version, kind: d.kind }];
    const model = d.crd === undefined ? modelOf(d.group, d.version, d.kind) : undefined;
    let root: JsonObject;
    if (model !== undefined) root = modelSchema(model, ref, todo);
    else {
      const custom = d.crd === undefined ? undefined : crdSchema(d);
      root = isObject(custom ?? null)
        ? { ...(custom as JsonObject) }
        : { type: "object", "x-kubernetes-preserve-unknown-fields": true };
      if (d.crd !== undefined) {
        todo.push("V1ObjectMeta");
        const props = isObject(root["properties"]) ? root["properties"] : {};
        root["properties"] = { ...props, metadata: { $ref: ref("V1ObjectMeta") } };
      }
    }
    root["x-kubernetes-group-version-kind"] = gvk;
    out[kindSchemaName(d)] = root;
  }
  for (let m = todo.pop(); m !== undefined; m = todo.pop()) {
    if (out[m] !== undefined) continue;
    out[m] = modelSchema(m, ref, todo);
  }
  return out;
}
