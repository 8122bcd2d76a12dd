// Validation of custom resources against their CRD's openAPIV3Schema, as the API server does before
// storing: a type or required-field mismatch answers 422 Invalid with the field path. Ajv checks the JSON
// Schema part; the `x-kubernetes-*` extensions are not validation keywords and are ignored. A `pattern`
// (from the CRD: outside input) runs in re2js, linear in the value, as kube-apiserver runs it in Go's RE2.
import { Ajv, type Options, type ValidateFunction } from "ajv";
import { RE2JS } from "re2js";
import type { StatusCause } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";

/**
 * Ajv's default engine is JavaScript's backtracking RegExp: `^(a+)+$` against a long run of "a"s with one
 * "b" would take exponential time. re2js answers in time linear in the value; a pattern RE2 cannot compile
 * (backreferences, lookaround) makes the schema uncompilable, as the API server refuses such a CRD. JSON
 * Schema patterns are unanchored searches, which is what `test` does. Not gitward's src/match: the
 * sandbox depends on nothing else of gitward.
 */
const re2RegExp: NonNullable<NonNullable<Options["code"]>["regExp"]> = Object.assign(
  (pattern: string, flags: string): { test: (s: string) => boolean; toString: () => string } => {
    const re = RE2JS.compile(pattern);
    // Ajv keys its compiled patterns by toString(): without one, every pattern would be "[object Object]"
    // and each schema after the first would test the first schema's pattern.
    return { test: (s: string) => re.test(s), toString: () => `/${pattern}/${flags}` };
  },
  // Only used by Ajv's standalone code generation, which the sandbox does not use.
  { code: 'require("re2js").RE2JS' },
);

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: re2RegExp } });
/** A compiled schema, none (no schema: anything goes), or why the CRD's schema does not compile. */
type Compiled = ValidateFunction | null | { readonly uncompilable: string };
const cache = new Map<string, Compiled>();

/** The schema of one served version of a CRD, or undefined when it has none. */
export function schemaOf(crd: JsonObject, version: string): Json | undefined {
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
  let validate: Compiled | undefined = cache.get(key);
  if (validate === undefined) {
    const schema = schemaOf(crd, version);
    try {
      validate = schema === undefined ? null : ajv.compile(withoutMetadata(schema) as object);
    } catch (err) {
      // kube-apiserver refuses such a CRD when it is created; the sandbox keeps the CRD but fails closed on
      // its objects: accepting them would store what no schema was checked against.
      validate = { uncompilable: err instanceof Error ? err.message.slice(0, 200) : "invalid schema" };
    }
    cache.set(key, validate);
  }
  if (validate !== null && !(typeof validate === "function")) {
    return [
      {
        type: "FieldValueInvalid",
        message:
          `Invalid value: the CustomResourceDefinition's schema for ${version} cannot be compiled ` +
          `(${validate.uncompilable}); fix the CRD (patterns must be RE2: no backreferences or lookaround)`,
        field: "",
      },
    ];
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
