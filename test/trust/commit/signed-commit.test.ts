// commitSigned (the demo's signer) makes commits that gitward trusts and that `git verify-commit` accepts
// with the same key in an allowed-signers file; a commit by another key is refused by both.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commitSigned, generateSshSigningKey } from "../../../src/trust/commit/signed-commit.js";
import { verifyCommitRange } from "../../../src/trust/commit/range.js";
import { isolatedGitEnv, runStatus } from "../../support/git-exec.js";
import { TestRepo } from "../../support/git-repo.js";

const repos: TestRepo[] = [];
afterAll(async () => {
  await Promise.all(repos.map((r) => r.cleanup()));
});

describe("commitSigned", () => {
  it("signs commits that gitward and git verify-commit both accept", async () => {
    const repo = await TestRepo.create();
    repos.push(repo);
    const key = generateSshSigningKey("demo@gitward.dev");
    const other = generateSshSigningKey("other@gitward.dev");
    const author = { name: "Demo", email: "demo@gitward.dev" };
    await writeFile(path.join(repo.dir, "app.yaml"), "a: 1\n");
    const first = await commitSigned({ repoDir: repo.dir, message: "OPS-1: first", key, author });
    await writeFile(path.join(repo.dir, "app.yaml"), "a: 2\n");
    const second = await commitSigned({ repoDir: repo.dir, message: "OPS-2: second", key, author });
    await writeFile(path.join(repo.dir, "app.yaml"), "a: 3\n");
    const foreign = await commitSigned({ repoDir: repo.dir, message: "OPS-3: third", key: other, author });
    expect(await repo.git("rev-parse", "HEAD")).toBe(foreign);
    expect(await repo.git("rev-parse", `${second}~1`)).toBe(first);

    const policy = { signers: [{ name: "demo", ssh: [key.publicKeyLine], paths: ["**"] }], message: "^OPS-" };
    const v = await verifyCommitRange({ repoDir: repo.dir, from: first, to: foreign, policy });
    expect(v.commits.map((c) => c.code ?? "TRUSTED")).toEqual(["TRUSTED", "UNKNOWN_KEY"]);
    expect(v.commits[0]?.signer?.fingerprint).toBe(key.fingerprint);

    const allowed = path.join(repo.dir, ".git", "allowed_signers");
    await writeFile(allowed, `demo@gitward.dev namespaces="git" ${key.publicKeyLine}\n`);
    const verify = (sha: string) =>
      runStatus("git", ["-c", `gpg.ssh.allowedSignersFile=${allowed}`, "verify-commit", sha], {
        cwd: repo.dir,
        env: isolatedGitEnv,
      });
    expect((await verify(first)).code).toBe(0);
    expect((await verify(second)).code).toBe(0);
    expect((await verify(foreign)).code).not.toBe(0);
  });
});
