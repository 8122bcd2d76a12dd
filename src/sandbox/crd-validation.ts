// Validation of custom resources against their CRD's openAPIV3Schema, as the API server does before
// storing: a type or required-field mismatch answers 422 Invalid with the field path. Ajv checks the JSON
// Schema part; the `x-kubernetes-*` extensions are not validation keywords and are ignored.
import { Ajv, type ValidateFunction } from "ajv";
import type { StatusCause } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const cache = new Map<string, ValidateFunction | null>();

/** The schema of one served version of a CRD, or undefined when it has none. */
function schemaOf(crd: JsonObject, version: string): Json | undefined {
  const spec = isObject(crd["spec"]) ? crd["spec"] : {};
  const versions = Array.isArray(spec["versions"]) ? spec["versions"] : [];
  const v = versions.find((x) => isObject(x) && x["name"] === version);
  const schema = isObject(v) && isObject(v["schema"]) ? v["schema"]["openAPIV3Schema"] : undefined;
  return schema;
}

/** `metadata` is the server's to check: a CRD schema may not constrain it beyond name and generateName. */
function withoutMetadata(schema: Json): Json {
  if (!isObject(schema) || !isObject(schema["properties"])) return schema;
  const props: JsonObject = { ...schema["properties"] };
  delete props["metadata"];
  return { ...schema, properties: props };
}

export function validateCustom(crd: JsonObject, version: string, obj: JsonObject): StatusCause[] {
  const meta = isObject(crd["metadata"]) ? crd["metadata"] : {};
  const key = `${text(meta["uid"])}/${text(meta["resourceVersion"])}/${version}`;
  let validate = cache.get(key);
  if (validate === undefined) {
    const schema = schemaOf(crd, version);
    try {
      validate = schema === undefined ? null : ajv.compile(withoutMetadata(schema) as object);
    } catch {
      // A schema Ajv cannot compile is the CRD author's problem, not the object's: accept.
      validate = null;
    }
    cache.set(key, validate);
  }
  if (validate === null || validate(obj)) return [];
  return (validate.errors ?? []).map((e) => {
    const field = e.instancePath
      .split("/")
      .filter((p) => p !== "")
      .join(".");
    const missing =
      e.keyword === "required" ? String((e.params as { missingProperty?: unknown }).missingProperty) : "";
    const path = missing === "" ? field : field === "" ? missing : `${field}.${missing}`;
    return {
      type: e.keyword === "required" ? "FieldValueRequired" : "FieldValueInvalid",
      message:
        e.keyword === "required"
          ? "Required value"
          : `Invalid value: ${e.message ?? "does not match the schema"}`,
      field: path,
    };
  });
}
