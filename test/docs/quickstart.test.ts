// docs/quickstart.md as a user follows it: its gitward.yaml (with real SSH keys for the placeholders),
// the documented git config for SSH signing, `gitward verify commits --trust gitward.yaml` (the
// multi-document file), the path-scoped second team refused outside its paths, and an unsigned commit
// refused until re-signed with the documented `git commit --amend --no-edit -S`.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, removeDir, run } from "../support/git-exec.js";
import { createSshSigner, type Signer } from "../support/signers.js";
import { repoRoot, runCli } from "../support/tools.js";

let dir: string;
let repo: string;
let platform: Signer;
let web: Signer;

const git = (...args: string[]) => run("git", ["-C", repo, ...args]);

/** Configures the repository for `signer` exactly as the quickstart says. */
async function signAs(signer: Signer): Promise<void> {
  await git("config", "gpg.format", "ssh");
  await git("config", "user.signingkey", `${signer.privateKeyPath!}.pub`);
  await git("config", "commit.gpgsign", "true");
  await git("config", "user.email", signer.email);
}

async function commit(file: string, text: string, extra: string[] = []): Promise<void> {
  await mkdir(path.dirname(path.join(repo, file)), { recursive: true });
  await writeFile(path.join(repo, file), text);
  await git("add", "-A");
  await git(...extra, "commit", "-q", "-m", `change ${file}`);
}

const verify = () =>
  runCli(["verify", "commits", "--repo", repo, "--trust", path.join(dir, "gitward.yaml"), "--ref", "main"]);

beforeAll(async () => {
  dir = await makeTempDir("quickstart");
  [platform, web] = await Promise.all([
    createSshSigner("ed25519", "platform"),
    createSshSigner("ed25519", "web"),
  ]);
  const doc = await readFile(path.join(repoRoot, "docs", "quickstart.md"), "utf8");
  const block = /```yaml gitward\.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(block).toBeDefined();
  await writeFile(
    path.join(dir, "gitward.yaml"),
    block!
      .replace("PLATFORM_SSH_PUBLIC_KEY", platform.publicKey)
      .replace("WEB_SSH_PUBLIC_KEY", web.publicKey),
  );
  repo = path.join(dir, "config");
  await run("git", ["init", "-q", "-b", "main", repo]);
  await git("config", "user.name", "Quick Start");
  await signAs(platform);
  await commit("apps/base.yaml", "a: 1\n");
});

afterAll(async () => {
  await Promise.all([platform.cleanup(), web.cleanup(), removeDir(dir)]);
});

describe("the quickstart", () => {
  it("its gitward.yaml and signing setup verify; the web team is refused outside apps/web", async () => {
    await signAs(web);
    await commit("apps/web/deploy.yaml", "b: 1\n");
    const ok = await verify();
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);

    await commit("apps/api/deploy.yaml", "c: 1\n");
    const refused = await verify();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("NOT_AUTHORIZED_FOR_PATH");
    await git("reset", "-q", "--hard", "HEAD~1");
  });

  it("an unsigned commit is refused until re-signed with git commit --amend --no-edit -S", async () => {
    await signAs(platform);
    await commit("apps/web/unsigned.yaml", "d: 1\n", ["-c", "commit.gpgsign=false"]);
    const refused = await verify();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("UNSIGNED");
    await git("commit", "-q", "--amend", "--no-edit", "-S");
    const ok = await verify();
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  });
});
