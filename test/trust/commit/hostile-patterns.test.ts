// The TrustPolicy's own patterns against hostile commits, through the whole range verification with real
// git and real signatures: a message rule `^(a+)+$` against a 10^5-character signed message, and a signer
// path glob `apps/*/*-*-*-*.yaml` against a file name of 1,000 characters (git's trees allow it; no file
// system would). A backtracking engine needs exponential time on both; RE2 and gitward's globs answer in
// well under 50 ms (test/match), so the whole verdict here takes what git takes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommitPolicy } from "../../../src/config/types.js";
import { verifyCommitRange } from "../../../src/trust/commit/range.js";
import type { RangeVerdict } from "../../../src/trust/commit/verdict.js";
import { TestRepo } from "../../support/git-repo.js";
import { createSshSigner, type Signer } from "../../support/signers.js";

let narrow: Signer;
let broad: Signer;
let repo: TestRepo;
let base: string;
let blob: string;

/** Generous for a shared machine; the backtracking engines this replaces need hours or more. */
const BOUND_MS = 5_000;

beforeAll(async () => {
  [narrow, broad] = await Promise.all([
    createSshSigner("ed25519", "narrow"),
    createSshSigner("ed25519", "broad"),
  ]);
  repo = await TestRepo.create();
  blob = await repo.writeBlob("kind: ConfigMap\n");
  base = await repo.commitTree(await repo.writeTree([["README", blob]]), [], { signer: broad });
}, 60_000);

afterAll(async () => {
  await repo.cleanup();
  await Promise.all([narrow.cleanup(), broad.cleanup()]);
});

async function timedVerdict(head: string, policy: CommitPolicy): Promise<{ v: RangeVerdict; ms: number }> {
  const t = performance.now();
  const v = await verifyCommitRange({ repoDir: repo.dir, from: base, to: head, policy });
  return { v, ms: performance.now() - t };
}

/** A commit on base adding apps/x/<name>, signed by `signer`. */
async function addFile(name: string, signer: Signer, message?: string): Promise<string> {
  const x = await repo.writeTree([[name, blob]]);
  const apps = await repo.writeTree([["x/", x]]);
  const tree = await repo.writeTree([
    ["README", blob],
    ["apps/", apps],
  ]);
  return repo.commitTree(tree, [base], { signer, ...(message === undefined ? {} : { message }) });
}

describe("hostile commits against the TrustPolicy's patterns", () => {
  it("message rule ^(a+)+$ against a 10^5-character signed message: refused quickly; a matching one passes", async () => {
    const policy: CommitPolicy = {
      signers: [{ name: "broad", ssh: [broad.publicKey], paths: ["**"] }],
      message: "^(a+)+$",
    };
    const hostile = await addFile("a.yaml", broad, "a".repeat(100_000) + "!");
    const refused = await timedVerdict(hostile, policy);
    expect(refused.v.trusted).toBe(false);
    expect(refused.v.commits.map((c) => c.code)).toEqual(["MESSAGE_POLICY"]);
    expect(refused.ms).toBeLessThan(BOUND_MS);

    const fine = await addFile("a.yaml", broad, "a".repeat(100_000));
    const accepted = await timedVerdict(fine, policy);
    expect(accepted.v.trusted).toBe(true);
    expect(accepted.ms).toBeLessThan(BOUND_MS);
  });

  it("signer glob apps/*/*-*-*-*.yaml against a 1,000-character file name: refused quickly; a-b-c-d.yaml passes", async () => {
    const policy: CommitPolicy = {
      signers: [{ name: "narrow", ssh: [narrow.publicKey], paths: ["apps/*/*-*-*-*.yaml"] }],
    };
    const name = "-".repeat(996) + ".yml";
    expect(name.length).toBe(1_000);
    const hostile = await addFile(name, narrow);
    const refused = await timedVerdict(hostile, policy);
    expect(refused.v.trusted).toBe(false);
    const c = refused.v.commits[0];
    expect([c?.code, c?.unauthorizedPaths]).toEqual(["NOT_AUTHORIZED_FOR_PATH", [`apps/x/${name}`]]);
    expect(refused.ms).toBeLessThan(BOUND_MS);

    const fine = await addFile("-".repeat(988) + "a-b-c-d.yaml", narrow);
    const accepted = await timedVerdict(fine, policy);
    expect(accepted.v.trusted).toBe(true);
    expect(accepted.ms).toBeLessThan(BOUND_MS);
  });
});
