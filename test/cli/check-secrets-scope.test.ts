// `gitward check PATH --secrets-scope path|repo` (issue 16): the secret scanner reads the files git would
// commit below PATH by default, or in the whole repository when asked, and the output says which, in text
// and in JSON, so a pass never hides what was not looked at.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { TestRepo } from "../support/git-repo.js";
import { runCli } from "../support/tools.js";

// Made up in the issuer's format, assembled at run time so this file holds none.
const GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";

let repo: TestRepo;

beforeAll(async () => {
  repo = await TestRepo.create();
  await repo.commitFiles({
    "deploy/app.yaml": stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "app", namespace: "shop" },
      data: { greeting: "hello" },
    }),
    "deploy/README.md": "settings\n",
    "other/app.env": `GITHUB=${GITHUB}\n`,
  });
});

afterAll(async () => {
  await repo.cleanup();
});

describe("gitward check --secrets-scope", () => {
  it("path (default) scans below PATH and says so; repo scans the whole repository and finds the token", async () => {
    const target = path.join(repo.dir, "deploy");
    const base = ["check", target, "--packs", "secrets-hygiene"];
    const [text, json, wide, wideJson, bad] = await Promise.all([
      runCli(base),
      runCli([...base, "-o", "json"]),
      runCli([...base, "--secrets-scope", "repo"]),
      runCli([...base, "--secrets-scope", "repo", "-o", "json"]),
      runCli([...base, "--secrets-scope", "everything"]),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "Secret scan (--secrets-scope path): 2 file(s) that git would commit below deploy",
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      passed: true,
      secretScan: { scope: "path", path: "deploy", files: 2, by: "git" },
    });

    expect(wide.code, wide.stderr).toBe(1);
    expect(wide.stdout).toContain(
      "Secret scan (--secrets-scope repo): 3 file(s) that git would commit in the whole repository",
    );
    expect(wide.stdout).toContain("other/app.env:1");
    expect(wide.stdout).not.toContain(GITHUB);
    const j = JSON.parse(wideJson.stdout) as {
      secretScan: unknown;
      report: { findings: { origin: { file: string } }[] };
    };
    expect(j.secretScan).toEqual({ scope: "repo", path: ".", files: 3, by: "git" });
    expect(j.report.findings.map((f) => f.origin.file)).toEqual(["other/app.env"]);

    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--secrets-scope.*everything/);
  }, 120_000);

  it("without the secrets-hygiene pack nothing is scanned and nothing is claimed", async () => {
    const r = await runCli([
      "check",
      path.join(repo.dir, "deploy"),
      "--packs",
      "pod-security-restricted",
      "-o",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).not.toHaveProperty("secretScan");
  }, 60_000);
});
