import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildCrds, renderCrdFiles } from "../../src/config/crds.js";
import { parseConfig } from "../../src/config/load.js";
import { repoRoot } from "../support/tools.js";
import { EXAMPLE } from "./example.js";

const crdDir = path.join(repoRoot, "deploy", "crds");

type Json = Record<string, unknown>;

function openApiSchema(crd: Json): Json {
  const spec = crd["spec"] as { versions: { schema: { openAPIV3Schema: Json } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

/** Every node of a schema, with its path, to check the structural-schema rules of Kubernetes. */
function* nodes(schema: unknown, at = "$"): Generator<[string, Json]> {
  if (typeof schema !== "object" || schema === null) return;
  const node = schema as Json;
  yield [at, node];
  for (const [k, v] of Object.entries((node["properties"] as Json | undefined) ?? {}))
    yield* nodes(v, `${at}.${k}`);
  if (node["items"] !== undefined) yield* nodes(node["items"], `${at}[]`);
  if (typeof node["additionalProperties"] === "object") yield* nodes(node["additionalProperties"], `${at}{}`);
}

describe("CRDs", () => {
  it("the committed deploy/crds files equal what the schemas generate (run `npm run gen:crds`)", async () => {
    const generated = renderCrdFiles();
    const committed = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).sort();
    expect(committed).toEqual(Object.keys(generated).sort());
    for (const [name, text] of Object.entries(generated)) {
      expect(await readFile(path.join(crdDir, name), "utf8"), name).toBe(text);
    }
  });

  it("Application is namespaced, TrustPolicy cluster-scoped, both with a status subresource", () => {
    const crds = Object.values(buildCrds());
    const byKind = new Map(crds.map((c) => [(c["spec"] as { names: { kind: string } }).names.kind, c]));
    const app = byKind.get("Application")!["spec"] as Json;
    const tp = byKind.get("TrustPolicy")!["spec"] as Json;
    expect(app["scope"]).toBe("Namespaced");
    expect(tp["scope"]).toBe("Cluster");
    for (const spec of [app, tp]) {
      expect(spec["group"]).toBe("gitward.dev");
      const version = (spec["versions"] as Json[])[0]!;
      expect(version["name"]).toBe("v1alpha1");
      expect(version["subresources"]).toEqual({ status: {} });
    }
  });

  it("are structural: every node typed, no const, no $ref, no additionalProperties beside properties", () => {
    for (const crd of Object.values(buildCrds())) {
      for (const [at, node] of nodes(openApiSchema(crd))) {
        expect(typeof node["type"], at).toBe("string");
        expect(node["const"], at).toBeUndefined();
        expect(node["$ref"], at).toBeUndefined();
        expect(node["anyOf"], at).toBeUndefined();
        expect(node["patternProperties"], at).toBeUndefined();
        expect(
          Object.keys(node).filter((k) => k.startsWith("x-gitward")),
          at,
        ).toEqual([]);
        if (node["properties"] !== undefined) expect(node["additionalProperties"], at).toBeUndefined();
        for (const branch of (node["oneOf"] as Json[] | undefined) ?? []) {
          expect(Object.keys(branch), at).toEqual(["required"]);
        }
      }
    }
  });

  it("carry the same defaults and validation as gitward.yaml", () => {
    const crds = buildCrds();
    const appSchema = openApiSchema(crds["gitward.dev_applications.yaml"]!);
    const spec = (appSchema["properties"] as Json)["spec"] as Json;
    const props = spec["properties"] as Record<string, Json>;
    expect(props["interval"]!["default"]).toBe("1m");
    expect(props["prune"]!["default"]).toBe(false);
    expect(props["drift"]).toMatchObject({ type: "string", enum: ["alert", "revert"], default: "alert" });

    // The CRD schema, read as JSON Schema, accepts the example and rejects what gitward.yaml rejects.
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(appSchema);
    const { applications } = parseConfig(EXAMPLE, "gitward.yaml");
    const example = applications[0]!;
    expect(validate(example)).toBe(true);
    expect(validate({ ...example, spec: { ...example.spec, drift: "sometimes" } })).toBe(false);
    expect(validate({ ...example, spec: { ...example.spec, interval: "soon" } })).toBe(false);
    const twoRefs = { ...example.spec.source, ref: { branch: "main", tag: "v1" } };
    expect(validate({ ...example, spec: { ...example.spec, source: twoRefs } })).toBe(false);
    const noRef = { ...example.spec.source, ref: {} };
    expect(validate({ ...example, spec: { ...example.spec, source: noRef } })).toBe(false);
  });

  it("parse as YAML back into the objects built", async () => {
    for (const [name, crd] of Object.entries(buildCrds())) {
      expect(parse(await readFile(path.join(crdDir, name), "utf8"))).toEqual(crd);
    }
  });
});
