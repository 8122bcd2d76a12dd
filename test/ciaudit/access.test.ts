// `gitward audit access` on real workflows (test/fixtures/ci-access, sources in its README): one setup per
// access pattern, judged with a gitward config naming the config repository, plus the fail-closed cases.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditAccess, repoSlug, type AccessReport, type Credential } from "../../src/ciaudit/access.js";
import { parseConfig } from "../../src/config/load.js";
import { runCli } from "../support/tools.js";

const fixtures = path.join(import.meta.dirname, "..", "fixtures", "ci-access");
const CONFIG = `apiVersion: gitward.dev/v1alpha1
kind: TrustPolicy
metadata: { name: p }
spec:
  commits:
    signers: [{ name: a, ssh: ["ssh-ed25519 AAAA a@x"], paths: ["**"] }]
  images:
    registries: ["quay.io/argoproj/"]
    signers: [{ name: ci, cosign: "-----BEGIN PUBLIC KEY-----..." }]
---
apiVersion: gitward.dev/v1alpha1
kind: Application
metadata: { name: argocd, namespace: gitward-system }
spec:
  source: { url: "https://github.com/argoproj/argoproj-deployments.git", ref: { branch: master } }
  render: { type: kustomize }
  destination: { namespace: argocd, serviceAccountName: deployer }
  trustPolicy: p
`;
const config = parseConfig(CONFIG, "gitward.yaml");

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), "gitward-access-"));
  await writeFile(path.join(tmp, "gitward.yaml"), CONFIG);
  await writeFile(path.join(tmp, "bad.yaml"), CONFIG.replace("kind: Application", "kind: Applicaton"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function row(r: AccessReport, c: Credential): AccessReport["credentials"][number] {
  const found = r.credentials.find((x) => x.credential === c);
  if (found === undefined) throw new Error(`no row ${c}`);
  return found;
}

async function repoWith(name: string, workflow: string): Promise<string> {
  const dir = path.join(tmp, name, ".github", "workflows");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "ci.yml"), workflow);
  return path.join(tmp, name);
}

describe("audit access on real setups", () => {
  it("full: CI holds a kubeconfig and deploys (teaguestockwell/aks-nodejs-cd)", async () => {
    const r = await auditAccess(path.join(fixtures, "full"), config);
    expect(r.pattern).toBe("full");
    expect(r.complete).toBe(true);
    expect(row(r, "cluster-write").heldByCi).toBe(true);
    expect(row(r, "cluster-write").evidence.map((e) => e.line)).toEqual([20, 22, 41]);
    expect(row(r, "registry-push").evidence.map((e) => e.line)).toEqual([18]);
    expect(row(r, "config-repo-write").heldByCi).toBe(false);
    expect(r.attacker[0]).toContain("Change the cluster directly");
    expect(r.nextStep).toContain("Remove the cluster credentials");
  });

  it("deployment-repo: CI clones the config repository and pushes the new tag (argoproj/argo-cd image.yaml)", async () => {
    const r = await auditAccess(path.join(fixtures, "deployment-repo"), config);
    expect(r.pattern).toBe("deployment-repo");
    const repo = row(r, "config-repo-write");
    expect(repo.heldByCi).toBe(true);
    expect(repo.evidence.map((e) => [e.file, e.line])).toEqual([
      [".github/workflows/image.yaml", 167],
      [".github/workflows/image.yaml", 174],
    ]);
    expect(repo.evidence[0]?.what).toContain("argoproj/argoproj-deployments");
    expect(row(r, "cluster-write").heldByCi).toBe(false);
    expect(r.attacker.join(" ")).toContain("1 TrustPolicy commit signer(s)");
    expect(r.nextStep).toContain("config-repository write token out of CI");
  });

  it("code-only: CI only builds and pushes images (argoproj/argo-cd image-reuse.yaml)", async () => {
    const r = await auditAccess(path.join(fixtures, "code-only"), config);
    expect(r.pattern).toBe("code-only");
    expect(row(r, "registry-push").heldByCi).toBe(true);
    expect(row(r, "registry-push").evidence.map((e) => e.line)).toEqual([177]);
    expect(row(r, "config-repo-write").heldByCi).toBe(false);
    expect(row(r, "cluster-write").holders).toEqual([
      "the gitward operator, inside the cluster (pulls verified revisions)",
    ]);
    expect(r.attacker[0]).toContain("signed by a TrustPolicy image signer");
  });
});

describe("audit access fails closed", () => {
  it("a suppressed deploy finding still gives CI cluster write", async () => {
    const dir = await repoWith(
      "suppressed",
      "on: push\npermissions: {}\njobs:\n  d:\n    runs-on: ubuntu-latest\n    steps:\n" +
        "      # gitward:ignore ci/ci-deploy accepted for the demo cluster\n      - run: kubectl apply -f k8s/\n",
    );
    const r = await auditAccess(dir, config);
    expect(r.pattern).toBe("full");
    expect(row(r, "cluster-write").evidence[0]).toMatchObject({ line: 8 });
    expect(row(r, "cluster-write").evidence[0]?.what).toContain("suppressed");
  });

  it("tag-only pushes are a release, not a config write; other pushes are", async () => {
    const tags = await repoWith(
      "tags",
      "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git push origin --tags\n",
    );
    expect((await auditAccess(tags, config)).pattern).toBe("code-only");
    const branch = await repoWith(
      "branch",
      "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git push origin HEAD:main\n",
    );
    expect((await auditAccess(branch, config)).pattern).toBe("deployment-repo");
  });

  it("an unreadable CI file makes the verdict incomplete and never code-only", async () => {
    const dir = await repoWith("broken", "on: push\njobs: [\n");
    const r = await auditAccess(dir, config);
    expect(r.complete).toBe(false);
    expect(r.pattern).toBe("deployment-repo");
    expect(r.errors[0]?.code).toBe("SYNTAX");
  });

  it("reads owner/name from https, ssh and scp-like URLs", () => {
    expect(repoSlug("https://github.com/Argoproj/Argoproj-Deployments.git")).toBe(
      "argoproj/argoproj-deployments",
    );
    expect(repoSlug("ssh://git@git.example.com/ops/config.git")).toBe("ops/config");
    expect(repoSlug("git@github.com:ops/config")).toBe("ops/config");
    expect(repoSlug("not a url")).toBeUndefined();
  });
});

describe("gitward audit access (CLI)", () => {
  it("exits 1 for full, 0 for code-only, and prints the credential table or JSON", async () => {
    const full = await runCli([
      "audit",
      "access",
      path.join(fixtures, "full"),
      "--config",
      path.join(tmp, "gitward.yaml"),
    ]);
    expect(full.code).toBe(1);
    expect(full.stdout).toContain("Access pattern: full");
    expect(full.stdout).toContain(".github/workflows/aks-deploy.yml:20");
    const ok = await runCli([
      "audit",
      "access",
      path.join(fixtures, "code-only"),
      "-c",
      path.join(tmp, "gitward.yaml"),
      "-o",
      "json",
    ]);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.stdout) as AccessReport;
    expect(j.pattern).toBe("code-only");
    expect(j.config.applications).toEqual([
      { name: "argocd", source: "https://github.com/argoproj/argoproj-deployments.git" },
    ]);
  });

  it("exits 2 for a missing path and for a bad config, naming the file", async () => {
    const missing = await runCli(["audit", "access", path.join(tmp, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope");
    const bad = await runCli([
      "audit",
      "access",
      path.join(fixtures, "full"),
      "--config",
      path.join(tmp, "bad.yaml"),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("bad.yaml");
    expect(bad.stdout).toBe("");
  });
});
