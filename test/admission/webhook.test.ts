// The admission webhook over real HTTPS, with a real registry (images built by umoci, pushed by skopeo,
// signed in cosign's format), the sandbox API server holding an Application's inventory, and a real audit
// log: images, policy packs, CEL rules, the inventory guard with break-glass, audit mode, dry runs,
// ephemeral containers, malformed and oversize bodies, and the same verdict code as `gitward check`.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhook, type RunningWebhook } from "../../src/admission/start.js";
import { AuditLog } from "../../src/audit/writer.js";
import { ClusterClient } from "../../src/cluster/client.js";
import { parseTrustPolicy } from "../../src/config/load.js";
import type { TrustPolicy } from "../../src/config/types.js";
import { RegistryClient } from "../../src/images/client.js";
import { packInventory, PACKED_INVENTORY_KEY } from "../../src/reconcile/inventory.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { signImage } from "../../src/trust/image/sign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { runCli } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";
import { pod, post, review, type Reply } from "./support.js";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const OPERATOR = "system:serviceaccount:gitward-system:gitward";

let dir: string;
let registry: TestRegistry;
let sb: Sandbox;
let admin: ClusterClient;
let audit: AuditLog;
let hook: RunningWebhook;
let auditHook: RunningWebhook;
let trustFile: string;
let signed: string;
let unsignedTag: string;

function trustYaml(extra: string[] = []): string {
  const key = publicKey.export({ format: "pem", type: "spki" }).toString().trim().split("\n");
  return trustPolicyYaml([
    "  images:",
    `    registries: ["${registry.host}/shop/"]`,
    "    signers:",
    "      - name: ci",
    "        cosign: |",
    ...key.map((l) => `          ${l}`),
    "  policy:",
    "    packs: [pod-security-restricted, supply-chain]",
    "    custom: [team-label.yaml]",
    "  admission:",
    "    breakGlass: [sre-oncall]",
    ...extra,
  ]);
}

const TEAM_LABEL_POLICY = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: team-label }
spec:
  matchConstraints:
    resourceRules:
      - { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE", "UPDATE"] }
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: "every pod needs a team label"
`;

async function load(text: string, file: string): Promise<TrustPolicy> {
  await writeFile(file, text);
  return parseTrustPolicy(text, file);
}

const send = (body: string): Promise<Reply> => post(hook.url, hook.caBundle, body);
const auditRecords = async (): Promise<{ result: string; actor: { name: string }; reason?: string }[]> =>
  (await readFile(path.join(dir, "audit.jsonl"), "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { result: string; actor: { name: string }; reason?: string });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-admission-"));
  [registry, sb] = await Promise.all([startRegistry(), startSandbox()]);
  const client = new RegistryClient({ plainHTTP: true });
  const digest = await pushTestImage(registry, "shop/web", "v1", "web one");
  await signImage({ client, image: `${registry.host}/shop/web:v1`, key: privateKey, format: "bundle" });
  signed = `${registry.host}/shop/web:v1@${digest}`;
  await pushTestImage(registry, "shop/tool", "v1", "unsigned tool");
  unsignedTag = `${registry.host}/shop/tool:v1`;

  admin = ClusterClient.fromText(sb.kubeconfig);
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
  // The inventory an Application's reconcile left (reconcile/state.ts), listing Deployment shop/web.
  await admin.apply({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "gitward-app-shop", namespace: "shop", labels: { "gitward.dev/state": "true" } },
    binaryData: {
      [PACKED_INVENTORY_KEY]: packInventory([
        { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
      ]),
    },
  });
  await writeFile(path.join(dir, "team-label.yaml"), TEAM_LABEL_POLICY);
  trustFile = path.join(dir, "trust.yaml");
  const trust = await load(trustYaml(), trustFile);
  audit = await AuditLog.open({ path: path.join(dir, "audit.jsonl") });
  hook = await startWebhook({ trust, trustFile, registry: client, cluster: admin, audit });
  const auditFile = path.join(dir, "trust-audit.yaml");
  const auditTrust = await load(trustYaml(["    modes: { packs: audit }"]), auditFile);
  auditHook = await startWebhook({ trust: auditTrust, trustFile: auditFile, registry: client });
}, 60_000);

afterAll(async () => {
  await hook.stop();
  await auditHook.stop();
  await audit.close();
  admin.close();
  await Promise.all([registry.stop(), sb.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe("images", () => {
  it("denies an unsigned, tag-only image with the verdict codes of the check", async () => {
    const r = await send(review({ object: pod("tool", unsignedTag) }));
    expect(r.status).toBe(200);
    expect(r.json?.response?.allowed).toBe(false);
    expect(r.json?.response?.status?.code).toBe(403);
    expect(r.json?.response?.auditAnnotations?.["verdict"]).toBe("images/unsigned");
    expect(r.json?.response?.status?.message).toContain("[supply-chain/digest]");
  });

  it("allows a signed image pinned by digest, and answers it from the cache the second time", async () => {
    const r = await send(review({ object: pod("web", signed) }));
    expect(r.json?.response).toMatchObject({ allowed: true, status: { code: 200 } });
    const hits = hook.images?.hits ?? 0;
    const again = await send(review({ object: pod("web2", signed) }));
    expect(again.json?.response?.allowed).toBe(true);
    expect(hook.images?.hits).toBe(hits + 1);
  });
});

describe("policy packs and CEL rules", () => {
  it("denies a privileged container and allows the same pod without it", async () => {
    const bad = await send(review({ object: pod("p", signed, { securityContext: { privileged: true } }) }));
    expect(bad.json?.response?.allowed).toBe(false);
    expect(bad.json?.response?.status?.message).toContain("[pod-security/privileged]");
  });

  it("does not let the requester exempt its own object by annotation", async () => {
    const object = pod("p", signed, { securityContext: { privileged: true } });
    (object["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "pod-security/privileged: we need it",
    };
    const r = await send(review({ object }));
    expect(r.json?.response?.allowed).toBe(false);
    // The operator applies only what signed commits hold: there the annotation counts, as in `check`.
    const op = await send(review({ object, user: OPERATOR }));
    expect(op.json?.response?.status?.message ?? "").not.toContain("pod-security/privileged");
  });

  it("denies by the TrustPolicy's CEL rule and allows what satisfies it", async () => {
    const object = pod("nolabel", signed);
    (object["metadata"] as Record<string, unknown>)["labels"] = {};
    const r = await send(review({ object }));
    expect(r.json?.response?.allowed).toBe(false);
    expect(r.json?.response?.auditAnnotations?.["verdict"]).toBe("vap/team-label");
    expect(r.json?.response?.status?.message).toContain("every pod needs a team label");
  });

  it("checks ephemeral containers added through pods/ephemeralcontainers; status updates are not judged", async () => {
    const object = pod("web", signed);
    (object["spec"] as Record<string, unknown>)["ephemeralContainers"] = [
      { name: "debug", image: unsignedTag, securityContext: { privileged: true } },
    ];
    const r = await send(
      review({
        object,
        oldObject: pod("web", signed),
        operation: "UPDATE",
        subResource: "ephemeralcontainers",
      }),
    );
    expect(r.json?.response?.allowed).toBe(false);
    expect(r.json?.response?.status?.message).toContain('ephemeralContainer "debug"');
    const status = await send(
      review({ object, oldObject: pod("web", signed), operation: "UPDATE", subResource: "status" }),
    );
    expect(status.json?.response?.allowed).toBe(true);
  });

  it("in audit mode allows with a warning and counts it", async () => {
    const before = await auditHook.metrics.auditCount();
    const r = await post(
      auditHook.url,
      auditHook.caBundle,
      review({ object: pod("p", signed, { securityContext: { privileged: true } }) }),
    );
    expect(r.json?.response?.allowed).toBe(true);
    expect(r.json?.response?.warnings?.join("\n")).toContain("[pod-security/privileged]");
    expect(await auditHook.metrics.auditCount()).toBe(before + 1);
    // Images stay enforced: the mode is per rule set.
    const img = await post(auditHook.url, auditHook.caBundle, review({ object: pod("t", unsignedTag) }));
    expect(img.json?.response?.allowed).toBe(false);
  });
});

describe("only gitward changes what gitward manages", () => {
  const deployment = (replicas: number) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web", team: "shop" } },
        spec: pod("x", signed)["spec"] as object,
      },
    },
  });
  const update = (user: string, groups: string[] = [], dryRun = false) =>
    review({
      object: deployment(3),
      oldObject: deployment(1),
      operation: "UPDATE",
      user,
      groups,
      dryRun,
      kind: { group: "apps", version: "v1", kind: "Deployment" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
    });

  it("allows the operator and denies anyone else", async () => {
    expect((await send(update(OPERATOR))).json?.response?.allowed).toBe(true);
    const r = await send(update("alice"));
    expect(r.json?.response?.allowed).toBe(false);
    expect(r.json?.response?.auditAnnotations?.["verdict"]).toBe("admission/managed-by-gitward");
    expect(r.json?.response?.status?.message).toContain("Application shop/shop");
    const del = await send(
      review({
        oldObject: deployment(1),
        operation: "DELETE",
        kind: { group: "apps", version: "v1", kind: "Deployment" },
        resource: { group: "apps", version: "v1", resource: "deployments" },
      }),
    );
    expect(del.json?.response?.allowed).toBe(false);
    // An object no inventory lists is anyone's to change.
    const other = deployment(2);
    other.metadata.name = "not-managed";
    const free = await send(
      review({
        object: other,
        oldObject: other,
        operation: "UPDATE",
        kind: { group: "apps", version: "v1", kind: "Deployment" },
        resource: { group: "apps", version: "v1", resource: "deployments" },
      }),
    );
    expect(free.json?.response?.allowed).toBe(true);
  });

  it("allows a break-glass group, with an audit record and an Event; a dry run records nothing", async () => {
    const before = (await auditRecords()).length;
    const dry = await send(update("bob", ["sre-oncall"], true));
    expect(dry.json?.response?.allowed).toBe(true);
    expect(await auditRecords()).toHaveLength(before);

    const r = await send(update("bob", ["sre-oncall"]));
    expect(r.json?.response?.allowed).toBe(true);
    expect(r.json?.response?.warnings?.join("\n")).toContain("break-glass");
    const records = await auditRecords();
    expect(records).toHaveLength(before + 1);
    expect(records.at(-1)).toMatchObject({
      result: "break-glass",
      actor: { name: "bob" },
      reason: "BREAK_GLASS_UPDATE",
    });
    const events = await admin.list("v1", "Event", { namespace: "shop" });
    expect(events.some((e) => e["reason"] === "BreakGlass" && String(e["message"]).includes("bob"))).toBe(
      true,
    );
  });
});

describe("hostile requests", () => {
  it("answers malformed reviews with 400 and other methods with 405, and keeps serving", async () => {
    expect((await send("{not json")).status).toBe(400);
    expect((await send(JSON.stringify({ apiVersion: "v1", kind: "Pod" }))).status).toBe(400);
    expect(
      (
        await send(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: { uid: "x" },
          }),
        )
      ).status,
    ).toBe(400);
    expect((await post(hook.url, hook.caBundle, "", { method: "GET" })).status).toBe(405);
    expect((await send(review({ object: pod("web", signed) }))).json?.response?.allowed).toBe(true);
  });

  it("refuses a body over the limit without reading it", async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 0x20);
    const r = await post(hook.url, hook.caBundle, big).catch((err: unknown) => ({
      status: -1,
      body: String(err),
    }));
    // The server answers 413 and closes; a client still writing may see the reset instead.
    expect([413, -1]).toContain(r.status);
    expect((await send(review({ object: pod("web", signed) }))).json?.response?.allowed).toBe(true);
  });
});

describe("one verdict code", () => {
  it("gives the same codes from `gitward check` as from the webhook for the same bad object", async () => {
    const repo = path.join(dir, "repo");
    await mkdir(path.join(repo, ".git"), { recursive: true });
    const object = pod("tool", unsignedTag, { securityContext: { privileged: true } });
    await writeFile(path.join(repo, "pod.json"), JSON.stringify(object));
    const cli = await runCli(["check", repo, "--trust", trustFile, "--plain-http", "-o", "json"]);
    expect(cli.code).toBe(1);
    const checked = JSON.parse(cli.stdout) as {
      report: { findings: { ruleId: string; severity: string }[] };
    };
    const failing = (f: { severity: string }) => f.severity === "high" || f.severity === "critical";
    const codes = (text: string) => [...text.matchAll(/\[([a-z0-9./-]+)\]/g)].map((m) => m[1]).sort();
    const r = await send(review({ object }));
    const denied = codes(r.json?.response?.status?.message ?? "");
    expect(denied.length).toBeGreaterThan(1);
    // At or above failOn (high): the denial; below it: warnings, as `check` passes them.
    expect(denied).toEqual(
      checked.report.findings
        .filter(failing)
        .map((f) => f.ruleId)
        .sort(),
    );
    expect(codes((r.json?.response?.warnings ?? []).join("\n"))).toEqual(
      checked.report.findings
        .filter((f) => !failing(f))
        .map((f) => f.ruleId)
        .sort(),
    );
  });
});
