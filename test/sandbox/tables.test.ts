// Server-side table columns, as `kubectl get` prints them: the built-in printers' columns (wide ones with
// -o wide) and a custom resource's additionalPrinterColumns, evaluated by JSONPath on the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { kubectlFor, widgetCrd, type Kubectl } from "./helpers.js";

let sb: Sandbox;
let k: Kubectl;

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  const manifests = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
${widgetCrd(`      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}, color: {type: string}}}
            status:
              type: object
              properties:
                conditions:
                  type: array
                  items: {type: object, properties: {type: {type: string}, status: {type: string}}}
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size}
        - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
        - {name: Color, type: string, jsonPath: .spec.color, priority: 1}
`)}`;
  const r = await k.run(["apply", "-f", "-"], { input: manifests });
  expect(r.stderr).toBe("");
  const widget = await k.run(["apply", "-f", "-"], {
    input:
      "apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w1, namespace: shop}\nspec: {size: 3, color: red}\n",
  });
  expect(widget.stderr).toBe("");
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

const header = (out: string): string[] => (out.split("\n")[0] ?? "").trim().split(/\s{2,}/);
const row = (out: string): string[] => (out.split("\n")[1] ?? "").trim().split(/\s{2,}/);

describe("kubectl get columns", () => {
  it("prints a Deployment's and a Service's columns, and the wide ones with -o wide", async () => {
    const d = await k.run(["get", "deployments", "-n", "shop"]);
    expect(header(d.stdout)).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    const wide = await k.run(["get", "deployments", "-n", "shop", "-o", "wide"]);
    expect(header(wide.stdout)).toEqual([
      "NAME",
      "READY",
      "UP-TO-DATE",
      "AVAILABLE",
      "AGE",
      "CONTAINERS",
      "IMAGES",
      "SELECTOR",
    ]);
    expect(row(wide.stdout).slice(5)).toEqual(["web", "nginx:1.27", "app=web"]);
    const s = await k.run(["get", "service", "web", "-n", "shop"]);
    expect(header(s.stdout)).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    expect(row(s.stdout)[4]).toBe("80/TCP");
  });

  it("prints a custom resource's additionalPrinterColumns (JSONPath filter included), wide by priority", async () => {
    const w = await k.run(["get", "widgets", "-n", "shop"]);
    expect(w.stderr).toBe("");
    expect(header(w.stdout)).toEqual(["NAME", "SIZE", "READY"]);
    expect(row(w.stdout)).toEqual(["w1", "3"]);
    const status = await k.run([
      "patch",
      "widget",
      "w1",
      "-n",
      "shop",
      "--subresource=status",
      "--type=merge",
      '-p={"status":{"conditions":[{"type":"Synced","status":"False"},{"type":"Ready","status":"True"}]}}',
    ]);
    expect(status.code).toBe(0);
    const wide = await k.run(["get", "widgets", "-n", "shop", "-o", "wide"]);
    expect(header(wide.stdout)).toEqual(["NAME", "SIZE", "READY", "COLOR"]);
    expect(row(wide.stdout)).toEqual(["w1", "3", "True", "red"]);
  });
});
