// The commit trust policy over real repositories: path authority per signer (merges included), a bad
// commit in the middle of a range, force-push rewrites, the message pattern, the trusted root, signed
// tags, and hostile input (huge messages, non-UTF-8 bytes, malformed keys and objects).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/config/errors.js";
import type { CommitPolicy } from "../../../src/config/types.js";
import { compileCommitPolicy } from "../../../src/trust/commit/keys.js";
import { verifyCommitRange } from "../../../src/trust/commit/range.js";
import { TestRepo } from "../../support/git-repo.js";
import { createGpgSigner, createSshSigner, type Signer } from "../../support/signers.js";

let platform: Signer;
let security: Signer;
let gpgPlatform: Signer;
let policy: CommitPolicy;
const repos: TestRepo[] = [];

beforeAll(async () => {
  [platform, security, gpgPlatform] = await Promise.all([
    createSshSigner("ed25519", "platform"),
    createSshSigner("ecdsa-p256", "security"),
    createGpgSigner("ed25519", "platform-gpg"),
  ]);
  policy = {
    signers: [
      {
        name: "platform",
        ssh: [platform.publicKey],
        openpgp: [gpgPlatform.publicKey],
        paths: ["apps/**", "README.md"],
      },
      { name: "security", ssh: [security.publicKey], paths: ["rbac/**", "network/**"] },
    ],
  };
}, 60_000);

afterAll(async () => {
  await Promise.all(repos.map((r) => r.cleanup()));
  await Promise.all([platform, security, gpgPlatform].map((s) => s.cleanup()));
});

async function newRepo(): Promise<TestRepo> {
  const r = await TestRepo.create();
  repos.push(r);
  return r;
}

describe("path authority", () => {
  it("names at most five unauthorized paths, long ones cut in the middle, and counts the rest", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/a.yaml": "a\n" }, { signer: platform });
    const long = `rbac/${"d".repeat(60)}/${"x".repeat(150)}.yaml`;
    const files: Record<string, string> = { [long]: "x\n" };
    for (let i = 0; i < 7; i++) files[`rbac/r${i}.yaml`] = `${i}\n`;
    const head = await repo.commitFiles(files, { signer: platform });
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: head, policy });
    const c = v.commits[0];
    expect(c?.unauthorizedPaths).toHaveLength(8);
    expect(c?.pathCheckStopped).toBeUndefined();
    const cut = `rbac/${"d".repeat(53)}...${"x".repeat(53)}.yaml`;
    expect(cut).toHaveLength(119);
    expect(c?.findings[0]?.message).toBe(
      `commit ${head.slice(0, 12)} is signed by platform, who may not change ${cut}, rbac/r0.yaml, rbac/r1.yaml, rbac/r2.yaml, rbac/r3.yaml, and 3 more; have a signer authorized for these paths sign it`,
    );
  });

  it("rejects a platform-signed commit touching rbac/ and accepts the same change signed by security", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/a.yaml": "a\n" }, { signer: platform });
    const byPlatform = await repo.commitFiles({ "rbac/role.yaml": "role\n" }, { signer: platform });
    await repo.setBranch(base);
    const bySecurity = await repo.commitFiles({ "rbac/role.yaml": "role\n" }, { signer: security });

    const rejected = await verifyCommitRange({ repoDir: repo.dir, from: base, to: byPlatform, policy });
    expect(rejected.trusted).toBe(false);
    expect(rejected.commits[0]?.code).toBe("NOT_AUTHORIZED_FOR_PATH");
    expect(rejected.commits[0]?.unauthorizedPaths).toEqual(["rbac/role.yaml"]);
    expect(rejected.commits[0]?.signer?.names).toEqual(["platform"]);

    const accepted = await verifyCommitRange({ repoDir: repo.dir, from: base, to: bySecurity, policy });
    expect(accepted.trusted).toBe(true);
    expect(accepted.commits[0]?.changedPaths).toEqual(["rbac/role.yaml"]);
  });

  it("an OpenPGP key of the same signer carries the same authority", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/a.yaml": "a\n" }, { signer: gpgPlatform });
    const ok = await repo.commitFiles({ "apps/b.yaml": "b\n" }, { signer: gpgPlatform });
    const bad = await repo.commitFiles(
      { "network/np.yaml": "np\n", "apps/c.yaml": "c\n" },
      { signer: gpgPlatform },
    );
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: bad, policy });
    expect(v.commits.map((c) => [c.commit, c.code ?? "TRUSTED"])).toEqual([
      [ok, "TRUSTED"],
      [bad, "NOT_AUTHORIZED_FOR_PATH"],
    ]);
    expect(v.commits[1]?.unauthorizedPaths).toEqual(["network/np.yaml"]);
  });

  it("a merge must be authorized for what it brings in relative to its first parent", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/a.yaml": "a\n" }, { signer: platform });
    await repo.git("checkout", "-q", "-b", "side");
    await repo.commitFiles({ "rbac/role.yaml": "role\n" }, { signer: security });
    await repo.git("checkout", "-q", "main");
    await repo.commitFiles({ "apps/b.yaml": "b\n" }, { signer: platform });
    await repo.gitWith(platform.env, [
      ...platform.gitConfig,
      "-c",
      `user.name=platform`,
      "-c",
      "user.email=p@x",
      "merge",
      "-q",
      "--no-ff",
      "-S",
      "-m",
      "merge side",
      "side",
    ]);
    const merge = await repo.git("rev-parse", "HEAD");
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: merge, policy });
    expect(v.trusted).toBe(false);
    const mergeVerdict = v.commits.find((c) => c.commit === merge)!;
    expect(mergeVerdict.code).toBe("NOT_AUTHORIZED_FOR_PATH");
    expect(mergeVerdict.unauthorizedPaths).toEqual(["rbac/role.yaml"]);
    // The side commit itself, signed by security, is fine.
    expect(v.commits.filter((c) => c.trusted)).toHaveLength(2);
  });
});

describe("ranges and history", () => {
  it("a range with one unsigned commit in the middle fails although HEAD is signed", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    await repo.commitFiles({ "apps/1": "1" }, { signer: platform });
    const bad = await repo.commitFiles({ "apps/2": "2" }, { message: "sneaked in unsigned" });
    await repo.commitFiles({ "apps/3": "3" }, { signer: platform });
    const headSha = await repo.commitFiles({ "apps/4": "4" }, { signer: platform });
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: headSha, policy });
    expect(v.trusted).toBe(false);
    expect(v.commits).toHaveLength(4);
    expect(v.commits.filter((c) => !c.trusted).map((c) => [c.commit, c.code])).toEqual([[bad, "UNSIGNED"]]);
    expect(v.commits[3]?.trusted).toBe(true);
    // Once past the bad commit, the rest verifies.
    expect((await verifyCommitRange({ repoDir: repo.dir, from: bad, to: headSha, policy })).trusted).toBe(
      true,
    );
  });

  it("refuses a force-push that rewrites history, and allows it only when the policy says so", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const applied = await repo.commitFiles({ "apps/1": "1" }, { signer: platform });
    await repo.setBranch(base);
    const rewritten = await repo.commitFiles({ "apps/1": "other" }, { signer: platform });
    const refused = await verifyCommitRange({ repoDir: repo.dir, from: applied, to: rewritten, policy });
    expect(refused.trusted).toBe(false);
    expect(refused.findings.map((f) => f.code)).toEqual(["HISTORY_REWRITTEN"]);
    expect(refused.findings[0]?.message).toContain(applied.slice(0, 12));
    const allowed = await verifyCommitRange({
      repoDir: repo.dir,
      from: applied,
      to: rewritten,
      policy: { ...policy, allowHistoryRewrite: true },
    });
    expect(allowed.trusted).toBe(true);
    expect(allowed.commits.map((c) => c.commit)).toEqual([rewritten]);
    // A last-applied commit the repository no longer has is a rewrite too.
    const gone = await verifyCommitRange({ repoDir: repo.dir, from: "0".repeat(40), to: rewritten, policy });
    expect(gone.findings.map((f) => f.code)).toEqual(["HISTORY_REWRITTEN"]);
  });

  it("first run: verifies back to the trusted root, and rejects a root that is not an ancestor", async () => {
    const repo = await newRepo();
    await repo.commitFiles({ "apps/old": "legacy" }, { message: "before signing was adopted" });
    const root = await repo.commitFiles({ "apps/root": "r" }, { message: "adopt signing" });
    await repo.commitFiles({ "apps/1": "1" }, { signer: platform });
    const headSha = await repo.commitFiles({ "apps/2": "2" }, { signer: platform });
    const ok = await verifyCommitRange({
      repoDir: repo.dir,
      to: headSha,
      policy: { ...policy, trustedRoot: root },
    });
    expect(ok.trusted).toBe(true);
    expect(ok.commits).toHaveLength(2);
    const noRoot = await verifyCommitRange({
      repoDir: repo.dir,
      to: headSha,
      policy: { ...policy, trustedRoot: "f".repeat(40) },
    });
    expect(noRoot.findings.map((f) => f.code)).toEqual(["TRUSTED_ROOT_NOT_FOUND"]);
    const tooOld = await verifyCommitRange({
      repoDir: repo.dir,
      to: headSha,
      policy: { ...policy, trustedRoot: await repo.git("rev-parse", `${root}~1`) },
    });
    expect(tooOld.trusted).toBe(false);
    expect(tooOld.commits.find((c) => c.commit === root)?.code).toBe("UNSIGNED");
  });
});

describe("the head applied last", () => {
  it("brings nothing new: trusted with no commits; verified again alone when this process has not under this policy", async () => {
    const repo = await newRepo();
    const head = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const same = await verifyCommitRange({ repoDir: repo.dir, from: head, to: head, policy });
    expect(same).toMatchObject({ trusted: true, commits: [], findings: [] });
    // An unsigned head the status claims was applied (a forged status, or one from before signing) is
    // not taken on its word: it is verified, and refused.
    const unsigned = await repo.commitFiles({ "apps/1": "1" }, { message: "unsigned" });
    const claimed = await verifyCommitRange({ repoDir: repo.dir, from: unsigned, to: unsigned, policy });
    expect(claimed.trusted).toBe(false);
    expect(claimed.commits.map((c) => c.code)).toEqual(["UNSIGNED"]);
    // A policy that no longer trusts the head's signer refuses the running head on the next pass.
    const revoked: CommitPolicy = {
      signers: [{ name: "security", ssh: [security.publicKey], paths: ["**"] }],
    };
    const after = await verifyCommitRange({ repoDir: repo.dir, from: head, to: head, policy: revoked });
    expect(after.trusted).toBe(false);
    expect(after.commits.map((c) => c.code)).toEqual(["UNKNOWN_KEY"]);
    // A new commit on top is verified as ever.
    const next = await verifyCommitRange({ repoDir: repo.dir, from: head, to: unsigned, policy });
    expect(next.trusted).toBe(false);
    expect(next.commits.map((c) => c.code)).toEqual(["UNSIGNED"]);
    // A head that is not a full object id is refused, even as "from" too.
    const bogus = await verifyCommitRange({ repoDir: repo.dir, from: "main", to: "main", policy });
    expect(bogus.findings.map((f) => f.code)).toEqual(["OBJECT_MISSING"]);
  });

  it("a policy compiled once is reused by content; one that does not compile fails every time", async () => {
    const repo = await newRepo();
    const head = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const copy = JSON.parse(JSON.stringify(policy)) as CommitPolicy;
    expect((await verifyCommitRange({ repoDir: repo.dir, to: head, policy: copy })).trusted).toBe(true);
    // The same content with another key is another policy: the old compiled one is not used for it.
    const other = { ...copy, signers: [{ name: "security", ssh: [security.publicKey], paths: ["**"] }] };
    const refused = await verifyCommitRange({ repoDir: repo.dir, to: head, policy: other });
    expect(refused.commits[0]?.code).toBe("UNKNOWN_KEY");
    const broken = { signers: [{ name: "x", ssh: ["not a key"], paths: ["**"] }] };
    for (let i = 0; i < 2; i++) {
      await expect(verifyCommitRange({ repoDir: repo.dir, to: head, policy: broken })).rejects.toThrow(
        ConfigError,
      );
    }
  });
});

describe("message pattern and tags", () => {
  it("enforces the commit message pattern", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/0": "0" }, { signer: platform, message: "OPS-1: start" });
    const good = await repo.commitFiles(
      { "apps/1": "1" },
      { signer: platform, message: "OPS-12: scale shop" },
    );
    const bad = await repo.commitFiles({ "apps/2": "2" }, { signer: platform, message: "quick fix" });
    const p = { ...policy, message: "^(OPS|SEC)-[0-9]+: " };
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: bad, policy: p });
    expect(v.commits.map((c) => [c.commit, c.code ?? "TRUSTED"])).toEqual([
      [good, "TRUSTED"],
      [bad, "MESSAGE_POLICY"],
    ]);
  });

  it("verifies a signed annotated tag, and refuses an unsigned one", async () => {
    const repo = await newRepo();
    const headSha = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const signedTag = await repo.tag("v1", headSha, { signer: security });
    const plainTag = await repo.tag("v2", headSha);
    const signed = await verifyCommitRange({ repoDir: repo.dir, to: headSha, tagObject: signedTag, policy });
    expect(signed.trusted).toBe(true);
    expect(signed.tag?.signer?.names).toEqual(["security"]);
    const plain = await verifyCommitRange({ repoDir: repo.dir, to: headSha, tagObject: plainTag, policy });
    expect(plain.trusted).toBe(false);
    expect(plain.tag?.code).toBe("UNSIGNED");
  });
});

describe("bad input", () => {
  it("handles a 10 MB commit message and non-UTF-8 bytes without crashing", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const huge = await repo.commitFiles(
      { "apps/1": "1" },
      { signer: platform, message: "OPS-1: " + "x".repeat(10 * 1024 * 1024) },
    );
    const latin = await repo.commitFiles(
      { "apps/caf\u00e9.yaml": Buffer.from([0xff, 0xfe]) },
      {
        signer: platform,
        message: Buffer.from([0x4f, 0x50, 0x53, 0x2d, 0x31, 0x3a, 0x20, 0xff, 0xc3, 0x28, 0x0a]),
        encoding: "ISO-8859-1",
      },
    );
    const v = await verifyCommitRange({
      repoDir: repo.dir,
      from: base,
      to: latin,
      policy: { ...policy, message: "^OPS-[0-9]+: " },
    });
    expect((await repo.readRaw(latin)).includes(Buffer.from([0x20, 0xff, 0xc3, 0x28]))).toBe(true);
    expect(v.commits.map((c) => c.commit)).toEqual([huge, latin]);
    expect(v.trusted).toBe(true);
    expect(v.commits[0]?.subject.length).toBe(200);
  });

  it("refuses a commit object with two signature headers as malformed", async () => {
    const repo = await newRepo();
    const signed = await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const raw = (await repo.readRaw(signed)).toString("utf8");
    const sigStart = raw.indexOf("gpgsig ");
    const sigEnd = raw.indexOf("\n\n");
    const doubled = raw.slice(0, sigEnd + 1) + raw.slice(sigStart, sigEnd + 1) + raw.slice(sigEnd + 1);
    const sha = await repo.writeRawCommit(doubled);
    const v = await verifyCommitRange({ repoDir: repo.dir, to: sha, policy });
    expect(v.commits[0]?.code).toBe("MALFORMED_COMMIT");
  });

  it("names the signer and key for malformed armor, a key file that is not a key, and a bad pattern", async () => {
    const cases: [CommitPolicy, RegExp][] = [
      [
        {
          signers: [
            {
              name: "ops",
              openpgp: ["-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n-----END PGP PUBLIC KEY BLOCK-----"],
              paths: ["**"],
            },
          ],
        },
        /signers\[0\] \(ops\).*openpgp\[0\]/,
      ],
      [
        { signers: [{ name: "ops", openpgp: ["this is a README, not a key"], paths: ["**"] }] },
        /openpgp\[0\] is not an armored/,
      ],
      [
        { signers: [{ name: "ops", ssh: ["ssh-ed25519 AAAAnotakey"], paths: ["**"] }] },
        /ssh\[0\] is not a usable SSH public key/,
      ],
      [
        {
          signers: [
            {
              name: "ops",
              ssh: [security.publicKey.replace("ecdsa-sha2-nistp256", "ssh-ed25519")],
              paths: ["**"],
            },
          ],
        },
        /ssh\[0\]/,
      ],
      [
        { signers: [{ name: "ops", ssh: [platform.publicKey], paths: ["**"] }], message: "([" },
        /message is not a valid regular expression/,
      ],
    ];
    for (const [p, re] of cases) {
      await expect(compileCommitPolicy(p)).rejects.toSatisfy(
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
      );
    }
  });

  it("reports a head that is not in the repository", async () => {
    const repo = await newRepo();
    await repo.commitFiles({ "apps/0": "0" }, { signer: platform });
    const v = await verifyCommitRange({ repoDir: repo.dir, to: "e".repeat(40), policy });
    expect(v.trusted).toBe(false);
    expect(v.findings.map((f) => f.code)).toEqual(["OBJECT_MISSING"]);
  });
});

describe("SHA-256 repositories", () => {
  it("verifies the gpgsig-sha256 signature of a commit in a SHA-256 repository", async () => {
    const repo = await TestRepo.create(undefined, { objectFormat: "sha256" });
    repos.push(repo);
    const sha = await repo.commitFiles({ "apps/a.yaml": "a" }, { signer: platform });
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect((await repo.readRaw(sha)).toString("utf8")).toContain("gpgsig-sha256 ");
    const ok = await verifyCommitRange({ repoDir: repo.dir, to: sha, policy });
    expect(ok.trusted).toBe(true);
    expect(ok.commits[0]?.changedPaths).toEqual(["apps/a.yaml"]);
    const tampered = await verifyCommitRange({ repoDir: repo.dir, to: await repo.tamperCommit(sha), policy });
    expect(tampered.commits[0]?.code).toBe("BAD_SIGNATURE");
  });
});

describe("a key held by several signers", () => {
  it("may change the union of their paths, and is reported under every name", async () => {
    const repo = await newRepo();
    const base = await repo.commitFiles({ "apps/a": "a" }, { signer: platform });
    const both = await repo.commitFiles({ "apps/b": "b", "rbac/r": "r" }, { signer: platform });
    const shared: CommitPolicy = {
      signers: [
        { name: "platform", ssh: [platform.publicKey], paths: ["apps/**"] },
        { name: "lead", ssh: [platform.publicKey], paths: ["rbac/**"] },
      ],
    };
    const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: both, policy: shared });
    expect(v.trusted).toBe(true);
    expect(v.commits[0]?.signer?.names).toEqual(["platform", "lead"]);
  });
});
