// `gitward verify commits` and `gitward verify repo` run as the built CLI against real servers (smart HTTP
// with basic auth, sshd with known_hosts): output per commit, exit codes 0/1/2, and no credential in output.
// Needs the built CLI (npm test builds first; alone: `npx tsc -p .`).
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { TestRepo } from "../support/git-repo.js";
import {
  startGitHttpServer,
  startSshGitServer,
  type GitHttpServer,
  type SshGitServer,
} from "../support/git-server.js";
import { createGpgSigner, createSshSigner, type Signer } from "../support/signers.js";
import { cliEntry } from "../support/tools.js";

const PASSWORD = "cli-Secret-9f8e7d";
let work: string;
let repo: TestRepo;
let http: GitHttpServer;
let ssh: SshGitServer;
let platform: Signer;
let security: Signer;
let trustFile: string;
let base: string;
let good: string;
let bad: string;
const outputs: string[] = [];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function gitward(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliEntry, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 99;
        outputs.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  work = await makeTempDir("cli-verify");
  [platform, security] = await Promise.all([
    createSshSigner("ed25519", "platform"),
    createGpgSigner("ed25519", "security"),
  ]);
  repo = await TestRepo.create(path.join(work, "served", "config"));
  base = await repo.commitFiles({ "apps/a.yaml": "a\n" }, { signer: platform, message: "OPS-1: base" });
  good = await repo.commitFiles({ "rbac/role.yaml": "r\n" }, { signer: security, message: "SEC-2: role" });
  bad = await repo.commitFiles(
    { "rbac/role.yaml": "r2\n", "apps/b.yaml": "b\n" },
    { signer: platform, message: "OPS-3: widen role" },
  );
  trustFile = path.join(work, "trust.yaml");
  await writeFile(
    trustFile,
    stringify({
      apiVersion: "gitward.dev/v1alpha1",
      kind: "TrustPolicy",
      metadata: { name: "production" },
      spec: {
        commits: {
          signers: [
            { name: "platform", ssh: [platform.publicKey], emails: [platform.email], paths: ["apps/**"] },
            { name: "security", openpgp: [security.publicKey], emails: [security.email], paths: ["rbac/**"] },
          ],
          expectedRefs: ["refs/heads/main", "refs/tags/v*"],
        },
      },
    }),
  );
  [http, ssh] = await Promise.all([
    startGitHttpServer({ root: path.join(work, "served"), username: "deploy", password: PASSWORD }),
    startSshGitServer(path.join(work, "served")),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([http.stop(), ssh.stop(), platform.cleanup(), security.cleanup()]);
  await removeDir(work);
  for (const o of outputs) expect(o).not.toContain(PASSWORD);
});

const httpAuth = { GITWARD_GIT_PASSWORD: PASSWORD };

describe("gitward verify commits", () => {
  it("exits 0 and names signer and key for a trusted range over HTTP with basic auth", async () => {
    const r = await gitward(
      [
        "verify",
        "commits",
        "--repo",
        http.url("config"),
        "--ref",
        good,
        "--since",
        base,
        "--trust",
        trustFile,
        "--username",
        "deploy",
      ],
      httpAuth,
    );
    expect(r.stderr).toBe("");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${good.slice(0, 12)} TRUSTED signer=security key=${security.fingerprint}`);
  });

  it("exits 1 and reports the unauthorized path, in text and JSON", async () => {
    const args = [
      "verify",
      "commits",
      "--repo",
      http.url("config"),
      "--ref",
      "main",
      "--since",
      base.slice(0, 10),
      "--trust",
      trustFile,
      "--username",
      "deploy",
    ];
    const text = await gitward(args, httpAuth);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain(`FAIL ${bad.slice(0, 12)} NOT_AUTHORIZED_FOR_PATH signer=platform`);
    expect(text.stdout).toContain("unauthorized=rbac/role.yaml");
    const json = await gitward([...args, "-o", "json"], httpAuth);
    expect(json.code, json.stderr).toBe(1);
    const parsed = JSON.parse(json.stdout) as {
      trusted: boolean;
      commits: {
        sha: string;
        code: string | null;
        signer: string[];
        keyFingerprint: string;
        unauthorizedPaths: string[];
        author: { email: string };
      }[];
    };
    expect(parsed.trusted).toBe(false);
    expect(parsed.commits.map((c) => [c.sha, c.code])).toEqual([
      [good, null],
      [bad, "NOT_AUTHORIZED_FOR_PATH"],
    ]);
    expect(parsed.commits[1]).toMatchObject({
      signer: ["platform"],
      keyFingerprint: platform.fingerprint,
      unauthorizedPaths: ["rbac/role.yaml"],
      author: { email: platform.email },
    });
  });

  it("fetches over SSH with --ssh-key and --known-hosts", async () => {
    const kh = path.join(work, "known_hosts");
    await writeFile(kh, ssh.knownHosts + "\n");
    const r = await gitward([
      "verify",
      "commits",
      "--repo",
      ssh.url("config"),
      "--ref",
      good,
      "--since",
      base,
      "--trust",
      trustFile,
      "--ssh-key",
      ssh.clientKeyPath,
      "--known-hosts",
      kh,
    ]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("exits 2 with file:line for a trust policy that does not parse", async () => {
    const broken = path.join(work, "broken.yaml");
    await writeFile(
      broken,
      "apiVersion: gitward.dev/v1alpha1\nkind: TrustPolicy\nmetadata: {name: x\nspec: [\n",
    );
    const r = await gitward(["verify", "commits", "--repo", repo.dir, "--trust", broken]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+/);
  });

  it("exits 2 for a key that is not a key, naming the signer", async () => {
    const notKey = path.join(work, "notkey.yaml");
    await writeFile(
      notKey,
      stringify({
        apiVersion: "gitward.dev/v1alpha1",
        kind: "TrustPolicy",
        metadata: { name: "x" },
        spec: { commits: { signers: [{ name: "ops", openpgp: ["hello, I am not a key"], paths: ["**"] }] } },
      }),
    );
    const r = await gitward(["verify", "commits", "--repo", repo.dir, "--trust", notKey]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/notkey\.yaml.*ops.*openpgp\[0\]/);
  });

  it("exits 2 for a URL with credentials embedded, without printing them", async () => {
    const r = await gitward([
      "verify",
      "commits",
      "--repo",
      `http://deploy:${PASSWORD}@127.0.0.1:${http.port}/config`,
      "--trust",
      trustFile,
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("CREDENTIALS_IN_URL");
  });
});

describe("hostile repository content", () => {
  /** A repository whose main branch is a commit git's object checks refuse (a bad time zone). */
  async function hostileRepo(): Promise<{ dir: string; bad: string }> {
    const hostile = await TestRepo.create(path.join(work, "hostile"));
    const tree = await hostile.writeTree([["a.yaml", await hostile.writeBlob("a: 1\n")]]);
    const commit = await hostile.writeRawCommit(
      `tree ${tree}\nauthor A <a@example.com> 1 +99999\ncommitter A <a@example.com> 1 +0000\n\nbad zone\n`,
    );
    await hostile.git("update-ref", "refs/heads/main", commit);
    return { dir: hostile.dir, bad: commit };
  }

  it("exits 1 (refused, not a usage error) for an object git's checks refuse, in text and JSON", async () => {
    const { dir, bad } = await hostileRepo();
    const text = await gitward(["verify", "commits", "--repo", dir, "--trust", trustFile]);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain(
      `FAIL FSCK_FAILED: ${dir} holds an object that git's checks refuse (object ${bad}: badTimezone`,
    );
    const json = await gitward(["verify", "commits", "--repo", dir, "--trust", trustFile, "-o", "json"]);
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout) as { trusted: boolean; findings: { code: string }[] };
    expect(out.trusted).toBe(false);
    expect(out.findings.map((f) => f.code)).toEqual(["FSCK_FAILED"]);
    const audit = await gitward(["verify", "repo", "--repo", dir, "--trust", trustFile]);
    expect(audit.code, audit.stderr).toBe(1);
    expect(audit.stdout).toContain("FAIL FSCK_FAILED: ");
  });

  it("still exits 2 for a repository that is not there", async () => {
    const r = await gitward([
      "verify",
      "commits",
      "--repo",
      path.join(work, "nowhere"),
      "--trust",
      trustFile,
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("FETCH_FAILED");
  });
});

describe("gitward verify repo", () => {
  it("flags an unexpected branch and an unknown committer", async () => {
    const clean = await gitward(["verify", "repo", "--repo", repo.dir, "--trust", trustFile]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain("ref  refs/heads/main");
    await repo.git("checkout", "-q", "-b", "rogue");
    const intruder = await repo.commitFiles(
      { "apps/x": "x" },
      { author: { name: "Mallory", email: "mallory@evil.example" } },
    );
    await repo.git("checkout", "-q", "main");
    const r = await gitward(["verify", "repo", "--repo", repo.dir, "--trust", trustFile, "-o", "json"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const audit = JSON.parse(r.stdout) as { findings: { code: string; subject: string }[] };
    expect(audit.findings).toEqual([
      expect.objectContaining({ code: "UNEXPECTED_REF", subject: "refs/heads/rogue" }),
      expect.objectContaining({ code: "UNKNOWN_COMMITTER", subject: intruder }),
    ]);
  });
});
