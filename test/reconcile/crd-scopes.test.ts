// The scopes a revision's CustomResourceDefinitions give their kinds, asked once per applied object: the
// answer is computed once per revision (a 50,000-object revision was quadratic), yet a revision that grew
// after it was asked, or another revision, is never answered from what was computed before.
import { describe, expect, it } from "vitest";
import { crdScopes } from "../../src/reconcile/desired.js";
import type { Manifest } from "../../src/render/types.js";

function crd(group: string, kind: string, scope: "Cluster" | "Namespaced"): Manifest {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    name: `${kind.toLowerCase()}s.${group}`,
    object: {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${kind.toLowerCase()}s.${group}` },
      spec: { group, scope, names: { kind }, versions: [{ name: "v1" }, { name: "v2" }] },
    },
    origin: { file: "crds.yaml", line: 1 },
  };
}

function configMap(i: number): Manifest {
  const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` } };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    name: `cm-${i}`,
    object,
    origin: { file: "a.yaml", line: i },
  };
}

describe("crdScopes", () => {
  it("gives each version of each CRD's kind its scope, and nothing for other kinds", () => {
    const scopes = crdScopes([
      crd("x.dev", "Widget", "Cluster"),
      configMap(0),
      crd("x.dev", "Gadget", "Namespaced"),
    ]);
    expect([...scopes.entries()].sort()).toEqual([
      ["x.dev/v1 Gadget", "namespaced"],
      ["x.dev/v1 Widget", "cluster"],
      ["x.dev/v2 Gadget", "namespaced"],
      ["x.dev/v2 Widget", "cluster"],
    ]);
    expect(crdScopes([configMap(0)]).size).toBe(0);
  });

  it("answers a revision asked again from the first answer", () => {
    const revision = [
      crd("x.dev", "Widget", "Cluster"),
      ...Array.from({ length: 1000 }, (_, i) => configMap(i)),
    ];
    const first = crdScopes(revision);
    expect(crdScopes(revision)).toBe(first);
    expect(crdScopes([...revision])).not.toBe(first);
    expect(crdScopes([...revision])).toEqual(first);
  });

  it("does not answer a revision that grew since it was asked from the old answer", () => {
    const revision = [configMap(0)];
    expect(crdScopes(revision).has("x.dev/v1 Widget")).toBe(false);
    revision.push(crd("x.dev", "Widget", "Namespaced"));
    expect(crdScopes(revision).get("x.dev/v1 Widget")).toBe("namespaced");
  });
});
