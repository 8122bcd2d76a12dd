// The repository secret scanner (each detector, the allowlist, no secret text in findings), the
// annotation exemptions, and custom ValidatingAdmissionPolicy rules taken unchanged from the Kubernetes docs.
/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   test data: the tests mutate deep, untyped pod specs in place, as YAML would give them. */
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkRevision, failsAt } from "../../src/policy/check.js";
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

/** A temporary repository folder with the given files, removed after `body`. */
async function withRepo(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-scan-"));
  try {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    }
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("secret scanner: files it cannot scan", () => {
  it("reports a file above the size limit as secrets/unscanned-file, without reading its secret", async () => {
    const token = SECRETS["a GitHub token"]!;
    const big = `token: ${token}\n${"x".repeat(2048)}\n`;
    await withRepo({ "big.txt": big, "small.txt": "nothing here\n" }, async (dir) => {
      const found = await scanSecrets(dir, { maxFileBytes: 1024 });
      expect(found).toEqual([
        {
          ruleId: "secrets/unscanned-file",
          severity: "low",
          message: "big.txt is larger than 1024 bytes and was not scanned for secrets",
          remediation: expect.stringContaining(".gitward/secrets-allowlist") as unknown,
          origin: { file: "big.txt", line: 1 },
        },
      ]);
      expect(JSON.stringify(found)).not.toContain(token);
      // The same file under the limit is scanned, and its token found.
      expect((await scanSecrets(dir, { maxFileBytes: 4096 })).map((f) => f.ruleId)).toEqual([
        "secrets/token",
      ]);
    });
  });

  it("the default limit is 4 MiB; the finding is low, and an allowlisted large file is not reported", async () => {
    const limit = 4 * 1024 * 1024;
    await withRepo({ "exact.txt": "a".repeat(limit), "over.txt": "a".repeat(limit + 1) }, async (dir) => {
      const found = await scanSecrets(dir);
      expect(found.map((f) => [f.ruleId, f.origin.file])).toEqual([["secrets/unscanned-file", "over.txt"]]);
      const report = await checkRevision({ manifests: [], repoRoot: dir, packs: ["secrets-hygiene"] });
      expect(report.findings.map((f) => [f.ruleId, f.severity])).toEqual([["secrets/unscanned-file", "low"]]);
      expect([failsAt(report, "high"), failsAt(report, "low")]).toEqual([false, true]);
      await writeFile(path.join(dir, "allow"), "over.txt\n");
      expect(await scanSecrets(dir, { allowlistFile: "allow" })).toEqual([]);
    });
  });
});

describe("secret scanner: re: lines of the allowlist", () => {
  const github = SECRETS["a GitHub token"]!;
  const aws = SECRETS["an AWS access key id"]!;

  it("a re: line allows the found text it matches, and nothing else", async () => {
    await withRepo(
      {
        "app.env": `GITHUB=${github}\nAWS=${aws}\n`,
        ".gitward/secrets-allowlist": "# the public CI token of the example\nre: ^ghp_a1B2c3\n\n",
      },
      async (dir) => {
        const found = await scanSecrets(dir);
        expect(found.map((f) => [f.ruleId, f.message])).toEqual([
          ["secrets/token", "app.env:2 contains an AWS access key id"],
        ]);
      },
    );
  });

  it("a re: line is matched against the found text, not the whole line", async () => {
    // The line holds "GITHUB=", but the detector's match starts at "ghp_": an anchored pattern on the
    // line's start must not allow it.
    await withRepo(
      { "app.env": `GITHUB=${github}\n`, ".gitward/secrets-allowlist": "re:^GITHUB=\n" },
      async (dir) => {
        expect((await scanSecrets(dir)).map((f) => f.ruleId)).toEqual(["secrets/token"]);
      },
    );
  });

  it("a re: line also allows a high-entropy value it matches", async () => {
    const line = 'db_password: "q8Zt3Lw9Xv2Rk7Pm4Hn6Bj1"\n';
    await withRepo({ "a.env": line }, async (dir) => {
      expect((await scanSecrets(dir)).map((f) => f.ruleId)).toEqual(["secrets/high-entropy"]);
      await writeFile(path.join(dir, "allow"), "re:^q8Zt3Lw9\n");
      expect(await scanSecrets(dir, { allowlistFile: "allow" })).toEqual([]);
    });
  });

  it("regexes given in the options work like re: lines", async () => {
    await withRepo({ "app.env": `GITHUB=${github}\nAWS=${aws}\n` }, async (dir) => {
      const found = await scanSecrets(dir, { allowlist: { regexes: ["^AKIA"] } });
      expect(found.map((f) => f.origin.line)).toEqual([1]);
    });
  });

  it("a re: line that does not compile allows nothing and is a finding naming its line", async () => {
    await withRepo(
      { "app.env": `GITHUB=${github}\n`, ".gitward/secrets-allowlist": "docs/**\nre:([a-z\n" },
      async (dir) => {
        const found = await scanSecrets(dir);
        expect(found.map((f) => [f.ruleId, f.severity, f.origin])).toEqual([
          ["secrets/invalid-allowlist", "high", { file: ".gitward/secrets-allowlist", line: 2 }],
          ["secrets/token", "high", { file: "app.env", line: 1 }],
        ]);
        const report = await checkRevision({ manifests: [], repoRoot: dir, packs: ["secrets-hygiene"] });
        expect(report.findings.map((f) => f.ruleId)).toContain("secrets/invalid-allowlist");
      },
    );
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
