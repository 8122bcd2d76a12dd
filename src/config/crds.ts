// Builds the CustomResourceDefinitions of Application (namespaced) and TrustPolicy (cluster-scoped) from
// the same TypeBox schemas that validate gitward.yaml, converted to Kubernetes "structural" OpenAPI v3
// (no const, no additionalProperties next to properties, unions as enum/oneOf). scripts/gen-crds.ts writes
// them to deploy/crds/; a test proves the committed files equal what this module builds.
import { stringify } from "yaml";
import {
  AlertSinkSchema,
  AlertSinkStatusSchema,
  API_GROUP,
  API_VERSION_NAME,
  ApplicationSchema,
  ApplicationStatusSchema,
  EXPECTED_KEY,
  TrustPolicySchema,
  TrustPolicyStatusSchema,
} from "./schema.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A TypeBox schema as plain JSON (symbol keys and our private message hints dropped). */
function plain(schema: unknown): JsonObject {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === EXPECTED_KEY ? undefined : value)),
  ) as JsonObject;
}

/** Converts one JSON Schema node into the structural subset the Kubernetes API server accepts. */
export function toStructural(schema: JsonObject): JsonObject {
  const out: JsonObject = {};
  const anyOf = schema["anyOf"];
  if (Array.isArray(anyOf)) {
    const variants = anyOf.filter(isObject);
    if (variants.every((v) => "const" in v)) {
      // A union of literals is an enum.
      const values = variants.map((v) => v["const"] ?? null);
      out["type"] = typeof values[0] === "number" ? "number" : "string";
      out["enum"] = values;
    } else if (variants.every((v) => v["type"] === "object")) {
      // A union of objects ({branch} | {tag} | {commit}): all properties, and oneOf over the required sets.
      const properties: JsonObject = {};
      for (const v of variants) {
        const props = v["properties"];
        if (isObject(props))
          for (const [k, p] of Object.entries(props)) if (isObject(p)) properties[k] = toStructural(p);
      }
      out["type"] = "object";
      out["properties"] = properties;
      out["oneOf"] = variants.map((v) => ({ required: Array.isArray(v["required"]) ? v["required"] : [] }));
    } else {
      throw new Error(`cannot express this union in a structural schema: ${JSON.stringify(schema)}`);
    }
    copyAnnotations(schema, out);
    return out;
  }
  if ("const" in schema) {
    const value = schema["const"] ?? null;
    out["type"] = typeof value === "number" ? "number" : "string";
    out["enum"] = [value];
    copyAnnotations(schema, out);
    return out;
  }
  const type = schema["type"];
  if (typeof type === "string") out["type"] = type;
  copyAnnotations(schema, out);
  for (const key of [
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "format",
  ]) {
    const v = schema[key];
    if (v !== undefined) out[key] = v;
  }
  if (type === "array" && isObject(schema["items"])) out["items"] = toStructural(schema["items"]);
  if (type === "object") {
    const props = schema["properties"];
    const patternProps = schema["patternProperties"];
    if (isObject(props)) {
      const properties: JsonObject = {};
      for (const [k, p] of Object.entries(props)) if (isObject(p)) properties[k] = toStructural(p);
      out["properties"] = properties;
      const required = schema["required"];
      if (Array.isArray(required) && required.length > 0) out["required"] = required;
      // Unknown fields are pruned by the API server (structural schemas cannot say additionalProperties:
      // false); an object that explicitly allows them keeps them.
      if (schema["additionalProperties"] === true) out["x-kubernetes-preserve-unknown-fields"] = true;
    } else if (isObject(patternProps)) {
      // Type.Record(string, T): a map.
      const value = Object.values(patternProps)[0];
      if (isObject(value)) out["additionalProperties"] = toStructural(value);
    }
  }
  return out;
}

function copyAnnotations(from: JsonObject, to: JsonObject): void {
  for (const key of ["description", "default"]) {
    const v = from[key];
    if (v !== undefined) to[key] = v;
  }
}

interface CrdSpec {
  kind: string;
  plural: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  schema: unknown;
  status: unknown;
  printerColumns: JsonObject[];
}

function buildCrd(spec: CrdSpec): JsonObject {
  const root = plain(spec.schema);
  const properties = isObject(root["properties"]) ? root["properties"] : {};
  const specSchema = properties["spec"];
  if (!isObject(specSchema)) throw new Error(`${spec.kind} schema has no spec`);
  const openAPIV3Schema: JsonObject = {
    type: "object",
    ...(typeof root["description"] === "string" ? { description: root["description"] } : {}),
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec: toStructural(specSchema),
      status: toStructural(plain(spec.status)),
    },
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${spec.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: spec.kind,
        listKind: `${spec.kind}List`,
        plural: spec.plural,
        singular: spec.kind.toLowerCase(),
        shortNames: spec.shortNames,
        categories: ["gitward"],
      },
      scope: spec.scope,
      versions: [
        {
          name: API_VERSION_NAME,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: spec.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

const readyColumns: JsonObject[] = [
  { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: "Status", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].message', priority: 1 },
];

/** The CRD objects, keyed by the file name they are written to under deploy/crds/. */
export function buildCrds(): Record<string, JsonObject> {
  return {
    [`${API_GROUP}_applications.yaml`]: buildCrd({
      kind: "Application",
      plural: "applications",
      shortNames: ["gwapp"],
      scope: "Namespaced",
      schema: ApplicationSchema,
      status: ApplicationStatusSchema,
      printerColumns: [
        { name: "Revision", type: "string", jsonPath: ".status.lastAppliedRevision" },
        ...readyColumns,
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
    [`${API_GROUP}_trustpolicies.yaml`]: buildCrd({
      kind: "TrustPolicy",
      plural: "trustpolicies",
      shortNames: ["gwtp"],
      scope: "Cluster",
      schema: TrustPolicySchema,
      status: TrustPolicyStatusSchema,
      printerColumns: [
        ...readyColumns,
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
    [`${API_GROUP}_alertsinks.yaml`]: buildCrd({
      kind: "AlertSink",
      plural: "alertsinks",
      shortNames: ["gwalert"],
      scope: "Namespaced",
      schema: AlertSinkSchema,
      status: AlertSinkStatusSchema,
      printerColumns: [
        { name: "Type", type: "string", jsonPath: ".spec.type" },
        ...readyColumns,
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
  };
}

/** The text of each CRD file, as committed. */
export function renderCrdFiles(): Record<string, string> {
  const header = "# Generated by scripts/gen-crds.ts from src/config/schema.ts: do not edit by hand.\n";
  const files: Record<string, string> = {};
  for (const [name, crd] of Object.entries(buildCrds())) {
    files[name] = header + stringify(crd, { lineWidth: 0, singleQuote: false });
  }
  return files;
}
