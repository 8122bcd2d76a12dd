// The parts of admission that hold state: the CA and certificate kept in a Secret (a restart serves from
// the same CA; a CA rotation patches the ValidatingWebhookConfiguration's bundle), the inventory guard
// failing closed when inventories cannot be read, a scale of a managed Deployment, and the TrustPolicy's
// exemptions with their expiry.
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhook } from "../../src/admission/start.js";
import { RegistryClient } from "../../src/images/client.js";
import { startDribblingRegistry } from "../support/oci-hostile.js";
import { repoRoot } from "../support/tools.js";
import { readYamlObjects } from "../reconcile/harness.js";
import path from "node:path";
import { AdmissionDecider } from "../../src/admission/decide.js";
import { loadPolicies } from "../../src/policy/vap.js";
import { InventoryIndex } from "../../src/admission/inventory-index.js";
import { parseReview } from "../../src/admission/review.js";
import { ManagedTls } from "../../src/admission/rotation.js";
import { SecretTlsStore } from "../../src/admission/secret-store.js";
import { patchCaBundle, webhookConfiguration } from "../../src/admission/webhook-config.js";
import { ClusterClient } from "../../src/cluster/client.js";
import { parseTrustPolicy } from "../../src/config/load.js";
import { packInventory, PACKED_INVENTORY_KEY } from "../../src/reconcile/inventory.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";
import { pod, post, review, type ReviewInput } from "./support.js";

let sb: Sandbox;
let admin: ClusterClient;

beforeAll(async () => {
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gitward-system" } });
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
});
afterAll(async () => {
  admin.close();
  await sb.stop();
});

const IMAGE = `registry.example.com/shop/web@sha256:${"c".repeat(64)}`;
const trust = (extra: string[] = []) =>
  parseTrustPolicy(
    trustPolicyYaml([
      "  images: { registries: ['registry.example.com/'] }",
      "  policy: { packs: [pod-security-restricted, supply-chain] }",
      ...extra,
    ]),
    "trust.yaml",
  );
const request = (input: ReviewInput) => {
  const parsed = parseReview(JSON.parse(review(input)));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.request;
};

describe("certificates in a Secret", () => {
  it("keeps the CA across restarts and patches a rotated bundle into the configuration", async () => {
    const store = new SecretTlsStore(admin, "gitward-system", "gitward-webhook-tls");
    const first = await ManagedTls.start({
      hosts: ["gitward-webhook.gitward-system.svc"],
      store,
      propagationMs: 0,
    });
    await admin.apply(
      webhookConfiguration({ url: "https://127.0.0.1:8443/validate", caBundle: first.caBundle() }),
    );
    const again = await ManagedTls.start({
      hosts: ["gitward-webhook.gitward-system.svc"],
      store,
      publishBundle: (b) => patchCaBundle(admin, "gitward", b),
      propagationMs: 0,
    });
    expect(again.caBundle()).toBe(first.caBundle());
    expect(again.current().certPem).toBe(first.current().certPem);
    await again.rotateCa();
    const live = await admin.get({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      name: "gitward",
    });
    const hooks = live?.["webhooks"] as { clientConfig: { caBundle: string } }[];
    for (const h of hooks) {
      const bundle = Buffer.from(h.clientConfig.caBundle, "base64").toString();
      expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(bundle.startsWith(first.caBundle())).toBe(true);
    }
    await again.tick();
    expect((await store.load())?.signer).toBe(1);
  });
});

describe("inventory guard", () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
  };
  const scale = (user: string) =>
    request({
      object: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "web", namespace: "shop" },
        spec: { replicas: 5 },
      },
      oldObject: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "web", namespace: "shop" },
        spec: { replicas: 1 },
      },
      operation: "UPDATE",
      user,
      subResource: "scale",
      kind: { group: "autoscaling", version: "v1", kind: "Scale" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
    });

  it("guards deployments/scale of a managed Deployment", async () => {
    await admin.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "gitward-app-web", namespace: "shop", labels: { "gitward.dev/state": "true" } },
      binaryData: {
        [PACKED_INVENTORY_KEY]: packInventory([
          { ...deployment.metadata, apiVersion: "apps/v1", kind: "Deployment" },
        ]),
      },
    });
    const decider = new AdmissionDecider({
      trust: trust(),
      customRules: [],
      inventory: new InventoryIndex({ cluster: admin }),
    });
    const denied = await decider.decide(scale("alice"));
    expect(denied).toMatchObject({ allowed: false, code: "admission/managed-by-gitward" });
    expect((await decider.decide(scale("system:serviceaccount:gitward-system:gitward"))).allowed).toBe(true);
  });

  it("denies changes by others when the inventories cannot be read, and lets the operator through", async () => {
    // A cluster that refuses every request: nothing is known about what gitward manages.
    const broken = ClusterClient.fromText(sb.kubeconfigFor("not-a-valid-token"));
    try {
      const decider = new AdmissionDecider({
        trust: trust(),
        customRules: [],
        inventory: new InventoryIndex({ cluster: broken }),
      });
      expect(await decider.decide(scale("alice"))).toMatchObject({
        allowed: false,
        code: "admission/inventory-unavailable",
      });
      expect((await decider.decide(scale("system:serviceaccount:gitward-system:gitward"))).allowed).toBe(
        true,
      );
    } finally {
      broken.close();
    }
  });
});

describe("TrustPolicy exemptions", () => {
  const privileged = () =>
    request({ object: pod("node-agent", IMAGE, { securityContext: { privileged: true } }) });

  it("exempts the named object until its expiry, and not after", async () => {
    const at = (now: string) =>
      new AdmissionDecider({
        trust: trust([
          "  admission:",
          "    exemptions:",
          "      - { rule: pod-security/privileged, namespace: shop, name: node-agent, reason: needs the host, expires: '2027-01-31' }",
        ]),
        customRules: [],
        now: () => new Date(now),
      });
    const before = await at("2027-01-31T23:00:00Z").decide(privileged());
    expect(before.allowed).toBe(true);
    expect(before.warnings.join("\n")).toContain("exempted until 2027-01-31");
    const after = await at("2027-02-01T00:00:01Z").decide(privileged());
    expect(after).toMatchObject({ allowed: false, code: "pod-security/privileged" });
    expect(after.warnings.join("\n")).toContain("expired");
    // Another object with the same rule is not exempted.
    const other = request({ object: pod("other", IMAGE, { securityContext: { privileged: true } }) });
    expect((await at("2027-01-01T00:00:00Z").decide(other)).allowed).toBe(false);
  });
});

describe("a registry that stalls", () => {
  it("is answered with a denial within the webhook's deadline, not left to the API server's timeout", async () => {
    const slow = await startDribblingRegistry(200);
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      format: "pem",
      type: "spki",
    });
    const hook = await startWebhook({
      trust: parseTrustPolicy(
        trustPolicyYaml([
          "  images:",
          `    registries: ["${slow.host}/"]`,
          `    signers: [{ name: ci, cosign: ${JSON.stringify(key.toString())} }]`,
          "  policy: { packs: [supply-chain] }",
        ]),
        "trust.yaml",
      ),
      registry: new RegistryClient({ plainHTTP: true }),
      limits: { decisionTimeoutMs: 400 },
    });
    try {
      const t = performance.now();
      const r = await post(
        hook.url,
        hook.caBundle,
        review({ object: pod("web", `${slow.host}/shop/web@sha256:${"d".repeat(64)}`) }),
      );
      expect(performance.now() - t).toBeLessThan(2_000);
      expect(r.json?.response).toMatchObject({
        allowed: false,
        auditAnnotations: { verdict: "admission/timeout" },
      });
    } finally {
      await hook.stop();
      await slow.stop();
    }
  });
});

describe("deploy/webhook/webhook.yaml", () => {
  it("grants the webhook what it uses and no more: its Secret, the configuration, inventories, Events", async () => {
    for (const o of await readYamlObjects(path.join(repoRoot, "deploy", "webhook", "webhook.yaml")))
      if (o.kind !== "Deployment") await admin.apply(o);
    await admin.apply(webhookConfiguration({ url: "https://127.0.0.1:1/validate", caBundle: "x" }));
    const hook = ClusterClient.fromText(
      sb.kubeconfigFor(sb.serviceAccountToken("gitward-system", "gitward-webhook")),
    );
    try {
      const store = new SecretTlsStore(hook, "gitward-system", "gitward-webhook-tls");
      const tls = await ManagedTls.start({
        hosts: ["gitward-webhook.gitward-system.svc"],
        store,
        publishBundle: (b) => patchCaBundle(hook, "gitward", b),
        propagationMs: 0,
      });
      const before = (await store.load())?.cas.length ?? 0;
      await tls.rotateCa();
      expect((await store.load())?.cas).toHaveLength(before + 1);
      // The inventory of "guards deployments/scale" above lists shop/web.
      const index = new InventoryIndex({ cluster: hook });
      expect(
        await index.lookup({ group: "apps", resource: "deployments", namespace: "shop", name: "web" }),
      ).toBeDefined();
      await hook.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "web.test", namespace: "shop" },
        involvedObject: { kind: "Deployment", namespace: "shop", name: "web" },
        reason: "BreakGlass",
        message: "test",
      });
      // Not another Secret, and not reading Secrets at large.
      await expect(
        new SecretTlsStore(hook, "gitward-system", "another-secret").save((await store.load())!),
      ).rejects.toThrow(/forbidden/i);
      await expect(hook.list("v1", "Secret", { namespace: "gitward-system" })).rejects.toThrow(/forbidden/i);
    } finally {
      hook.close();
    }
  });
});

describe("CEL rules see the real request", () => {
  it("binds oldObject and request.userInfo of the review, not a CREATE by gitward", async () => {
    const { rules, errors } = loadPolicies(
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: no-scale-down }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: [apps], apiVersions: [v1], resources: [deployments], operations: [CREATE, UPDATE] }
  validations:
    - expression: "oldObject == null || object.spec.replicas >= oldObject.spec.replicas || request.userInfo.username == 'sre'"
      message: "only sre scales a Deployment down"
`,
      "no-scale-down.yaml",
    );
    expect(errors).toEqual([]);
    const decider = new AdmissionDecider({ trust: trust(), customRules: rules });
    const d = (replicas: number) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "shop" },
      spec: { replicas, selector: {}, template: pod("x", IMAGE) },
    });
    const update = (from: number, to: number, user: string) =>
      request({
        object: d(to),
        oldObject: d(from),
        operation: "UPDATE",
        user,
        kind: { group: "apps", version: "v1", kind: "Deployment" },
        resource: { group: "apps", version: "v1", resource: "deployments" },
      });
    expect(await decider.decide(update(3, 1, "alice"))).toMatchObject({
      allowed: false,
      code: "vap/no-scale-down",
    });
    expect((await decider.decide(update(1, 3, "alice"))).allowed).toBe(true);
    expect((await decider.decide(update(3, 1, "sre"))).allowed).toBe(true);
  });
});
