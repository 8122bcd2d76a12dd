// `gitward check` end to end through the built CLI: exit codes, text grouped by file, the JSON schema,
// SARIF validated against the official SARIF 2.1.0 schema, and a hostile repository that leaks nothing.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
// ajv-draft-04 is CommonJS; under NodeNext its class is the `default` property of the default import.
import AjvDraft04 from "ajv-draft-04";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEntry } from "../support/tools.js";
import { deployment, denyAll } from "../policy/support.js";

const run = promisify(execFile);
let repo: string;

async function gitward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry, ...args], {
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function put(rel: string, value: unknown): Promise<void> {
  const p = path.join(repo, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

beforeAll(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), "gitward-check-cli-"));
  await mkdir(path.join(repo, ".git"));
  await put("apps/clean/deploy.json", deployment("web"));
  await put("apps/clean/netpol.json", denyAll());
  await put(
    "apps/bad/deploy.json",
    deployment("web", (p) => (p["hostNetwork"] = true)),
  );
  await put("apps/bad/netpol.json", denyAll());
  await put(
    "apps/medium/deploy.json",
    deployment(
      "web",
      (p) =>
        delete (p["containers"] as { securityContext: Record<string, unknown> }[])[0]!.securityContext[
          "allowPrivilegeEscalation"
        ],
    ),
  );
  await put("apps/medium/netpol.json", denyAll());
  await put("apps/evil/ok.json", denyAll());
  await symlink("/etc/passwd", path.join(repo, "apps/evil/passwd.yaml"));
  await put(
    "policies/replicas.yaml",
    await readFile(path.join(import.meta.dirname, "../fixtures/check/vap/demo-policy.yaml"), "utf8"),
  );
});

afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
  await rm(path.join(path.dirname(repo), "outside-values.yaml"), { force: true });
});

describe("gitward check", () => {
  it("--help documents the options and exits 0", async () => {
    const r = await gitward("check", "--help");
    expect(r.code).toBe(0);
    for (const o of ["--render", "--policy", "--trust", "--fail-on", "--output"])
      expect(r.stdout).toContain(o);
  });

  it("a clean folder passes with exit 0", async () => {
    const r = await gitward("check", path.join(repo, "apps/clean"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 object\(s\), 0 finding\(s\).*PASSED at --fail-on high/);
  });

  it("findings are grouped by file with file:line, rule, object and fix, and exit 1", async () => {
    const r = await gitward("check", path.join(repo, "apps/bad"));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "apps/bad/deploy.json\n  apps/bad/deploy.json:1  HIGH  pod-security/host-namespaces  Deployment shop/web",
    );
    expect(r.stdout).toContain("fix: Remove hostNetwork");
    expect(r.stdout).toMatch(/FAILED at --fail-on high/);
  });

  it("--fail-on decides the exit code", async () => {
    expect((await gitward("check", path.join(repo, "apps/medium"))).code).toBe(0);
    expect((await gitward("check", path.join(repo, "apps/medium"), "--fail-on", "medium")).code).toBe(1);
    expect((await gitward("check", path.join(repo, "apps/bad"), "--fail-on", "critical")).code).toBe(0);
  });

  it("-o json prints the documented schema", async () => {
    const r = await gitward("check", path.join(repo, "apps/bad"), "-o", "json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { report: { findings: unknown[] } };
    expect(j).toMatchObject({
      schemaVersion: 1,
      tool: { name: "gitward" },
      target: { path: "apps/bad", render: "directory" },
      failOn: "high",
      passed: false,
      renderErrors: [],
      report: { schemaVersion: 1, exemptions: [], errors: [], summary: { objects: 2, findings: 1 } },
    });
    expect(j.report.findings[0]).toEqual({
      ruleId: "pod-security/host-namespaces",
      severity: "high",
      message: "the pod sets hostNetwork: true",
      remediation: expect.any(String) as unknown,
      object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
      origin: { file: "apps/bad/deploy.json", line: 1 },
    });
  });

  it("-o sarif validates against the official SARIF 2.1.0 schema", async () => {
    const schema = JSON.parse(
      await readFile(path.join(import.meta.dirname, "../fixtures/check/sarif-schema-2.1.0.json"), "utf8"),
    ) as object;
    const validate = new AjvDraft04.default({ allErrors: true, strict: false }).compile(schema);
    for (const dir of ["apps/bad", "apps/clean", "apps/evil"]) {
      const r = await gitward("check", path.join(repo, dir), "-o", "sarif");
      const log = JSON.parse(r.stdout) as { runs: { results: { ruleId: string }[] }[] };
      expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
      if (dir === "apps/bad")
        expect(log.runs[0]!.results.map((x) => x.ruleId)).toEqual(["pod-security/host-namespaces"]);
    }
    // The validator is not a rubber stamp: a log without its version is refused.
    expect(validate({ runs: [] })).toBe(false);
  });

  it("a symlink to /etc/passwd fails the check (exit 1) and no byte of it is printed", async () => {
    const passwd = await readFile("/etc/passwd", "utf8");
    for (const o of ["text", "json", "sarif"]) {
      const r = await gitward("check", path.join(repo, "apps/evil"), "-o", o);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(o === "sarif" ? "render/outside-repo" : "OUTSIDE_REPO");
      for (const line of passwd.split("\n").filter((l) => l.length > 8))
        expect(r.stdout + r.stderr).not.toContain(line);
    }
  });

  it("--render kustomize and helm run the real tools and keep the repository confinement", async () => {
    await writeFile(path.join(path.dirname(repo), "outside-values.yaml"), "marker: OUTSIDE-7f3e\n");
    await put("k/ok/kustomization.yaml", "resources:\n  - deploy.json\n  - netpol.json\n");
    await put("k/ok/deploy.json", deployment("web"));
    await put("k/ok/netpol.json", denyAll());
    await put("k/escape/kustomization.yaml", "resources:\n  - ../../../outside-values.yaml\n");
    await put("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
    await put(
      "chart/templates/cm.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    const ok = await gitward("check", path.join(repo, "k/ok"), "--render", "kustomize", "-o", "json");
    expect(ok.code).toBe(0);
    expect(
      (JSON.parse(ok.stdout) as { report: { summary: { objects: number } } }).report.summary.objects,
    ).toBe(2);
    const escape = await gitward("check", path.join(repo, "k/escape"), "--render", "kustomize");
    expect(escape.code).toBe(1);
    expect(escape.stdout).toContain("OUTSIDE_REPO");
    const helm = await gitward(
      "check",
      path.join(repo, "chart"),
      "--render",
      "helm",
      "--values",
      path.join(path.dirname(repo), "outside-values.yaml"),
    );
    expect(helm.code).toBe(1);
    expect(helm.stdout).toContain("OUTSIDE_REPO");
    for (const r of [escape, helm]) expect(r.stdout + r.stderr).not.toContain("OUTSIDE-7f3e");
    expect((await gitward("check", path.join(repo, "chart"), "--render", "helm")).code).toBe(0);
  });

  it("--policy adds custom ValidatingAdmissionPolicy rules", async () => {
    await put("apps/replicas/deploy.json", {
      ...deployment("big"),
      spec: { ...(deployment("big")["spec"] as object), replicas: 9 },
    });
    await put("apps/replicas/netpol.json", denyAll());
    const r = await gitward(
      "check",
      path.join(repo, "apps/replicas"),
      "--policy",
      path.join(repo, "policies/replicas.yaml"),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("vap/demo-policy.example.com");
  });

  it("--trust applies the TrustPolicy's packs and failOn", async () => {
    const trust = path.join(repo, "trust.yaml");
    await writeFile(
      trust,
      [
        "apiVersion: gitward.dev/v1alpha1",
        "kind: TrustPolicy",
        "metadata: { name: prod }",
        "spec:",
        "  commits:",
        "    signers: [{ name: a, ssh: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a'], paths: ['**'] }]",
        "  policy: { packs: [supply-chain], failOn: critical }",
        "",
      ].join("\n"),
    );
    const r = await gitward("check", path.join(repo, "apps/bad"), "--trust", trust, "-o", "json");
    expect(r.stderr).toBe("");
    const j = JSON.parse(r.stdout) as { failOn: string; report: { packs: string[] } };
    expect(j.failOn).toBe("critical");
    expect(j.report.packs).toEqual(["supply-chain"]);
    expect(r.code).toBe(0);
  });

  it("usage and configuration errors exit 2", async () => {
    expect((await gitward("check", path.join(repo, "no-such-dir"))).code).toBe(2);
    expect((await gitward("check", path.join(repo, "apps/clean"), "--render", "jsonnet")).code).toBe(2);
    await put(
      "policies/broken.yaml",
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: b}\nspec:\n  validations:\n    - expression: 'object.('\n",
    );
    const r = await gitward(
      "check",
      path.join(repo, "apps/clean"),
      "--policy",
      path.join(repo, "policies/broken.yaml"),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("BAD_EXPRESSION");
    expect((await gitward("check", path.join(repo, "apps/clean"), "--packs", "nope")).code).toBe(2);
  });
});
