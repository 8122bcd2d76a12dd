// Signature verdicts on commits signed by real gpg and ssh-keygen keys, cross-checked commit by commit
// against `git verify-commit` given the same trusted keys (GNUPGHOME keyring / allowed signers file).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommitPolicy } from "../../../src/config/types.js";
import { verifyCommitRange } from "../../../src/trust/commit/range.js";
import { SIGNATURE_CODES, type CommitCode } from "../../../src/trust/commit/verdict.js";
import { isolatedGitEnv, runStatus } from "../../support/git-exec.js";
import { TestRepo } from "../../support/git-repo.js";
import {
  createGitVerifier,
  createGpgSigner,
  createRevocableGpgSigner,
  createSshSigner,
  type Signer,
} from "../../support/signers.js";

interface Case {
  name: string;
  sha: string;
  expected: CommitCode | "TRUSTED";
}

let repo: TestRepo;
const signers: Signer[] = [];
const cases: Case[] = [];
let policy: CommitPolicy;
let verifier: Awaited<ReturnType<typeof createGitVerifier>>;

beforeAll(async () => {
  const [gEd, gRsa, gSub, gExp, gRev, gUnknown, sEd, s256, s384, sRsa, sUnknown, gExpSub] = await Promise.all(
    [
      createGpgSigner("ed25519"),
      createGpgSigner("rsa"),
      createGpgSigner("subkey"),
      createGpgSigner("expired"),
      createRevocableGpgSigner(),
      createGpgSigner("ed25519"),
      createSshSigner("ed25519"),
      createSshSigner("ecdsa-p256"),
      createSshSigner("ecdsa-p384"),
      createSshSigner("rsa"),
      createSshSigner("ed25519"),
      createGpgSigner("expired-subkey"),
    ],
  );
  signers.push(gEd, gRsa, gSub, gExp, gRev, gUnknown, sEd, s256, s384, sRsa, sUnknown, gExpSub);
  repo = await TestRepo.create();
  let n = 0;
  const commit = (signer: Signer | undefined) =>
    repo.commitFiles(
      { [`f${++n}.txt`]: `content ${n}\n` },
      { ...(signer ? { signer } : {}), message: `commit ${n}` },
    );
  const add = async (name: string, signer: Signer | undefined, expected: Case["expected"]) => {
    const sha = await commit(signer);
    cases.push({ name, sha, expected });
    return sha;
  };
  const gpgEdSha = await add("gpg ed25519", gEd, "TRUSTED");
  await add("gpg rsa", gRsa, "TRUSTED");
  await add("gpg signing subkey", gSub, "TRUSTED");
  await add("gpg expired key", gExp, "KEY_EXPIRED");
  await add("gpg expired signing subkey", gExpSub, "KEY_EXPIRED");
  await add("gpg revoked key", gRev, "KEY_REVOKED");
  await add("gpg unknown key", gUnknown, "UNKNOWN_KEY");
  const sshEdSha = await add("ssh ed25519", sEd, "TRUSTED");
  await add("ssh ecdsa p256", s256, "TRUSTED");
  await add("ssh ecdsa p384", s384, "TRUSTED");
  await add("ssh rsa", sRsa, "TRUSTED");
  await add("ssh unknown key", sUnknown, "UNKNOWN_KEY");
  const unsigned = await add("unsigned", undefined, "UNSIGNED");
  cases.push({
    name: "gpg: content changed after signing",
    sha: await repo.tamperCommit(gpgEdSha),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "ssh: content changed after signing",
    sha: await repo.tamperCommit(sshEdSha),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "gpg signature copied onto another commit",
    sha: await repo.copySignature(gpgEdSha, unsigned),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "ssh signature copied onto another commit",
    sha: await repo.copySignature(sshEdSha, unsigned),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "garbage signature header",
    sha: await repo.garbageSignature(unsigned),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "garbage inside PGP armor",
    sha: await repo.garbageSignature(
      unsigned,
      "-----BEGIN PGP SIGNATURE-----\n\nnot*base64!!\n-----END PGP SIGNATURE-----",
    ),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "garbage inside SSH armor",
    sha: await repo.garbageSignature(
      unsigned,
      "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----",
    ),
    expected: "BAD_SIGNATURE",
  });
  cases.push({
    name: "x509 (S/MIME) signature",
    sha: await repo.garbageSignature(
      unsigned,
      "-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n-----END SIGNED MESSAGE-----",
    ),
    expected: "UNSUPPORTED_SIGNATURE",
  });
  // Revoked after it signed, as happens when a key leaks.
  await gRev.revoke();
  const trusted = [gEd, gRsa, gSub, gExp, gExpSub, gRev, sEd, s256, s384, sRsa];
  policy = {
    signers: trusted.map((s) => ({
      name: s.name,
      ...(s.format === "ssh" ? { ssh: [s.publicKey] } : { openpgp: [s.publicKey] }),
      paths: ["**"],
    })),
  };
  verifier = await createGitVerifier(trusted);
}, 120_000);

afterAll(async () => {
  await verifier.cleanup();
  await repo.cleanup();
  await Promise.all(signers.map((s) => s.cleanup()));
});

async function gitVerifyCommit(sha: string): Promise<boolean> {
  const r = await runStatus("git", [...verifier.gitConfig, "verify-commit", sha], {
    cwd: repo.dir,
    env: { ...isolatedGitEnv, ...verifier.env },
  });
  return r.code === 0;
}

describe("commit signatures agree with git verify-commit", () => {
  it("covers every case the issue lists", () => {
    expect(cases.length).toBe(21);
  });

  it.each([
    "gpg ed25519",
    "gpg rsa",
    "gpg signing subkey",
    "gpg expired key",
    "gpg expired signing subkey",
    "gpg revoked key",
    "gpg unknown key",
    "ssh ed25519",
    "ssh ecdsa p256",
    "ssh ecdsa p384",
    "ssh rsa",
    "ssh unknown key",
    "unsigned",
    "gpg: content changed after signing",
    "ssh: content changed after signing",
    "gpg signature copied onto another commit",
    "ssh signature copied onto another commit",
    "garbage signature header",
    "garbage inside PGP armor",
    "garbage inside SSH armor",
    "x509 (S/MIME) signature",
  ])("%s", async (name) => {
    const c = cases.find((x) => x.name === name)!;
    const verdict = await verifyCommitRange({ repoDir: repo.dir, to: c.sha, policy });
    expect(verdict.commits).toHaveLength(1);
    const commit = verdict.commits[0]!;
    expect(commit.code ?? "TRUSTED").toBe(c.expected);
    const signatureAccepted = !commit.findings.some((f) => SIGNATURE_CODES.has(f.code));
    expect(signatureAccepted).toBe(await gitVerifyCommit(c.sha));
    if (c.expected === "TRUSTED") {
      const signer = signers.find((s) => s.name === commit.signer?.names[0])!;
      expect(commit.signer?.fingerprint).toBe(signer.fingerprint);
    }
  });
});
