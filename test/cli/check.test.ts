// `gitward check` end to end through the built CLI: exit codes, text grouped by file, the JSON schema,
// SARIF validated against the official SARIF 2.1.0 schema, a hostile repository that leaks nothing, image
// trust against a real registry (openssl signatures), and the SealedSecrets of a revision.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
// ajv-draft-04 is CommonJS; under NodeNext its class is the `default` property of the default import.
import AjvDraft04 from "ajv-draft-04";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificatePem, generateSealingKey, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { makeOpensslKey, signBundleWithOpenssl, type OpensslKey } from "../support/oci-cosign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { cliEntry } from "../support/tools.js";
import { deployment, denyAll } from "../policy/support.js";
import { expectNoPlaintextIn, plainSecret, withValue } from "../secrets/support.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

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

async function put(rel: string, value: unknown, root = repo): Promise<void> {
  const p = path.join(root, rel);
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

  /** The line of the offending field in the file as written: where findings point. */
  async function lineOf(rel: string, needle: string): Promise<number> {
    const lines = (await readFile(path.join(repo, rel), "utf8")).split("\n");
    return lines.findIndex((l) => l.includes(needle)) + 1;
  }

  it("findings are grouped by file with file:line, rule, object and fix, and exit 1", async () => {
    const r = await gitward("check", path.join(repo, "apps/bad"));
    expect(r.code).toBe(1);
    const line = await lineOf("apps/bad/deploy.json", '"hostNetwork": true');
    expect(line).toBeGreaterThan(1);
    expect(r.stdout).toContain(
      `apps/bad/deploy.json\n  apps/bad/deploy.json:${line}  HIGH  pod-security/host-namespaces  Deployment shop/web`,
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
      precheckErrors: [],
      report: { schemaVersion: 1, exemptions: [], errors: [], summary: { objects: 2, findings: 1 } },
    });
    expect(j.report.findings[0]).toEqual({
      ruleId: "pod-security/host-namespaces",
      severity: "high",
      message: "the pod sets hostNetwork: true",
      remediation: expect.any(String) as unknown,
      object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
      path: "/spec/template/spec/hostNetwork",
      origin: {
        file: "apps/bad/deploy.json",
        line: await lineOf("apps/bad/deploy.json", '"hostNetwork": true'),
      },
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

  it("--include/--exclude select files; a revision with no object fails (EMPTY_RENDER) unless --allow-empty", async () => {
    const target = path.join(repo, "apps/clean");
    const empty = await gitward("check", target, "--include", "*.json", "--exclude", "*.json", "-o", "json");
    expect(empty.code).toBe(1);
    const gate = JSON.parse(empty.stdout) as { renderErrors: { code: string }[] };
    expect(gate.renderErrors.map((e) => e.code)).toEqual(["EMPTY_RENDER"]);
    expect((await gitward("check", target, "--include", "nothing/**", "--allow-empty")).code).toBe(0);
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

  it("--policy refuses a policy file that is not UTF-8, naming its line; the same file in UTF-8 runs", async () => {
    const policy = await readFile(path.join(repo, "policies/replicas.yaml"), "utf8");
    const target = path.join(repo, "apps/replicas");
    const latin1 = path.join(repo, "policies/latin1.yaml");
    // "# café" in Latin-1 on line 2: a lenient decoder would read U+FFFD there and run the policy anyway.
    await writeFile(
      latin1,
      Buffer.concat([Buffer.from("---\n# caf"), Buffer.from([0xe9]), Buffer.from("\n" + policy)]),
    );
    const refused = await gitward("check", target, "--policy", latin1);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${latin1}:2`);
    expect(refused.stderr).toContain("not valid UTF-8");
    const utf8 = path.join(repo, "policies/utf8.yaml");
    await writeFile(utf8, `---\n# café \uFFFD\n${policy}`);
    const ran = await gitward("check", target, "--policy", utf8);
    expect(ran.code, ran.stderr).toBe(1);
    expect(ran.stdout).toContain("vap/demo-policy.example.com");
  });

  it("--trust applies the TrustPolicy's packs and failOn", async () => {
    const trust = path.join(repo, "trust.yaml");
    await writeFile(trust, trustPolicyYaml(["  policy: { packs: [supply-chain], failOn: critical }"]));
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
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain("BAD_EXPRESSION");
    expect((await gitward("check", path.join(repo, "apps/clean"), "--packs", "nope")).code).toBe(2);
  });
});

interface JsonGate {
  passed: boolean;
  report: {
    findings: { ruleId: string; severity: string; message: string; object?: unknown; origin: unknown }[];
    rules: { id: string }[];
  };
}

/** A TrustPolicy YAML with an image section; signers are cosign public keys by name. */
function trustWithImages(images: { registries: string[]; signers?: Record<string, string> }): string {
  const lines = ["  images:", `    registries: [${images.registries.map((r) => `'${r}'`).join(", ")}]`];
  if (images.signers !== undefined) {
    lines.push("    signers:");
    for (const [name, pem] of Object.entries(images.signers)) {
      lines.push(
        `      - name: ${name}`,
        "        cosign: |",
        ...pem
          .trim()
          .split("\n")
          .map((l) => `          ${l}`),
      );
    }
  }
  return trustPolicyYaml(lines);
}

describe("gitward check verifies the images of the revision (TrustPolicy spec.images)", () => {
  let registry: TestRegistry;
  let key: OpensslKey;
  let dir: string;
  let imgRepo: string;
  let trust: string;
  // A loopback server that counts every request, to prove when no registry is contacted.
  let counter: Server;
  let counted = 0;
  let counterHost: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gitward-check-images-"));
    imgRepo = path.join(dir, "repo");
    await mkdir(path.join(imgRepo, ".git"), { recursive: true });
    [registry, key] = await Promise.all([startRegistry(), makeOpensslKey(dir)]);
    const [signed, unsigned] = await Promise.all([
      pushTestImage(registry, "team/signed", "v1", "check signed"),
      pushTestImage(registry, "team/unsigned", "v1", "check unsigned"),
    ]);
    // Signed by openssl in cosign v3's bundle format, not by gitward.
    await signBundleWithOpenssl(registry, "team/signed", signed, key);
    const withImage = (image: string) =>
      deployment("web", (p) => ((p["containers"] as { image: string }[])[0]!.image = image));
    await put("apps/signed/deploy.json", withImage(`${registry.host}/team/signed:v1@${signed}`), imgRepo);
    await put("apps/signed/netpol.json", denyAll(), imgRepo);
    await put(
      "apps/unsigned/deploy.json",
      withImage(`${registry.host}/team/unsigned:v1@${unsigned}`),
      imgRepo,
    );
    await put("apps/unsigned/netpol.json", denyAll(), imgRepo);
    trust = path.join(dir, "trust.yaml");
    await writeFile(
      trust,
      trustWithImages({ registries: [`${registry.host}/team/`], signers: { ci: key.publicKeyPem } }),
    );

    counter = createServer((req, res) => {
      counted++;
      req.resume();
      res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[]}');
    });
    await new Promise<void>((resolve) => counter.listen(0, "127.0.0.1", resolve));
    counterHost = `127.0.0.1:${(counter.address() as AddressInfo).port}`;
    await put(
      "apps/counted/deploy.json",
      withImage(`${counterHost}/team/app:v1@sha256:${"c".repeat(64)}`),
      imgRepo,
    );
    await put("apps/counted/netpol.json", denyAll(), imgRepo);
  });

  afterAll(async () => {
    await new Promise((resolve) => counter.close(resolve));
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("an image signed by a trusted key passes (exit 0)", async () => {
    const r = await gitward(
      "check",
      path.join(imgRepo, "apps/signed"),
      "--trust",
      trust,
      "--plain-http",
      "-o",
      "json",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as JsonGate;
    expect(j.passed).toBe(true);
    expect(j.report.findings).toEqual([]);
  });

  it("an unsigned image is a critical finding on the object that uses it, with file:line (exit 1)", async () => {
    const target = path.join(imgRepo, "apps/unsigned");
    const r = await gitward("check", target, "--trust", trust, "--plain-http", "-o", "json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as JsonGate;
    expect(j.passed).toBe(false);
    expect(j.report.findings).toEqual([
      {
        ruleId: "images/unsigned",
        severity: "critical",
        message: expect.stringMatching(
          /^container "app" uses 127\.0\.0\.1:\d+\/team\/unsigned:v1@sha256:[0-9a-f]{64}: .*has no cosign signature/,
        ) as unknown,
        remediation: expect.stringContaining("gitward images sign") as unknown,
        object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
        origin: { file: "apps/unsigned/deploy.json", line: 1 },
      },
    ]);
    // The image and its digest are named once (the verifier's message named them again).
    expect(j.report.findings[0]?.message.split(/@sha256:[0-9a-f]{64}/)).toHaveLength(2);
    expect(j.report.rules.map((x) => x.id)).toContain("images/unsigned");
    // Critical: no --fail-on lets it through.
    expect(
      (await gitward("check", target, "--trust", trust, "--plain-http", "--fail-on", "critical")).code,
    ).toBe(1);
    const text = await gitward("check", target, "--trust", trust, "--plain-http");
    expect(text.stdout).toContain(
      "apps/unsigned/deploy.json:1  CRITICAL  images/unsigned  Deployment shop/web",
    );
    const schema = JSON.parse(
      await readFile(path.join(import.meta.dirname, "../fixtures/check/sarif-schema-2.1.0.json"), "utf8"),
    ) as object;
    const validate = new AjvDraft04.default({ allErrors: true, strict: false }).compile(schema);
    const sarif = JSON.parse(
      (await gitward("check", target, "--trust", trust, "--plain-http", "-o", "sarif")).stdout,
    ) as {
      runs: { results: { ruleId: string }[] }[];
    };
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    expect(sarif.runs[0]!.results.map((x) => x.ruleId)).toEqual(["images/unsigned"]);
  });

  it("a registry it cannot reach fails closed (exit 1), never passes", async () => {
    // Without --plain-http the client speaks TLS to a plain HTTP registry: no answer it can trust.
    const r = await gitward("check", path.join(imgRepo, "apps/signed"), "--trust", trust, "-o", "json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as JsonGate;
    expect(j.report.findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ["images/registry-error", "critical"],
    ]);
  });

  it("contacts no registry without --trust, or with a TrustPolicy that needs none", async () => {
    const target = path.join(imgRepo, "apps/counted");
    const registriesOnly = path.join(dir, "registries-only.yaml");
    await writeFile(registriesOnly, trustWithImages({ registries: [`${counterHost}/team/`] }));
    counted = 0;
    expect((await gitward("check", target, "--plain-http")).code).toBe(0);
    expect((await gitward("check", target, "--trust", registriesOnly, "--plain-http")).code).toBe(0);
    expect(counted).toBe(0);
    // The counter does see a check that needs the registry: the test above is not vacuous.
    const withSigners = path.join(dir, "with-signers.yaml");
    await writeFile(
      withSigners,
      trustWithImages({ registries: [`${counterHost}/team/`], signers: { ci: key.publicKeyPem } }),
    );
    const r = await gitward("check", target, "--trust", withSigners, "--plain-http", "-o", "json");
    expect(counted).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as JsonGate).report.findings.map((f) => f.ruleId)).toEqual([
      "images/image-not-found",
    ]);
  });

  it("registry flag errors and an unusable image policy are configuration errors (exit 2)", async () => {
    const target = path.join(imgRepo, "apps/signed");
    const missing = path.join(dir, "no-such-file");
    expect((await gitward("check", target, "--trust", trust, "--docker-config", missing)).code).toBe(2);
    expect((await gitward("check", target, "--trust", trust, "--ca", missing)).code).toBe(2);
    const badKey = path.join(dir, "bad-key.yaml");
    await writeFile(
      badKey,
      trustWithImages({
        registries: [`${registry.host}/team/`],
        signers: { ci: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" },
      }),
    );
    const r = await gitward("check", target, "--trust", badKey, "--plain-http");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ci/);
  });
});

describe("gitward check validates the SealedSecrets of the revision", () => {
  let dir: string;
  let sealRepo: string;
  let ours: SealingKey;
  let other: SealingKey;
  let ourCert: string;
  let otherCert: string;

  const seal = (key: SealingKey): SealedSecret => {
    const r = sealSecret(plainSecret("shop", "db"), key.publicKey);
    if (!r.ok) throw new Error(r.message);
    return r.sealed;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gitward-check-sealed-"));
    sealRepo = path.join(dir, "repo");
    await mkdir(path.join(sealRepo, ".git"), { recursive: true });
    // Different sizes: with certificates only, a key is told apart by the size of its RSA block.
    [ours, other] = await Promise.all([
      generateSealingKey({ modulusLength: 2048 }),
      generateSealingKey({ modulusLength: 3072 }),
    ]);
    ourCert = path.join(dir, "ours.pem");
    otherCert = path.join(dir, "other.pem");
    await writeFile(ourCert, certificatePem(ours)!);
    await writeFile(otherCert, certificatePem(other)!);
    const good = seal(ours);
    await put("sealed/good/db.json", good, sealRepo);
    await put("sealed/truncated/db.json", withValue(good, "token", "AQA="), sealRepo);
    await put(
      "sealed/malformed/db.json",
      { ...good, spec: { ...good.spec, encryptedData: { token: 42 } } },
      sealRepo,
    );
    await put("sealed/other/db.json", seal(other), sealRepo);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = async (folder: string, ...args: string[]) => {
    const r = await gitward("check", path.join(sealRepo, folder), ...args, "-o", "json");
    expectNoPlaintextIn([r.stdout, r.stderr]);
    return { ...r, gate: r.code === 2 ? undefined : (JSON.parse(r.stdout) as JsonGate) };
  };

  it("a well-formed SealedSecret sealed to a known certificate passes (exit 0)", async () => {
    const r = await check("sealed/good", "--cert", ourCert);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.gate?.report.findings).toEqual([]);
    expect(r.gate?.report.rules.map((x) => x.id)).toEqual(
      expect.arrayContaining(["secrets/sealed-secret-invalid", "secrets/sealed-secret-unknown-cert"]),
    );
  });

  it("a malformed or truncated SealedSecret is secrets/sealed-secret-invalid (exit 1), with or without --cert", async () => {
    for (const [folder, code] of [
      ["sealed/malformed", "MALFORMED"],
      ["sealed/truncated", "TRUNCATED"],
    ] as const) {
      for (const args of [["--cert", ourCert], []]) {
        const r = await check(folder, ...args);
        expect(r.code, folder).toBe(1);
        expect(r.gate?.report.findings).toEqual([
          {
            ruleId: "secrets/sealed-secret-invalid",
            severity: "high",
            message: expect.stringContaining(`(${code})`) as unknown,
            remediation: expect.stringContaining("gitward secrets seal") as unknown,
            object: {
              apiVersion: "bitnami.com/v1alpha1",
              kind: "SealedSecret",
              namespace: "shop",
              name: "db",
            },
            origin: { file: `${folder}/db.json`, line: 1 },
          },
        ]);
      }
    }
  });

  it("a SealedSecret sealed to another certificate is secrets/sealed-secret-unknown-cert (exit 1)", async () => {
    const r = await check("sealed/other", "--cert", ourCert);
    expect(r.code).toBe(1);
    const findings = r.gate?.report.findings ?? [];
    // One per value: password, token and binary.
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual(
      Array.from({ length: 3 }, () => ["secrets/sealed-secret-unknown-cert", "high"]),
    );
    expect(findings[0]?.message).toMatch(/fits none of the known certificates \(UNKNOWN_KEY\)$/);
    // Any of several certificates will do (rotation: old and new), and without one only the form is checked.
    expect((await check("sealed/other", "--cert", ourCert, "--cert", otherCert)).code).toBe(0);
    expect((await check("sealed/other")).code).toBe(0);
  });

  it("an unreadable or invalid --cert is a configuration error (exit 2)", async () => {
    expect((await check("sealed/good", "--cert", path.join(dir, "no-such.pem"))).code).toBe(2);
    const notACert = path.join(dir, "not-a-cert.pem");
    await writeFile(notACert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const r = await check("sealed/good", "--cert", notACert);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not a PEM or DER X.509 certificate");
  });
});
