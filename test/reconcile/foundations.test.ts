// Namespaces and CRDs go first: a revision that brings a namespace, a CRD, a custom resource of that CRD
// and an object in the new namespace applies in one pass (the CRD waited for until established, the
// dependent objects dry-run only once their namespace and kind exist), and the next pass writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configMap, startWorld, type World } from "./harness.js";

let w: World;

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;

beforeAll(async () => {
  w = await startWorld();
  // A cluster administrator lets this application's account manage namespaces, CRDs and widgets.
  await w.admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "shop-platform" },
    rules: [
      {
        apiGroups: [""],
        resources: ["namespaces", "configmaps"],
        verbs: ["get", "list", "create", "patch", "delete"],
      },
      {
        apiGroups: ["apiextensions.k8s.io"],
        resources: ["customresourcedefinitions"],
        verbs: ["get", "list", "create", "patch", "delete"],
      },
      {
        apiGroups: ["example.com"],
        resources: ["widgets"],
        verbs: ["get", "list", "create", "patch", "delete"],
      },
    ],
  });
  await w.admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "shop-platform" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "shop-platform" },
    subjects: [{ kind: "ServiceAccount", name: "shop-deployer", namespace: "shop" }],
  });
});

afterAll(async () => {
  await w.stop();
});

describe("foundations first", () => {
  it("applies a namespace, a CRD and objects that depend on them in one pass", async () => {
    await w.commit({
      "apps/shop/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: { name: team-x }\n",
      "apps/shop/crd.yaml": crd,
      "apps/shop/widget.yaml":
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n",
      "apps/shop/cm.yaml": configMap("in-team-x", { a: "1" }, "team-x"),
    });
    const app = w.app({}, { allowClusterScoped: true, allowedNamespaces: ["team-x"] });
    const r = await w.reconcile(app);
    expect(r.result).toBe("applied");
    expect(r.applied.slice(0, 2).sort()).toEqual([
      "CustomResourceDefinition widgets.example.com",
      "Namespace team-x",
    ]);
    expect(r.applied).toHaveLength(4);
    const widget = await w.admin.get({
      apiVersion: "example.com/v1",
      kind: "Widget",
      namespace: "shop",
      name: "w1",
    });
    expect(widget?.["spec"]).toEqual({ size: 3 });
    expect(
      await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "team-x", name: "in-team-x" }),
    ).toBeDefined();
    expect((await w.reconcile(app)).result).toBe("unchanged");
  });
});
