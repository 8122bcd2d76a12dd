// Validating admission webhooks called by the sandbox as kube-apiserver calls them, driven by a real
// kubectl against a real HTTPS webhook (test CA by openssl): deny with the webhook's message, allow with
// warnings, dry runs, failurePolicy with the webhook down, namespace/object selectors, matchConditions,
// caBundle verification, timeouts, services, subresources and deletes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, withSandbox } from "../helpers.js";
import {
  makeServingCertificates,
  startWebhook,
  webhookConfiguration,
  type WebhookServer,
  type WebhookSpec,
} from "../../support/webhook.js";

const ctx = withSandbox();
let hook: WebhookServer;
const pinned = `nginx@sha256:${"a".repeat(64)}`;
const VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";

beforeAll(async () => {
  hook = await startWebhook({ dnsNames: ["gate.gitward-system.svc"] });
  await call(ctx.sb, "POST", "/api/v1/namespaces", { body: { metadata: { name: "x" } } });
});
afterAll(async () => hook.stop());
afterEach(async () => {
  await call(ctx.sb, "DELETE", `${VWC}/gate`);
  hook.requests.length = 0;
  hook.delay(0);
  hook.decide(() => ({ allowed: true }));
});

/** Installs a configuration named "gate" with the webhook given (the test webhook's URL and CA unless set). */
async function install(spec: Partial<WebhookSpec>): Promise<void> {
  const full: WebhookSpec = {
    name: "gate.gitward.test",
    url: `${hook.url}/validate`,
    caBundle: hook.certs.caBundle,
    ...spec,
  };
  const r = await call(ctx.sb, "POST", VWC, { body: webhookConfiguration("gate", [full]) });
  expect(r.status, r.text).toBe(201);
}

/** The gate gitward's webhook applies: images must be pinned by digest. */
function requirePinned(): void {
  hook.decide((r) => {
    const spec = (r.object?.["spec"] ?? {}) as { containers?: { image: string }[] };
    const bad = (spec.containers ?? []).filter((c) => !c.image.includes("@sha256:"));
    return bad.length === 0
      ? { allowed: true, warnings: ["images are pinned"] }
      : {
          allowed: false,
          status: {
            code: 403,
            message: `IMAGE_NOT_PINNED: ${bad.map((c) => c.image).join(", ")} is not pinned by digest`,
          },
        };
  });
}

describe("validating webhooks with kubectl", () => {
  it("kubectl run of an unpinned image is denied with the webhook's message; a pinned one is allowed with its warning", async () => {
    await install({});
    requirePinned();
    const denied = await ctx.k.run(["run", "bad", "--image=nginx:1.27", "-n", "x"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'admission webhook "gate.gitward.test" denied the request: IMAGE_NOT_PINNED: nginx:1.27 is not pinned by digest',
    );
    expect((await call(ctx.sb, "GET", "/api/v1/namespaces/x/pods/bad")).status).toBe(404);
    const review = hook.requests[0];
    expect(review).toMatchObject({
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      name: "bad",
      namespace: "x",
      operation: "CREATE",
      userInfo: { username: "admin" },
      dryRun: false,
      oldObject: null,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    });
    expect(review?.uid).toMatch(/^[0-9a-f-]{36}$/);
    // The webhook sees the object after defaulting: the port protocol kubectl did not send.
    const allowed = await ctx.k.run(["run", "good", `--image=${pinned}`, "--port=80", "-n", "x"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain("Warning: images are pinned");
    const seen = hook.requests[1]?.object as { spec: { containers: { ports: unknown[] }[] } };
    expect(seen.spec.containers[0]?.ports).toEqual([{ containerPort: 80, protocol: "TCP" }]);
    expect((await call(ctx.sb, "GET", "/api/v1/namespaces/x/pods/good")).status).toBe(200);
  });

  it("--dry-run=server sends dryRun true and stores nothing; a webhook with side effects is refused", async () => {
    await install({});
    requirePinned();
    const r = await ctx.k.run(["run", "dry", `--image=${pinned}`, "-n", "x", "--dry-run=server"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("pod/dry created (server dry run)");
    expect(hook.requests.map((q) => [q.dryRun, q["options"]])).toEqual([
      [
        true,
        { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1", dryRun: ["All"], fieldManager: "kubectl-run" },
      ],
    ]);
    expect((await call(ctx.sb, "GET", "/api/v1/namespaces/x/pods/dry")).status).toBe(404);
    const bad = await ctx.k.run(["run", "dry2", "--image=nginx", "-n", "x", "--dry-run=server"]);
    expect(bad.stderr).toContain("IMAGE_NOT_PINNED");
    // admissionregistration/v1 knows only side-effect-free webhooks.
    const some = webhookConfiguration("some", [
      { name: "some.gitward.test", url: hook.url, sideEffects: "Some" },
    ]);
    const refused = await call(ctx.sb, "POST", VWC, { body: some });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('webhooks[0].sideEffects: Unsupported value: \\"Some\\"');
  });

  it("with the webhook down and Fail, writes are refused except in namespaces the selector excludes; Ignore allows", async () => {
    const down = await startWebhook({ certs: hook.certs });
    const url = `${down.url}/validate`;
    await down.stop();
    await install({
      url,
      rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }],
      namespaceSelector: {
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] },
        ],
      },
    });
    const refused = await ctx.k.run(["create", "configmap", "c1", "-n", "x"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Internal error occurred: failed calling webhook "gate.gitward.test": failed to call webhook: Post',
    );
    expect(refused.stderr).toContain("connect: connection refused");
    const excluded = await ctx.k.run(["create", "configmap", "c1", "-n", "kube-system"]);
    expect(excluded.code, excluded.stderr).toBe(0);
    // Cluster-scoped objects are never exempted by a namespaceSelector (a namespace by its own labels).
    expect((await ctx.k.run(["create", "namespace", "y"])).stderr).toContain("failed calling webhook");
    await call(ctx.sb, "DELETE", `${VWC}/gate`);
    await install({
      url,
      failurePolicy: "Ignore",
      rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }],
    });
    const ignored = await ctx.k.run(["create", "configmap", "c2", "-n", "x"]);
    expect(ignored.code, ignored.stderr).toBe(0);
  });

  it("kubectl apply (client- and server-side) of a pinned pod is allowed; an unpinned one is denied", async () => {
    await install({});
    requirePinned();
    const pod = (name: string, image: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: x}\nspec:\n  containers: [{name: app, image: "${image}"}]\n`;
    const applied = await ctx.k.run(["apply", "-f", "-"], { input: pod("applied", pinned) });
    expect(applied.code, applied.stderr).toBe(0);
    const ssa = await ctx.k.run(["apply", "--server-side", "-f", "-"], { input: pod("ssa", pinned) });
    expect(ssa.code, ssa.stderr).toBe(0);
    expect(hook.requests.map((r) => [r.operation, (r["options"] as { kind: string }).kind])).toEqual([
      ["CREATE", "CreateOptions"],
      ["CREATE", "PatchOptions"],
    ]);
    const bad = await ctx.k.run(["apply", "--server-side", "-f", "-"], { input: pod("ssa", "nginx:latest") });
    expect(bad.stderr).toContain("IMAGE_NOT_PINNED: nginx:latest is not pinned by digest");
    expect(hook.requests.at(-1)).toMatchObject({
      operation: "UPDATE",
      oldObject: { metadata: { name: "ssa" } },
    });
  });

  it("matchPolicy Equivalent matches another version of the resource, Exact does not; a matchCondition error follows failurePolicy", async () => {
    hook.decide(() => ({ allowed: false, status: { message: "no" } }));
    const v1beta1 = [
      {
        operations: ["CREATE"],
        apiGroups: ["apps", "extensions"],
        apiVersions: ["v1beta1"],
        resources: ["deployments"],
      },
    ];
    await install({ rules: v1beta1 });
    expect((await ctx.k.run(["create", "deployment", "eq", "--image=nginx", "-n", "x"])).stderr).toContain(
      "denied the request: no",
    );
    await call(ctx.sb, "DELETE", `${VWC}/gate`);
    const exact = webhookConfiguration("gate", [
      { name: "gate.gitward.test", url: hook.url, caBundle: hook.certs.caBundle, rules: v1beta1 },
    ]);
    ((exact["webhooks"] as Record<string, unknown>[])[0] as Record<string, unknown>)["matchPolicy"] = "Exact";
    expect((await call(ctx.sb, "POST", VWC, { body: exact })).status).toBe(201);
    expect((await ctx.k.run(["create", "deployment", "eq", "--image=nginx", "-n", "x"])).code).toBe(0);
    await call(ctx.sb, "DELETE", `${VWC}/gate`);
    const broken = [{ name: "broken", expression: "object.spec.nothing.here == 1" }];
    await install({ matchConditions: broken });
    const failed = await ctx.k.run(["run", "mc", "--image=busybox", "-n", "x"]);
    expect(failed.stderr).toContain('failed calling webhook "gate.gitward.test": matchCondition "broken"');
    await call(ctx.sb, "DELETE", `${VWC}/gate`);
    await install({ matchConditions: broken, failurePolicy: "Ignore" });
    expect((await ctx.k.run(["run", "mc", "--image=busybox", "-n", "x"])).code).toBe(0);
    expect(hook.requests).toHaveLength(1);
  });

  it("a caBundle that did not sign the webhook's certificate fails the call closed", async () => {
    const other = await makeServingCertificates();
    await install({ caBundle: other.caBundle });
    const r = await ctx.k.run(["run", "ca", `--image=${pinned}`, "-n", "x"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("x509: certificate signed by unknown authority");
    expect(hook.requests).toHaveLength(0);
  });

  it("timeoutSeconds is honoured: a webhook slower than it fails the call within the timeout", async () => {
    await install({ timeoutSeconds: 1 });
    hook.delay(4000);
    const t0 = Date.now();
    const r = await ctx.k.run(["run", "slow", `--image=${pinned}`, "-n", "x"]);
    const took = Date.now() - t0;
    expect(r.stderr).toContain("context deadline exceeded");
    expect(r.stderr).toContain("?timeout=1s");
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(3500);
  });

  it("objectSelector and matchConditions skip the webhook; what they select is still denied", async () => {
    hook.decide(() => ({ allowed: false, status: { message: "no" } }));
    await install({
      objectSelector: { matchLabels: { gate: "on" } },
      matchConditions: [{ name: "not-skipped", expression: "object.metadata.name != 'skip-me'" }],
    });
    expect((await ctx.k.run(["run", "unlabelled", "--image=busybox", "-n", "x"])).code).toBe(0);
    const selected = await ctx.k.run(["run", "labelled", "--image=busybox", "--labels=gate=on", "-n", "x"]);
    expect(selected.stderr).toContain('admission webhook "gate.gitward.test" denied the request: no');
    expect((await ctx.k.run(["run", "skip-me", "--image=busybox", "--labels=gate=on", "-n", "x"])).code).toBe(
      0,
    );
    // Labelling an object the selector did not take: the old object did not match, the new one does.
    const label = await ctx.k.run(["label", "pod", "unlabelled", "gate=on", "-n", "x"]);
    expect(label.stderr).toContain("denied the request: no");
    expect(hook.requests.map((q) => [q.operation, q.name])).toEqual([
      ["CREATE", "labelled"],
      ["UPDATE", "unlabelled"],
    ]);
    expect(hook.requests[1]?.options).toMatchObject({ kind: "PatchOptions" });
    expect(hook.requests[1]?.oldObject).toMatchObject({ metadata: { name: "unlabelled" } });
  });

  it("a service clientConfig goes to the address the sandbox maps it to, verified for name.namespace.svc", async () => {
    ctx.sb.setWebhookService("gitward-system/gate", hook.url);
    requirePinned();
    await install({
      url: undefined,
      service: { namespace: "gitward-system", name: "gate", path: "/validate" },
    });
    const r = await ctx.k.run(["run", "svc", "--image=nginx", "-n", "x"]);
    expect(r.stderr).toContain("IMAGE_NOT_PINNED");
    await call(ctx.sb, "DELETE", `${VWC}/gate`);
    // The certificate does not name other.gitward-system.svc: refused, like a cluster would.
    ctx.sb.setWebhookService("gitward-system/other", hook.url);
    await install({ url: undefined, service: { namespace: "gitward-system", name: "other" } });
    const wrongName = await ctx.k.run(["run", "svc2", `--image=${pinned}`, "-n", "x"]);
    expect(wrongName.stderr).toContain("x509:");
    expect(hook.requests).toHaveLength(1);
  });

  it("subresources and deletes: a deployments/scale rule gets a Scale (and not the deployment), DELETE sends oldObject", async () => {
    await ctx.k.run(["create", "deployment", "web", `--image=${pinned}`, "-n", "x"]);
    hook.decide((r) => {
      const spec = (r.object?.["spec"] ?? {}) as { replicas?: number };
      return (spec.replicas ?? 0) > 5
        ? { allowed: false, status: { message: "at most 5 replicas" } }
        : { allowed: true };
    });
    await install({
      rules: [
        {
          operations: ["UPDATE"],
          apiGroups: ["apps"],
          apiVersions: ["v1"],
          resources: ["deployments/scale"],
        },
        { operations: ["DELETE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
      ],
    });
    const ok = await ctx.k.run(["scale", "deployment", "web", "--replicas=3", "-n", "x"]);
    expect(ok.code, ok.stderr).toBe(0);
    const big = await ctx.k.run(["scale", "deployment", "web", "--replicas=9", "-n", "x"]);
    expect(big.stderr).toContain("denied the request: at most 5 replicas");
    expect(hook.requests[0]).toMatchObject({
      kind: { group: "autoscaling", version: "v1", kind: "Scale" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
      subResource: "scale",
      object: { spec: { replicas: 3 } },
      oldObject: { spec: { replicas: 1 } },
    });
    // The main resource is not named by a deployments/scale rule.
    expect((await ctx.k.run(["set", "image", "deployment/web", `nginx=${pinned}`, "-n", "x"])).code).toBe(0);
    await ctx.k.run(["create", "configmap", "gone", "-n", "x"]);
    hook.decide(() => ({ allowed: false, status: { message: "keep it" } }));
    const del = await ctx.k.run(["delete", "configmap", "gone", "-n", "x"]);
    expect(del.stderr).toContain("denied the request: keep it");
    expect(hook.requests.at(-1)).toMatchObject({
      operation: "DELETE",
      object: null,
      oldObject: { metadata: { name: "gone" } },
      options: { kind: "DeleteOptions" },
    });
    expect((await call(ctx.sb, "GET", "/api/v1/namespaces/x/configmaps/gone")).status).toBe(200);
    expect(hook.requests).toHaveLength(3);
  });

  it("pods/ephemeralcontainers (kubectl debug's subresource) is admitted, and changes only the ephemeral containers", async () => {
    await ctx.k.run(["run", "dbg", `--image=${pinned}`, "-n", "x"]);
    hook.decide((r) => {
      const spec = (r.object?.["spec"] ?? {}) as { ephemeralContainers?: { image: string }[] };
      const bad = (spec.ephemeralContainers ?? []).some((c) => !c.image.includes("@sha256:"));
      return bad
        ? { allowed: false, status: { code: 403, message: "debug images must be pinned" } }
        : { allowed: true };
    });
    await install({
      rules: [{ operations: ["UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods/*"] }],
    });
    const path = "/api/v1/namespaces/x/pods/dbg/ephemeralcontainers";
    const type = "application/strategic-merge-patch+json";
    const add = (image: string): Record<string, unknown> => ({
      spec: {
        ephemeralContainers: [{ name: "debugger", image }],
        containers: [{ name: "dbg", image: "evil:latest" }],
      },
    });
    const denied = await call(ctx.sb, "PATCH", path, { body: add("busybox"), type });
    expect([denied.status, denied.json["message"]]).toEqual([
      403,
      'admission webhook "gate.gitward.test" denied the request: debug images must be pinned',
    ]);
    expect(hook.requests[0]).toMatchObject({
      subResource: "ephemeralcontainers",
      kind: { kind: "Pod" },
      operation: "UPDATE",
    });
    const added = await call(ctx.sb, "PATCH", path, { body: add(pinned), type });
    expect(added.status, added.text).toBe(200);
    const pod = (await call(ctx.sb, "GET", "/api/v1/namespaces/x/pods/dbg")).json as {
      spec: { containers: { image: string }[]; ephemeralContainers: unknown[] };
    };
    // The subresource ignores the container change smuggled into the same patch.
    expect(pod.spec.containers[0]?.image).toBe(pinned);
    expect(pod.spec.ephemeralContainers).toEqual([
      expect.objectContaining({ name: "debugger", image: pinned }),
    ]);
    const change = await call(ctx.sb, "PATCH", path, {
      body: {
        spec: { ephemeralContainers: [{ name: "debugger", image: `busybox@sha256:${"d".repeat(64)}` }] },
      },
      type,
    });
    expect(change.status).toBe(422);
    expect(change.text).toContain('existing ephemeral containers \\"debugger\\" may not be changed');
  });

  it("admission configurations themselves are never sent to webhooks, so the cluster can always recover", async () => {
    hook.decide(() => ({ allowed: false, status: { message: "no" } }));
    await install({ rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }] });
    const r = await ctx.k.run(["delete", "validatingwebhookconfiguration", "gate"]);
    expect(r.code, r.stderr).toBe(0);
    expect(hook.requests).toHaveLength(0);
  });
});
