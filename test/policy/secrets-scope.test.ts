// What the secret scanner reads (issue 19): in a git work tree only what git would commit below the checked
// path (ignored node_modules, build output and key files are no findings; a tracked key is), outside git
// the whole folder but .git; and sealed ciphertext, from the real `gitward secrets seal`, is never a
// high-entropy finding while a literal token in a ConfigMap is.
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkRevision } from "../../src/policy/check.js";
import { scanSecrets } from "../../src/policy/packs/secrets.js";
import { filesToScan } from "../../src/policy/packs/secrets-files.js";
import { generateSealingKey } from "../../src/secrets/keys.js";
import { TestRepo } from "../support/git-repo.js";
import { runCli } from "../support/tools.js";

// Made up in the issuers' formats, assembled at run time so this file holds none.
const GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
const KEY = ["-----BEGIN", "OPENSSH PRIVATE KEY-----"].join(" ") + "\nb3BlbnNzaC1rZXktdjEAAAAA\n";
const TOKEN = "q8Zt3Lw9Xv2Rk7Pm4Hn6Bj1Yc5Df0Gs";

const configMap = (data: Record<string, string>) =>
  stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app", namespace: "shop" }, data });

let repo: TestRepo;
let root: string;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "gitward-scan-scope-"));
  repo = await TestRepo.create();
  root = await realpath(repo.dir);
  await repo.commitFiles({
    ".gitignore": "node_modules/\ndist/\n*.key\n",
    "deploy/install/app.yaml": configMap({ greeting: "hello" }),
    "other/app.env": `GITHUB=${GITHUB}\n`,
  });
  // Ignored: never committed, so never scanned.
  for (const [rel, text] of Object.entries({
    "node_modules/pkg/index.js": `const t = "${GITHUB}";\n`,
    "deploy/install/node_modules/x/README.md": `token: ${GITHUB}\n`,
    "dist/bundle.js": `var k = "${GITHUB}";\n`,
    "deploy/install/tls.key": KEY,
  })) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
});

afterAll(async () => {
  await repo.cleanup();
  await rm(tmp, { recursive: true, force: true });
});

describe("secret scanner scope in a git work tree", () => {
  it("ignored node_modules, build output and an ignored key file are not findings", async () => {
    const scope = await filesToScan(root, "deploy/install");
    expect([scope.by, scope.files.map((f) => path.relative(root, f))]).toEqual([
      "git",
      ["deploy/install/app.yaml"],
    ]);
    expect(await scanSecrets(root, { path: "deploy/install" })).toEqual([]);
  });

  it("only the checked path is scanned: a secret elsewhere in the repository is not its finding", async () => {
    expect((await scanSecrets(root, { path: "." })).map((f) => f.origin.file)).toEqual(["other/app.env"]);
    const report = await checkRevision({
      manifests: [],
      repoRoot: root,
      scanPath: "deploy/install",
      packs: ["secrets-hygiene"],
    });
    expect(report.findings).toEqual([]);
  });

  it("a tracked key file is a critical finding, and so is one about to be committed", async () => {
    await repo.commitFiles({ "deploy/install/tls.pem": KEY });
    try {
      const found = await scanSecrets(root, { path: "deploy/install" });
      expect(found.map((f) => [f.ruleId, f.severity, f.origin.file])).toEqual([
        ["secrets/private-key", "critical", "deploy/install/tls.pem"],
      ]);
      // Not yet added, not ignored: `git add -A` would commit it, so it is scanned too.
      await writeFile(path.join(root, "deploy/install/new.env"), `GITHUB=${GITHUB}\n`);
      expect((await scanSecrets(root, { path: "deploy/install" })).map((f) => f.origin.file)).toEqual([
        "deploy/install/new.env",
        "deploy/install/tls.pem",
      ]);
    } finally {
      await rm(path.join(root, "deploy/install/new.env"), { force: true });
      await repo.commitFiles({ "deploy/install/tls.pem": null });
    }
  });

  it("`gitward check deploy/install` in the checkout reports nothing from ignored or other files", async () => {
    type Out = { report: { findings: { ruleId: string; origin: { file: string } }[] } };
    const r = await runCli(["check", path.join(root, "deploy/install"), "-o", "json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Out).report.findings).toEqual([]);
    // The scanner does run from the CLI: the whole checkout has the one tracked secret.
    const all = await runCli(["check", root, "-o", "json"]);
    expect(all.code).toBe(1);
    const found = (JSON.parse(all.stdout) as Out).report.findings;
    expect(found.map((f) => [f.ruleId, f.origin.file])).toEqual([["secrets/token", "other/app.env"]]);
  });
});

describe("secret scanner scope outside git", () => {
  it("scans the whole folder, .git excepted (a checkout unpacked from git archive has no ignores)", async () => {
    const dir = path.join(tmp, "plain");
    await mkdir(path.join(dir, "node_modules/x"), { recursive: true });
    await mkdir(path.join(dir, ".git"), { recursive: true });
    await writeFile(path.join(dir, "node_modules/x/a.js"), `t = "${GITHUB}"\n`);
    // A .git folder that is not a repository: git cannot list files, so the folder is walked.
    await writeFile(path.join(dir, ".git/config"), `token = ${GITHUB}\n`);
    const real = await realpath(dir);
    expect((await filesToScan(real, ".")).by).toBe("walk");
    expect((await scanSecrets(real)).map((f) => f.origin.file)).toEqual(["node_modules/x/a.js"]);
  });
});

describe("sealed ciphertext is not a high-entropy finding", () => {
  it("a SealedSecret written by the real `gitward secrets seal` is no finding; a literal token is", async () => {
    const key = await generateSealingKey({ modulusLength: 2048, name: "k" });
    const cert = path.join(tmp, "cert.pem");
    await writeFile(cert, key.certificate!.toString());
    const secret = stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "shop" },
      stringData: { password: "hunter2-but-longer-than-sixteen", api_token: TOKEN },
    });
    const sealed = await runCli(["secrets", "seal", "--cert", cert], { input: secret });
    expect(sealed.code, sealed.stderr).toBe(0);
    expect(sealed.stdout).toMatch(/api_token: [A-Za-z0-9+/]{300,}/);
    const dir = path.join(tmp, "sealed");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "db-sealed.yaml"), sealed.stdout);
    // The same ciphertext outside a SealedSecret is still recognised by its format.
    const value = /api_token: (\S+)/.exec(sealed.stdout)![1]!;
    await writeFile(path.join(dir, "copy.env"), `password=${value}\n`);
    // A SealedSecret's encryptedData is recognised by structure too, whatever its values look like.
    await writeFile(
      path.join(dir, "short.yaml"),
      stringify({
        apiVersion: "bitnami.com/v1alpha1",
        kind: "SealedSecret",
        metadata: { name: "x", namespace: "shop" },
        spec: { encryptedData: { token: TOKEN } },
      }),
    );
    // The file scanner reads the line, whatever the key: a token literal in a ConfigMap is a finding.
    await writeFile(path.join(dir, "cm.yaml"), configMap({ "upstream.auth": TOKEN }));
    const found = await scanSecrets(await realpath(dir));
    expect(found.map((f) => [f.ruleId, f.origin.file])).toEqual([["secrets/high-entropy", "cm.yaml"]]);
  });
});
