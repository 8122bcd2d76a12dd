// The sandbox as strict as kube-apiserver 1.34, driven by real kubectl: unknown fields refused under
// kubectl's default --validate=strict, warned about with --validate=warn and dropped with --validate=false;
// core validation (containers, ports, quantities, limits ≥ requests, ConfigMap keys, immutable selectors);
// and the kinds a 1.34 server serves that clients expect (ReplicationController, EndpointSlice, ...).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, kubectlFor, widgetCrd, type Kubectl } from "./helpers.js";

let sb: Sandbox;
let k: Kubectl;

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  expect((await k.run(["create", "namespace", "shop"])).code).toBe(0);
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

/** A Deployment manifest with `extra` spliced into its container (indented as a container field). */
const deployment = (name: string, extra = ""): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: shop}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
${extra}`;

const apply = (manifest: string, ...flags: string[]): ReturnType<Kubectl["run"]> =>
  k.run(["apply", ...flags, "-f", "-"], { input: manifest });

describe("unknown fields (fieldValidation)", () => {
  const typo = "          imagePullPolcy: Always\n";
  const field = "spec.template.spec.containers[0].imagePullPolcy";

  it("refuses them under kubectl's default --validate=strict, naming the field, client- and server-side", async () => {
    const r = await apply(deployment("typo", typo));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`strict decoding error: unknown field "${field}"`);
    const ssa = await apply(deployment("typo", typo), "--server-side");
    expect(ssa.code).not.toBe(0);
    expect(ssa.stderr).toContain(`.${field}: field not declared in schema`);
    expect((await k.run(["get", "deployment", "typo", "-n", "shop"])).code).not.toBe(0);
  });

  it("warns with --validate=warn and drops the field; --validate=false drops it silently", async () => {
    const warn = await apply(deployment("warned", typo), "--validate=warn");
    expect(warn.code).toBe(0);
    expect(warn.stderr).toContain(`Warning: unknown field "${field}"`);
    const stored = await call(sb, "GET", "/apis/apps/v1/namespaces/shop/deployments/warned");
    const containers = (stored.json["spec"] as { template: { spec: { containers: object[] } } }).template.spec
      .containers;
    expect(containers[0]).not.toHaveProperty("imagePullPolcy");
    const ignore = await apply(deployment("ignored", typo), "--validate=false");
    expect([ignore.code, ignore.stderr]).toEqual([0, ""]);
  });

  it("accepts a manifest whose fields are all known, and refuses a bad fieldValidation value", async () => {
    const ok = await apply(deployment("clean", "          imagePullPolicy: Always\n"));
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
    const bad = await call(sb, "POST", "/api/v1/namespaces/shop/configmaps?fieldValidation=Loose", {
      body: { metadata: { name: "x" } },
    });
    expect(bad.status).toBe(400);
  });
});

describe("unknown fields of custom resources", () => {
  it("refuses fields the CRD's schema does not declare, keeps preserved ones, drops them on Warn", async () => {
    const crd = widgetCrd(`      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
                labels: {type: object, additionalProperties: {type: string}}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
`);
    expect((await apply(crd)).stderr).toBe("");
    const widget = (spec: string): string =>
      `apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: ${spec}\n`;
    const strict = await apply(widget("{size: 1, colour: red}"));
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('strict decoding error: unknown field "spec.colour"');
    const ok = await apply(widget("{size: 1, labels: {a: b}, extra: {any: {thing: 1}}}"));
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
    const kept = await call(sb, "GET", "/apis/example.org/v1/namespaces/shop/widgets/w");
    expect(kept.json["spec"]).toEqual({ size: 1, labels: { a: "b" }, extra: { any: { thing: 1 } } });
    const warn = await apply(widget("{size: 2, colour: red}"), "--validate=warn");
    expect(warn.stderr).toContain('Warning: unknown field "spec.colour"');
    const got = await call(sb, "GET", "/apis/example.org/v1/namespaces/shop/widgets/w");
    expect(got.json["spec"]).toEqual({ size: 2 });
  });
});

describe("core validation", () => {
  const refused = async (manifest: string, ...expected: string[]): Promise<void> => {
    const r = await apply(manifest);
    expect(r.code).not.toBe(0);
    for (const e of expected) expect(r.stderr).toContain(e);
  };

  it("refuses ports outside 1–65535 in containers and services", async () => {
    await refused(
      deployment("port", "          ports: [{containerPort: 70000}]\n"),
      "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535",
    );
    const svc = (port: number): string =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{port: ${port}, targetPort: 8080}]\n`;
    await refused(svc(0), "spec.ports[0].port: Invalid value: 0");
    const ok = await apply(svc(80));
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
  });

  it("refuses quantities that do not parse (400) and requests above limits (422)", async () => {
    await refused(
      deployment("qty", "          resources: {limits: {memory: lots}}\n"),
      "quantities must match the regular expression",
    );
    await refused(
      deployment("over", "          resources: {requests: {cpu: '2'}, limits: {cpu: 500m}}\n"),
      'spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of "500m"',
    );
    const ok = await apply(
      deployment(
        "fits",
        "          resources: {requests: {cpu: 250m, memory: 64Mi}, limits: {cpu: '1', memory: 0.5Gi}}\n",
      ),
    );
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
  });

  it("refuses a pod without containers and accepts a Job with one (kubectl create -f)", async () => {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: empty, namespace: shop}\nspec:\n  containers: []\n`;
    await refused(pod, "spec.containers: Required value");
    const job = await k.run(["create", "-f", "-"], {
      input: `apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: shop}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: once, image: busybox, command: ["true"]}]\n`,
    });
    expect([job.code, job.stderr]).toEqual([0, ""]);
  });

  it("refuses a Job that would restart forever and a quota whose quantity does not parse", async () => {
    const job = (policy: string): string =>
      `apiVersion: batch/v1\nkind: Job\nmetadata: {name: loop, namespace: shop}\nspec:\n  template:\n    spec:\n${policy}      containers: [{name: loop, image: busybox}]\n`;
    await refused(job(""), 'spec.template.spec.restartPolicy: Unsupported value: "Always"');
    const ok = await apply(job("      restartPolicy: OnFailure\n"));
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
    const quota = (cpu: string): string =>
      `apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\nspec:\n  hard: {cpu: "${cpu}", pods: "10"}\n`;
    await refused(quota("two"), "spec.hard[cpu]: quantities must match the regular expression");
    const fine = await apply(quota("2"));
    expect([fine.code, fine.stderr]).toEqual([0, ""]);
  });

  it("refuses ConfigMap keys outside [-._a-zA-Z0-9] (kubectl create configmap --from-literal)", async () => {
    const bad = await k.run(["create", "configmap", "keys", "-n", "shop", "--from-literal=bad key=1"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("a valid config key must consist of alphanumeric characters");
    const ok = await k.run(["create", "configmap", "keys", "-n", "shop", "--from-literal=good.key_1=1"]);
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
  });

  it("refuses changing a Deployment's selector (kubectl create -f, then apply), allows other changes", async () => {
    const made = await k.run(["create", "-f", "-"], { input: deployment("sel") });
    expect([made.code, made.stderr]).toEqual([0, ""]);
    const moved = `apiVersion: apps/v1
kind: Deployment
metadata: {name: sel, namespace: shop}
spec:
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`;
    const r = await k.run(["apply", "--server-side", "--force-conflicts", "-f", "-"], { input: moved });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("spec.selector: Invalid value");
    expect(r.stderr).toContain("field is immutable");
    const scaled = await k.run(["scale", "deployment", "sel", "--replicas=3", "-n", "shop"]);
    expect([scaled.code, scaled.stderr]).toEqual([0, ""]);
    const image = await k.run(["set", "image", "deployment/sel", "web=nginx:1.28", "-n", "shop"]);
    expect([image.code, image.stderr]).toEqual([0, ""]);
  });
});

describe("kinds of a 1.34 server", () => {
  it("serves ReplicationController, EndpointSlice, RuntimeClass, CSIDriver, CSR and APIService", async () => {
    const manifests = `apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: shop}
spec:
  replicas: 1
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["10.0.0.1"]}]
ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: csi.example.com}
spec: {attachRequired: false}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.example.com}
spec:
  group: metrics.example.com
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {name: metrics, namespace: shop}
`;
    const r = await apply(manifests);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = await k.run([
      "get",
      "rc,endpointslices,runtimeclasses,csidrivers,apiservices,csr",
      "-A",
      "-o",
      "name",
    ]);
    expect(got.code).toBe(0);
    expect(
      got.stdout
        .split("\n")
        .filter((l) => l !== "")
        .sort(),
    ).toEqual([
      "apiservice.apiregistration.k8s.io/v1beta1.metrics.example.com",
      "csidriver.storage.k8s.io/csi.example.com",
      "endpointslice.discovery.k8s.io/web-1",
      "replicationcontroller/legacy",
      "runtimeclass.node.k8s.io/gvisor",
    ]);
    const scaled = await k.run(["scale", "rc", "legacy", "--replicas=2", "-n", "shop"]);
    expect([scaled.code, scaled.stderr]).toEqual([0, ""]);
    // An unknown field of a new kind is refused like any other.
    const typo = await apply(
      "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: bad}\nhandlr: runc\n",
    );
    expect(typo.stderr).toContain('unknown field "handlr"');
  });
});
