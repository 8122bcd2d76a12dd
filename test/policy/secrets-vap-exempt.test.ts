// The repository secret scanner (each detector, the allowlist, no secret text in findings), the
// annotation exemptions, and custom ValidatingAdmissionPolicy rules taken unchanged from the Kubernetes docs.
/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   test data: the tests mutate deep, untyped pod specs in place, as YAML would give them. */
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkRevision } from "../../src/policy/check.js";
import { scanSecrets, scanText } from "../../src/policy/packs/secrets.js";
import { loadPolicies } from "../../src/policy/vap.js";
import { deployment, denyAll, mf } from "./support.js";

const fixtures = path.join(import.meta.dirname, "../fixtures/check");

// Made-up credentials in the issuers' formats, assembled at run time so this file holds none.
const SECRETS: Record<string, string> = {
  "a private key": ["-----BEGIN", "OPENSSH PRIVATE KEY-----"].join(" "),
  "an AWS access key id": "AKIA" + "Q3EGRIDZXN5ABCDE",
  "a GitHub token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
  "a GitLab token": "glpat-" + "x1Y2z3A4b5C6d7E8f9G0",
  "a Slack token": "xoxb-" + "123456789012-abcdefABCDEF",
  "a Stripe secret key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
  "a Google API key": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
  "an npm token": "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
};

describe("secret scanner", () => {
  for (const [what, secret] of Object.entries(SECRETS)) {
    it(`finds ${what} without repeating it`, () => {
      const found = scanText(`# config\nvalue: ${secret}\n`, "x.yaml");
      expect(found.map((f) => [f.message, f.origin.line])).toEqual([[`x.yaml:2 contains ${what}`, 2]]);
      expect(JSON.stringify(found)).not.toContain(secret);
    });
  }

  it("finds a high-entropy value in a secret-named field and ignores placeholders and prose", () => {
    expect(scanText('db_password: "q8Zt3Lw9Xv2Rk7Pm4Hn6Bj1"\n', "a.env").map((f) => f.ruleId)).toEqual([
      "secrets/high-entropy",
    ]);
    expect(
      scanText(
        "password: ${DB_PASSWORD}\ntoken: changeme-changeme-changeme\nname: my-application-frontend-1\n",
        "a.env",
      ),
    ).toEqual([]);
  });

  it("a line with the allow marker and allowlisted files are not reported", async () => {
    expect(scanText(`key: ${SECRETS["a GitHub token"]!} # gitward:allow-secret test value\n`, "a")).toEqual(
      [],
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-scan-"));
    try {
      await mkdir(path.join(dir, ".gitward"));
      await mkdir(path.join(dir, "docs"));
      await writeFile(path.join(dir, "docs/example.md"), `token: ${SECRETS["a GitHub token"]!}\n`);
      await writeFile(path.join(dir, "app.env"), `AWS_KEY=${SECRETS["an AWS access key id"]!}\n`);
      expect((await scanSecrets(dir)).map((f) => f.origin.file).sort()).toEqual([
        "app.env",
        "docs/example.md",
      ]);
      await writeFile(path.join(dir, ".gitward/secrets-allowlist"), "# public examples\ndocs/**\n");
      expect((await scanSecrets(dir)).map((f) => f.origin.file)).toEqual(["app.env"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("exemptions", () => {
  it("an exemption with a reason suppresses that rule on that object and is listed", async () => {
    const d = deployment("a", (p) => (p["hostNetwork"] = true));
    (d["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "pod-security/host-namespaces: the CNI agent needs the host network",
    };
    const report = await checkRevision({
      manifests: [mf(d), mf(denyAll())],
      packs: ["pod-security-baseline"],
    });
    expect(report.findings).toEqual([]);
    expect(report.exemptions).toMatchObject([
      {
        ruleId: "pod-security/host-namespaces",
        reason: "the CNI agent needs the host network",
        object: { name: "a" },
        suppressed: 1,
      },
    ]);
  });

  it("an exemption without a reason exempts nothing and is itself a finding", async () => {
    const d = deployment("a", (p) => (p["hostNetwork"] = true));
    (d["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "pod-security/host-namespaces:",
    };
    const report = await checkRevision({ manifests: [mf(d)], packs: ["pod-security-baseline"] });
    expect(report.findings.map((f) => f.ruleId).sort()).toEqual([
      "gitward/invalid-exemption",
      "pod-security/host-namespaces",
    ]);
    expect(report.exemptions).toEqual([]);
  });

  it("an exemption on another object or for another rule does not apply", async () => {
    const d = deployment("a", (p) => (p["hostNetwork"] = true));
    (d["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "pod-security/privileged: not this one",
    };
    const report = await checkRevision({ manifests: [mf(d)], packs: ["pod-security-baseline"] });
    expect(report.findings.map((f) => f.ruleId)).toEqual(["pod-security/host-namespaces"]);
    expect(report.exemptions).toMatchObject([{ ruleId: "pod-security/privileged", suppressed: 0 }]);
  });
});

describe("ValidatingAdmissionPolicy rules (Kubernetes documentation examples, unchanged)", () => {
  const load = async (name: string): Promise<{ file: string; text: string }> => ({
    file: `vap/${name}`,
    text: await readFile(path.join(fixtures, "vap", name), "utf8"),
  });

  it("demo-policy: object.spec.replicas <= 5", async () => {
    const policy = await load("demo-policy.yaml");
    const six = deployment("six");
    (six["spec"] as Record<string, unknown>)["replicas"] = 6;
    const report = await checkRevision({
      manifests: [mf(six), mf(deployment("two"))],
      packs: [],
      customPolicies: [policy],
    });
    expect(report.errors).toEqual([]);
    expect(report.findings.map((f) => [f.ruleId, f.object?.name, f.message])).toEqual([
      ["vap/demo-policy.example.com", "six", "failed expression: object.spec.replicas <= 5"],
    ]);
  });

  it("variables and messageExpression: images must match the namespace's environment", async () => {
    const policy = await load("image-matches-namespace-environment.yaml");
    const ns = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { environment: "staging" } },
    };
    const bad = deployment("bad", (p) => (p["containers"][0].image = "prod.example.com/app:1"));
    const good = deployment("good", (p) => (p["containers"][0].image = "staging.example.com/app:1"));
    const exempt = deployment("exempt", (p) => (p["containers"][0].image = "prod.example.com/app:1"));
    (exempt["metadata"] as { labels: Record<string, string> }).labels["exempt"] = "true";
    const report = await checkRevision({
      manifests: [mf(ns), mf(bad), mf(good), mf(exempt)],
      packs: [],
      customPolicies: [policy],
    });
    expect(report.errors).toEqual([]);
    expect(report.findings.map((f) => [f.object?.name, f.message])).toEqual([
      ["bad", "only staging images are allowed in namespace shop"],
    ]);
  });

  it("matchConditions select what is validated", async () => {
    const policy = await load("match-conditions.yaml");
    const cm = (name: string, namespace: string): Record<string, unknown> => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace },
    });
    const role = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "demo-role", namespace: "shop" },
      rules: [],
    };
    const report = await checkRevision({
      manifests: [mf(cm("demo-a", "shop")), mf(cm("demo-b", "demo")), mf(cm("other", "shop")), mf(role)],
      packs: [],
      customPolicies: [policy],
    });
    expect(report.findings.map((f) => f.object?.name)).toEqual(["demo-a"]);
  });

  it("a policy that does not compile is an error naming the file", () => {
    const r = loadPolicies(
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  validations:\n    - expression: 'object.spec.('\n",
      "bad.yaml",
    );
    expect(r.rules).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(["BAD_EXPRESSION"]);
    expect(r.errors[0]!.message).toContain("bad.yaml:1 (p)");
  });

  it("an evaluation error fails closed under failurePolicy Fail", async () => {
    const text = (await load("demo-policy.yaml")).text;
    const noReplicas = deployment("x");
    delete (noReplicas["spec"] as Record<string, unknown>)["replicas"];
    const report = await checkRevision({
      manifests: [mf(noReplicas)],
      packs: [],
      customPolicies: [{ file: "p.yaml", text }],
    });
    expect(report.findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/could not be evaluated.*failurePolicy is Fail/),
    ]);
  });
});
