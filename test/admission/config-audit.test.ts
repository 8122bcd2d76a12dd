// The generated ValidatingWebhookConfiguration (fail closed, NoneOnDryRun, bounded timeout, kube-system and
// gitward's namespace excluded, matchConditions that compile as CEL and skip what they must), its CA bundle
// patched after a rotation, the CLI that prints it, and `gitward audit cluster` over the sandbox: live
// objects the policy would now deny, in text, JSON and SARIF, with the webhook's verdict codes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { celEnv, parse, plan } from "@bufbuild/cel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { spawn } from "node:child_process";
import { issueCa, issueServing } from "../../src/admission/certs.js";
import { patchCaBundle, webhookConfiguration } from "../../src/admission/webhook-config.js";
import { ClusterClient } from "../../src/cluster/client.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { cliEntry, runCli } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";
import { pod, post, review } from "./support.js";

let dir: string;
let sb: Sandbox;
let admin: ClusterClient;
let kubeconfig: string;
let caPem: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-vwc-"));
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  kubeconfig = path.join(dir, "kubeconfig");
  await sb.writeKubeconfig(kubeconfig);
  caPem = (await issueCa(86_400_000)).certPem;
});
afterAll(async () => {
  admin.close();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

type Webhook = {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  matchConditions: { name: string; expression: string }[];
  rules: { resources: string[]; operations: string[] }[];
  clientConfig: {
    caBundle: string;
    url?: string;
    service?: { namespace: string; name: string; path: string };
  };
};

describe("ValidatingWebhookConfiguration", () => {
  it("fails closed, has no side effects on dry runs and spares the namespaces that must recover", () => {
    const vwc = webhookConfiguration({
      service: { namespace: "gitward-system", name: "gitward-webhook" },
      caBundle: caPem,
    });
    const hooks = vwc["webhooks"] as Webhook[];
    expect(hooks.map((h) => h.name)).toEqual(["objects.gitward.dev", "inventory.gitward.dev"]);
    for (const h of hooks) {
      expect(h).toMatchObject({ failurePolicy: "Fail", sideEffects: "NoneOnDryRun", timeoutSeconds: 5 });
      expect(h.namespaceSelector.matchExpressions[0]).toEqual({
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: ["kube-system", "gitward-system"],
      });
      expect(Buffer.from(h.clientConfig.caBundle, "base64").toString()).toBe(caPem);
      expect(h.clientConfig.service).toMatchObject({ path: "/validate" });
    }
    expect(hooks[0]?.rules.flatMap((r) => r.resources)).toEqual(
      expect.arrayContaining(["pods", "pods/ephemeralcontainers", "deployments", "cronjobs", "jobs"]),
    );
    expect(hooks[1]?.rules[0]?.operations).toEqual(["UPDATE", "DELETE"]);
  });

  it("has matchConditions that compile and skip leases, events and status", () => {
    const hooks = webhookConfiguration({ url: "https://127.0.0.1:8443/validate", caBundle: caPem })[
      "webhooks"
    ] as Webhook[];
    const conds = hooks[1]?.matchConditions ?? [];
    const req = (group: string, resource: string, subResource = "", username = "alice") =>
      new Map<string, unknown>([
        [
          "request",
          new Map<string, unknown>([
            [
              "resource",
              new Map([
                ["group", group],
                ["resource", resource],
              ]),
            ],
            ["subResource", subResource],
            ["userInfo", new Map([["username", username]])],
          ]),
        ],
      ]);
    const all = (bindings: Map<string, unknown>) =>
      conds.every((c) => plan(celEnv(), parse(c.expression))(Object.fromEntries(bindings) as never) === true);
    expect(all(req("apps", "deployments"))).toBe(true);
    expect(all(req("coordination.k8s.io", "leases"))).toBe(false);
    expect(all(req("", "events"))).toBe(false);
    expect(all(req("apps", "deployments", "status"))).toBe(false);
    expect(all(req("gitward.dev", "applications", "", "system:serviceaccount:gitward-system:gitward"))).toBe(
      false,
    );
  });

  it("refuses a timeout outside 1–30 and a URL with a query", () => {
    expect(() =>
      webhookConfiguration({ url: "https://h/validate", caBundle: caPem, timeoutSeconds: 31 }),
    ).toThrow(/1 to 30/);
    expect(() => webhookConfiguration({ url: "https://h/validate?x=1", caBundle: caPem })).toThrow(/query/);
    expect(() => webhookConfiguration({ caBundle: caPem })).toThrow(/exactly one/);
    // Names end up inside CEL string literals: a quote is refused, not interpolated.
    expect(() =>
      webhookConfiguration({
        url: "https://h/validate",
        caBundle: caPem,
        systemNamespace: "x' || true || '",
      }),
    ).toThrow(/not a namespace/);
    expect(() =>
      webhookConfiguration({ url: "https://h/validate", caBundle: caPem, operator: "a' || true || 'b" }),
    ).toThrow(/user name/);
  });

  it("is printed by `gitward webhook config`, and a rotated bundle is patched into it", async () => {
    const caFile = path.join(dir, "ca.pem");
    await writeFile(caFile, caPem);
    const out = await runCli([
      "webhook",
      "config",
      "--service",
      "gitward-system/gitward-webhook",
      "--ca-bundle",
      caFile,
      "--timeout",
      "7",
    ]);
    expect(out.code).toBe(0);
    const vwc = parseYaml(out.stdout) as Record<string, unknown>;
    expect((vwc["webhooks"] as Webhook[])[0]?.timeoutSeconds).toBe(7);
    const bad = await runCli([
      "webhook",
      "config",
      "--url",
      "https://x/validate",
      "--ca-bundle",
      caFile,
      "--timeout",
      "0",
    ]);
    expect(bad.code).toBe(2);

    await admin.apply(vwc as never);
    const next = (await issueCa(86_400_000)).certPem;
    await patchCaBundle(admin, "gitward", caPem + next);
    const live = await admin.get({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      name: "gitward",
    });
    for (const h of live?.["webhooks"] as Webhook[])
      expect(Buffer.from(h.clientConfig.caBundle, "base64").toString()).toBe(caPem + next);
    // The sandbox calls webhooks for real: a configuration left behind pointing at no service (and failing
    // closed) would refuse every later write in this file.
    await admin.delete({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      name: "gitward",
    });
  });
});

describe("gitward audit cluster", () => {
  it("lists the live objects the policy would now deny, in text, JSON and SARIF", async () => {
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    const image = `registry.example.com/shop/web@sha256:${"b".repeat(64)}`;
    await admin.apply(pod("good", image) as never);
    await admin.apply(pod("bad", image, { securityContext: { privileged: true } }) as never);
    const trust = path.join(dir, "trust.yaml");
    await writeFile(
      trust,
      trustPolicyYaml([
        "  images: { registries: ['registry.example.com/'] }",
        "  policy: { packs: [pod-security-restricted, supply-chain] }",
      ]),
    );
    const auditCluster = (...extra: string[]) =>
      runCli(["audit", "cluster", "--trust", trust, "--kubeconfig", kubeconfig, ...extra]);
    const json = await auditCluster("-o", "json");
    expect(json.code).toBe(1);
    const gate = JSON.parse(json.stdout) as {
      passed: boolean;
      report: { findings: { ruleId: string; object: { name: string } }[] };
    };
    expect(gate.passed).toBe(false);
    const denied = gate.report.findings.filter((f) => f.ruleId === "pod-security/privileged");
    expect(denied.map((f) => f.object.name)).toEqual(["bad"]);
    expect(gate.report.findings.some((f) => f.object.name === "good")).toBe(false);
    const text = await auditCluster();
    expect(text.stdout).toContain("pod-security/privileged");
    const sarif = await auditCluster("-o", "sarif");
    expect((JSON.parse(sarif.stdout) as { version: string }).version).toBe("2.1.0");
  });
});

describe("gitward webhook", () => {
  it("serves /validate from certificate files and stops on SIGTERM", async () => {
    const ca = await issueCa(86_400_000);
    const serving = await issueServing(ca, ["127.0.0.1"], 3_600_000);
    await writeFile(path.join(dir, "w.crt"), serving.certPem);
    await writeFile(path.join(dir, "w.key"), serving.keyPem);
    const trust = path.join(dir, "trust-serve.yaml");
    await writeFile(
      trust,
      trustPolicyYaml([
        "  images: { registries: ['registry.example.com/'] }",
        "  policy: { packs: [pod-security-restricted, supply-chain] }",
      ]),
    );
    const child = spawn(
      process.execPath,
      [
        cliEntry,
        "webhook",
        "--trust",
        trust,
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--tls-cert",
        path.join(dir, "w.crt"),
        "--tls-key",
        path.join(dir, "w.key"),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
        const m = /listening on (\S+)/.exec(err);
        if (m?.[1] !== undefined) resolve(m[1]);
      });
      child.on("exit", () => {
        reject(new Error(err));
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const image = `registry.example.com/shop/web@sha256:${"e".repeat(64)}`;
      const r = await post(
        url,
        ca.certPem,
        review({ object: pod("p", image, { securityContext: { privileged: true } }) }),
      );
      expect(r.json?.response?.allowed).toBe(false);
      expect(r.json?.response?.status?.message).toContain("[pod-security/privileged]");
      expect(err).toContain("the inventory guard is off");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
