// OpenAPI documents kubectl reads: /openapi/v3 per group-version with full built-in schemas (kubectl
// explain, client-side apply merging containers by name) and a CRD's own schema; /openapi/v2 as JSON.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, kubectlFor, widgetCrd, type Kubectl } from "./helpers.js";

let sb: Sandbox;
let k: Kubectl;

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

const deployment = (containers: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
${containers}`;

describe("OpenAPI", () => {
  it("lets kubectl explain built-in fields, and refuses to explain a field that does not exist", async () => {
    const r = await k.run(["explain", "deployment.spec.replicas"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("FIELD: replicas <integer>");
    const c = await k.run(["explain", "pod.spec.containers.ports"]);
    expect(c.stdout).toContain("containerPort\t<integer>");
    const bad = await k.run(["explain", "deployment.spec.replicaz"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field "replicaz" does not exist');
  });

  it("explains a custom resource from its CRD's schema", async () => {
    const crd = widgetCrd(`      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer, description: How big the widget is.}
`);
    expect((await k.run(["apply", "-f", "-"], { input: crd })).stderr).toBe("");
    const r = await k.run(["explain", "widget.spec.size"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("How big the widget is.");
  });

  it("gives client-side apply the containers' merge key: a second container is added, the first kept", async () => {
    const one = "        - {name: web, image: nginx:1.27}\n";
    expect((await k.run(["apply", "-f", "-"], { input: deployment(one) })).code).toBe(0);
    const two = `${one}        - {name: sidecar, image: busybox:1.36}\n`;
    const r = await k.run(["apply", "-f", "-"], { input: deployment(two) });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const got = await call(sb, "GET", "/apis/apps/v1/namespaces/default/deployments/web");
    const spec = got.json["spec"] as { template: { spec: { containers: { name: string }[] } } };
    expect(spec.template.spec.containers.map((c) => c.name)).toEqual(["web", "sidecar"]);
    const back = await k.run(["apply", "-f", "-"], { input: deployment(one) });
    expect(back.code).toBe(0);
    const again = await call(sb, "GET", "/apis/apps/v1/namespaces/default/deployments/web");
    const spec2 = again.json["spec"] as { template: { spec: { containers: { name: string }[] } } };
    expect(spec2.template.spec.containers.map((c) => c.name)).toEqual(["web"]);
  });

  it("serves /openapi/v2 as JSON with each kind's definition, and 406 to a protobuf-only client", async () => {
    const v2 = await call(sb, "GET", "/openapi/v2");
    expect(v2.status).toBe(200);
    const defs = v2.json["definitions"] as Record<string, Record<string, unknown>>;
    expect(defs["io.k8s.api.apps.v1.Deployment"]?.["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "Deployment" },
    ]);
    expect(defs["V1PodSpec"]?.["properties"]).toHaveProperty("containers");
    const pb = await call(sb, "GET", "/openapi/v2", {
      headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" },
    });
    expect(pb.status).toBe(406);
  });
});
