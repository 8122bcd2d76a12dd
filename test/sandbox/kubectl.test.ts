// The sandbox driven by real kubectl v1.34: server-side apply of a directory, field-manager conflicts and
// --force-conflicts, get -o yaml, get --watch, delete, CRDs, diff --server-side and auth can-i.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { toolPath } from "../support/tools.js";
import { call, kubectlFor, type Kubectl } from "./helpers.js";

let sb: Sandbox;
let k: Kubectl;
let app: string;

const deployment = (image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{containerPort: 80}]
`;

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  app = path.join(k.dir, "app");
  await mkdir(app);
  await writeFile(
    path.join(app, "00-namespace.yaml"),
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
  );
  await writeFile(
    path.join(app, "10-config.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n  labels: {app: shop}\ndata:\n  color: blue\n  size: large\n",
  );
  await writeFile(path.join(app, "20-deployment.yaml"), deployment("registry.example.com/web:1.0"));
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

describe("kubectl against the sandbox", () => {
  it("applies a directory server-side and reads it back with get -o yaml", async () => {
    const applied = await k.run(["apply", "--server-side", "-f", app]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("namespace/shop serverside-applied");
    expect(applied.stdout).toContain("configmap/settings serverside-applied");
    expect(applied.stdout).toContain("deployment.apps/web serverside-applied");

    const got = await k.run([
      "get",
      "configmap",
      "settings",
      "-n",
      "shop",
      "-o",
      "yaml",
      "--show-managed-fields",
    ]);
    expect(got.code).toBe(0);
    const cm = parse(got.stdout) as {
      data: Record<string, string>;
      metadata: {
        uid: string;
        resourceVersion: string;
        creationTimestamp: string;
        managedFields: { manager: string; operation: string }[];
      };
    };
    expect(cm.data).toEqual({ color: "blue", size: "large" });
    expect(cm.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(cm.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(cm.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(cm.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: "kubectl", operation: "Apply" }),
    ]);

    const table = await k.run(["get", "deployments", "-n", "shop"]);
    expect(table.stdout).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(table.stdout).toMatch(/web\s+2\/2/);
  });

  it("reports a conflict between two field managers and resolves it with --force-conflicts", async () => {
    const other = path.join(k.dir, "other.yaml");
    await writeFile(
      other,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  color: red\n",
    );
    const refused = await k.run(["apply", "--server-side", "--field-manager=ops", "-f", other]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('conflict with "kubectl"');
    expect(refused.stderr).toContain(".data.color");
    const unchanged = await k.run(["get", "cm", "settings", "-n", "shop", "-o", "jsonpath={.data.color}"]);
    expect(unchanged.stdout).toBe("blue");

    const forced = await k.run([
      "apply",
      "--server-side",
      "--field-manager=ops",
      "--force-conflicts",
      "-f",
      other,
    ]);
    expect(forced.code).toBe(0);
    const got = await k.run(["get", "cm", "settings", "-n", "shop", "-o", "json", "--show-managed-fields"]);
    const cm = JSON.parse(got.stdout) as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string; fieldsV1: { "f:data"?: Record<string, unknown> } }[] };
    };
    expect(cm.data).toEqual({ color: "red", size: "large" });
    const owners = Object.fromEntries(
      cm.metadata.managedFields.map((m) => [m.manager, Object.keys(m.fieldsV1["f:data"] ?? {})]),
    );
    expect(owners).toEqual({ kubectl: ["f:size"], ops: ["f:color"] });
  });

  it("shows a change to a watched object in get --watch", async () => {
    const child = spawn(
      toolPath("kubectl"),
      [
        "--cache-dir",
        path.join(k.dir, "cache"),
        "get",
        "cm",
        "settings",
        "-n",
        "shop",
        "--watch",
        "-o",
        'jsonpath={.data.size}{"\\n"}',
      ],
      { env: { PATH: process.env["PATH"] ?? "", HOME: k.dir, KUBECONFIG: path.join(k.dir, "kubeconfig") } },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 100 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain(text);
    };
    try {
      await waitFor("large");
      const patched = await call(
        sb,
        "PATCH",
        "/api/v1/namespaces/shop/configmaps/settings?fieldManager=test",
        {
          body: { data: { size: "small" } },
          type: "application/merge-patch+json",
        },
      );
      expect(patched.status).toBe(200);
      await waitFor("small");
    } finally {
      child.kill();
    }
  });

  it("diffs server-side: a changed image shows up, an unchanged manifest has no diff", async () => {
    const changed = path.join(k.dir, "deploy-2.yaml");
    await writeFile(changed, deployment("registry.example.com/web:2.0"));
    const diff = await k.run(["diff", "--server-side", "-f", changed]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^-.*image: registry\.example\.com\/web:1\.0$/m);
    expect(diff.stdout).toMatch(/^\+.*image: registry\.example\.com\/web:2\.0$/m);
    const same = await k.run(["diff", "--server-side", "-f", path.join(app, "20-deployment.yaml")]);
    expect(same.stdout).toBe("");
    expect(same.code).toBe(0);
    // The dry run stored nothing.
    const image = await k.run([
      "get",
      "deploy",
      "web",
      "-n",
      "shop",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    expect(image.stdout).toBe("registry.example.com/web:1.0");
  });

  it("creates a CRD, waits for it to be established, then stores and lists an object of it", async () => {
    const crd = path.join(k.dir, "crd.yaml");
    await writeFile(
      crd,
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`,
    );
    expect((await k.run(["apply", "--server-side", "-f", crd])).code).toBe(0);
    const wait = await k.run([
      "wait",
      "--for=condition=Established",
      "crd/widgets.example.com",
      "--timeout=10s",
    ]);
    expect(wait.stdout).toContain("condition met");
    const widget = path.join(k.dir, "widget.yaml");
    await writeFile(
      widget,
      "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: shop\nspec:\n  size: 3\n",
    );
    const applied = await k.run(["apply", "--server-side", "-f", widget]);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain("widget.example.com/w1 serverside-applied");
    const got = await k.run(["get", "wd", "-n", "shop", "-o", "jsonpath={.items[0].spec.size}"]);
    expect(got.stdout).toBe("3");
  });

  it("answers auth can-i --as=system:serviceaccount per RBAC, and a service-account token is held to it", async () => {
    // kubectl's create commands send protobuf bodies.
    for (const args of [
      ["create", "serviceaccount", "deployer", "-n", "shop"],
      ["create", "role", "cm-reader", "-n", "shop", "--verb=get,list", "--resource=configmaps"],
      [
        "create",
        "rolebinding",
        "deployer-reads",
        "-n",
        "shop",
        "--role=cm-reader",
        "--serviceaccount=shop:deployer",
      ],
    ]) {
      const r = await k.run(args);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const as = "--as=system:serviceaccount:shop:deployer";
    const list = await k.run(["auth", "can-i", "list", "configmaps", "-n", "shop", as]);
    expect([list.code, list.stdout.trim()]).toEqual([0, "yes"]);
    const del = await k.run(["auth", "can-i", "delete", "configmaps", "-n", "shop", as]);
    expect([del.code, del.stdout.trim()]).toEqual([1, "no"]);
    const elsewhere = await k.run(["auth", "can-i", "list", "configmaps", "-n", "default", as]);
    expect(elsewhere.stdout.trim()).toBe("no");

    const token = await k.run(["create", "token", "deployer", "-n", "shop"]);
    expect(token.code).toBe(0);
    const kubeconfig = path.join(k.dir, "deployer.kubeconfig");
    await writeFile(kubeconfig, sb.kubeconfigFor(token.stdout.trim(), "deployer"), { mode: 0o600 });
    const read = await k.run(["get", "configmaps", "-n", "shop", "-o", "name"], { kubeconfig });
    expect(read.stdout).toContain("configmap/settings");
    const denied = await k.run(["delete", "configmap", "settings", "-n", "shop"], { kubeconfig });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'User "system:serviceaccount:shop:deployer" cannot delete resource "configmaps"',
    );
    const impersonating = await k.run(["get", "configmaps", "-n", "shop", "--as=admin"], { kubeconfig });
    expect(impersonating.code).not.toBe(0);
    expect(impersonating.stderr).toContain("cannot impersonate");
  });

  it("deletes what it applied", async () => {
    const del = await k.run(["delete", "-f", path.join(app, "20-deployment.yaml")]);
    expect(del.code).toBe(0);
    expect(del.stdout).toContain('deployment.apps "web" deleted');
    const gone = await k.run(["get", "deploy", "web", "-n", "shop"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('deployments.apps "web" not found');
  });
});
