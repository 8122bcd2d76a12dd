// A write request before it reaches the commit path: the body checked against the URL, unknown fields
// (Strict, Warn, Ignore), patches applied (JSON, merge, strategic), and the stale-write conflict.
import fastJsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { groupVersionOf, type ResourceDef } from "./catalog.js";
import { ApiError, errors } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";
import { mergePatch, strategicMerge } from "./merge.js";
import { metaOf, type Store } from "./store.js";
import { schemaOf } from "./crd-validation.js";
import { modelOf, unknownCustomFields, unknownFields } from "./field-validation.js";
import type { PatchType, WriteContext } from "./api-types.js";

/** Checks a request body against the URL: kind, apiVersion, namespace and name must agree. */
export function checkBody(
  def: ResourceDef,
  namespace: string,
  body: Json,
  name: string | undefined,
): JsonObject {
  if (!isObject(body)) throw errors.badRequest("the request body must be a JSON or YAML object");
  const obj = body;
  const gv = groupVersionOf(def);
  if (obj["apiVersion"] === undefined) obj["apiVersion"] = gv;
  if (obj["kind"] === undefined) obj["kind"] = def.kind;
  if (obj["apiVersion"] !== gv || obj["kind"] !== def.kind) {
    throw errors.badRequest(
      `the API version in the data (${text(obj["apiVersion"])}) and kind (${text(obj["kind"])}) do not match the resource ${def.resource} of ${gv} (kind ${def.kind})`,
    );
  }
  if (obj["metadata"] !== undefined && !isObject(obj["metadata"]))
    throw errors.badRequest("metadata must be an object");
  const meta = metaOf(obj);
  if (def.namespaced) {
    if (meta["namespace"] === undefined || meta["namespace"] === "") meta["namespace"] = namespace;
    else if (meta["namespace"] !== namespace) {
      throw errors.badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
  } else delete meta["namespace"];
  if (name !== undefined) {
    if (meta["name"] === undefined || meta["name"] === "") meta["name"] = name;
    else if (meta["name"] !== name) {
      throw errors.badRequest(
        `the name of the object (${text(meta["name"])}) does not match the name on the URL (${name})`,
      );
    }
  }
  return obj;
}

/**
 * Unknown fields (built-in kinds by model, custom resources by CRD schema): refused (Strict), dropped
 * with a warning (Warn) or silently (Ignore). `applied` is the "namespace/name" of a server-side apply.
 */
export function checkFields(
  store: Store,
  def: ResourceDef,
  body: Json,
  ctx: WriteContext,
  applied?: string,
): void {
  const mode = ctx.fieldValidation;
  if (mode === undefined) return;
  let unknown: string[];
  if (def.crd !== undefined) {
    const schema = crdSchemaOf(store, def);
    if (schema === undefined) return;
    unknown = unknownCustomFields(schema, body, mode !== "Strict");
  } else {
    const model = modelOf(def.group, def.version, def.kind);
    if (model === undefined) return;
    unknown = unknownFields(model, body, mode !== "Strict");
  }
  if (unknown.length === 0) return;
  if (mode === "Warn") ctx.warnings?.push(...unknown.map((f) => `unknown field ${JSON.stringify(f)}`));
  if (mode !== "Strict") return;
  throw errors.badRequest(
    applied !== undefined
      ? `failed to create typed patch object (${applied}; ${groupVersionOf(def)}, Kind=${def.kind}): ${unknown.map((f) => `.${f}: field not declared in schema`).join(", ")}`
      : `${def.kind} in version ${JSON.stringify(def.version)} cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(", ")}`,
  );
}

/** A custom resource's openAPIV3Schema, from its CRD (undefined: none declared). */
export function crdSchemaOf(store: Store, def: ResourceDef): Json | undefined {
  const crd = store.get("apiextensions.k8s.io/customresourcedefinitions", "", def.crd ?? "")?.obj;
  return crd === undefined ? undefined : schemaOf(crd, def.version);
}

export function applyPatch(def: ResourceDef, target: JsonObject, type: PatchType, patch: Json): Json {
  switch (type) {
    case "json": {
      if (!Array.isArray(patch)) throw errors.badRequest("a JSON patch must be a list of operations");
      try {
        return fastJsonPatch.applyPatch(target, patch as unknown as Operation[], true, true).newDocument;
      } catch (err) {
        throw new ApiError(
          422,
          "Invalid",
          `the JSON patch cannot be applied: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    case "merge":
      if (!isObject(patch)) throw errors.badRequest("a merge patch must be an object");
      return mergePatch(target, patch);
    case "strategic":
      if (def.crd !== undefined) {
        throw new ApiError(
          415,
          "UnsupportedMediaType",
          "strategic merge patch is not supported for custom resources: use a merge or JSON patch",
        );
      }
      if (!isObject(patch)) throw errors.badRequest("a strategic merge patch must be an object");
      return strategicMerge(target, patch, def.schema);
    case "apply":
      throw errors.badRequest("apply is not a patch of a subresource here");
  }
}

export function staleConflict(def: ResourceDef, name: string): ApiError {
  return errors.conflict(
    { group: def.group, resource: def.resource, name },
    `Operation cannot be fulfilled on ${def.group === "" ? def.resource : `${def.resource}.${def.group}`} ${JSON.stringify(name)}: the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** Whether a patch sets metadata.resourceVersion, which makes it a write under that precondition. */
export function namesResourceVersion(type: PatchType, patch: Json): boolean {
  if (type === "json") {
    return (
      Array.isArray(patch) &&
      patch.some(
        (op) =>
          isObject(op) &&
          (op["op"] === "add" || op["op"] === "replace" || op["op"] === "test") &&
          op["path"] === "/metadata/resourceVersion",
      )
    );
  }
  const meta = isObject(patch) ? patch["metadata"] : undefined;
  const rv = isObject(meta) ? meta["resourceVersion"] : undefined;
  return typeof rv === "string" && rv !== "";
}
