// Discovery documents (/api, /apis, per group-version resource lists, and the aggregated v2 form kubectl
// prefers), /version, and the OpenAPI v2 and v3 documents kubectl reads to learn that the server validates fields
// itself (so it sends `fieldValidation` instead of validating against a schema on its side).
import { allVerbs, groupVersionOf, type Catalog, type ResourceDef } from "./catalog.js";
import type { Json, JsonObject } from "./fieldset.js";
import { schemasFor } from "./openapi.js";

const subresourceKinds: Record<string, { group: string; version: string; kind: string; verbs: string[] }> = {
  scale: { group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] },
  token: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] },
};

function verbsOf(d: ResourceDef): string[] {
  return d.createOnly ? ["create"] : allVerbs;
}

function subKind(
  d: ResourceDef,
  sub: string,
): { group: string; version: string; kind: string; verbs: string[] } {
  return (
    subresourceKinds[sub] ?? {
      group: d.group,
      version: d.version,
      kind: d.kind,
      verbs: ["get", "patch", "update"],
    }
  );
}

export function resourceList(catalog: Catalog, group: string, version: string): JsonObject {
  const resources: JsonObject[] = [];
  for (const d of catalog.inGroupVersion(group, version)) {
    const r: JsonObject = {
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: verbsOf(d),
    };
    if (d.shortNames.length > 0) r["shortNames"] = [...d.shortNames];
    if (d.categories.length > 0) r["categories"] = [...d.categories];
    resources.push(r);
    for (const sub of d.subresources) {
      const k = subKind(d, sub);
      const s: JsonObject = {
        name: `${d.resource}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        kind: k.kind,
        verbs: k.verbs,
      };
      if (k.group !== d.group || k.version !== d.version) {
        s["group"] = k.group;
        s["version"] = k.version;
      }
      resources.push(s);
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersionOf({ group, version }),
    resources,
  };
}

export function apiVersions(): JsonObject {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1:443" }],
  };
}

function groupEntry(name: string, versions: string[]): JsonObject {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] ?? null };
}

export function apiGroupList(catalog: Catalog): JsonObject {
  const groups: JsonObject[] = [];
  for (const [name, versions] of catalog.groups()) if (name !== "") groups.push(groupEntry(name, versions));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroup(catalog: Catalog, name: string): JsonObject | undefined {
  const versions = catalog.groups().get(name);
  if (versions === undefined || name === "") return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(name, versions) };
}

/** The aggregated discovery document (apidiscovery.k8s.io/v2) of the core group or of all named groups. */
export function aggregated(catalog: Catalog, core: boolean): JsonObject {
  const items: JsonObject[] = [];
  for (const [name, versions] of catalog.groups()) {
    if ((name === "") !== core) continue;
    items.push({
      metadata: core ? { creationTimestamp: null } : { name, creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        freshness: "Current",
        resources: catalog.inGroupVersion(name, version).map((d) => {
          const r: JsonObject = {
            resource: d.resource,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? "Namespaced" : "Cluster",
            singularResource: d.singular,
            verbs: verbsOf(d),
          };
          if (d.shortNames.length > 0) r["shortNames"] = [...d.shortNames];
          if (d.categories.length > 0) r["categories"] = [...d.categories];
          if (d.subresources.length > 0) {
            r["subresources"] = d.subresources.map((sub) => {
              const k = subKind(d, sub);
              return {
                subresource: sub,
                responseKind: { group: k.group, version: k.version, kind: k.kind },
                verbs: k.verbs,
              };
            });
          }
          return r;
        }),
      })),
    });
  }
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}

export function version(): JsonObject {
  return {
    major: "1",
    minor: "34",
    gitVersion: "v1.34.0-gitward-sandbox",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "none",
    compiler: "none",
    platform: "linux/amd64",
  };
}

/** /openapi/v3: one entry per group-version, each pointing at a document served below. */
export function openApiV3Index(catalog: Catalog): JsonObject {
  const paths: JsonObject = {};
  for (const [group, versions] of catalog.groups()) {
    for (const v of versions) {
      const p = group === "" ? `api/${v}` : `apis/${group}/${v}`;
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=sandbox` };
    }
  }
  return { paths };
}

/**
 * An OpenAPI v3 document for one group-version: PATCH operations that declare the `fieldValidation`
 * parameter (kubectl looks for it to let the server validate), and each kind's schema (openapi.ts).
 */
export function openApiV3Doc(
  catalog: Catalog,
  group: string,
  version: string,
  crdSchema: (def: ResourceDef) => Json | undefined,
): JsonObject | undefined {
  const defs = catalog.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  const paths: JsonObject = {};
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const fieldValidation = {
    name: "fieldValidation",
    in: "query",
    schema: { type: "string", uniqueItems: true },
  };
  for (const d of defs) {
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const op = (action: string): JsonObject => ({
      "x-kubernetes-group-version-kind": gvk,
      "x-kubernetes-action": action,
      parameters: [fieldValidation],
      responses: {},
    });
    const coll = d.namespaced ? `${base}/namespaces/{namespace}/${d.resource}` : `${base}/${d.resource}`;
    paths[`${coll}/{name}`] = { patch: op("patch"), put: op("put") };
    paths[coll] = { post: op("post") };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes (gitward sandbox)", version: "v1.34.0" },
    paths,
    components: { schemas: schemasFor(defs, "#/components/schemas/", crdSchema) },
  };
}

/** /openapi/v2: one Swagger 2.0 document with every kind's definition. */
export function openApiV2Doc(
  catalog: Catalog,
  crdSchema: (def: ResourceDef) => Json | undefined,
): JsonObject {
  const defs = catalog.all().filter((d) => !d.createOnly);
  return {
    swagger: "2.0",
    info: { title: "Kubernetes (gitward sandbox)", version: "v1.34.0" },
    paths: {},
    definitions: schemasFor(defs, "#/definitions/", crdSchema),
  };
}
