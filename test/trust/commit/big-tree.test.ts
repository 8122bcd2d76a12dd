// Hostile tree shapes in signed commits: a folder of 200,000 entries, refused under the default limits;
// with the limits raised, a signer who may change only apps/** is stopped at the first paths outside its
// authority (not after diffing every entry); trees over the byte limit and changes over the path limit
// are refused with TOO_LARGE, and the same changes within the limits are accepted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommitPolicy } from "../../../src/config/types.js";
import type { SourceLimits } from "../../../src/source/limits.js";
import { verifyCommitRange } from "../../../src/trust/commit/range.js";
import type { RangeVerdict } from "../../../src/trust/commit/verdict.js";
import { TestRepo } from "../../support/git-repo.js";
import { createSshSigner, type Signer } from "../../support/signers.js";

let narrow: Signer;
let broad: Signer;
let repo: TestRepo;
let policy: CommitPolicy;
let base: string;
let wide: string;
let blob: string;

const ENTRIES = 200_000;

/** A tree of `n` files named f000000.yaml... sharing one blob, under `folder/` of the root. */
async function wideTree(folder: string, n: number, extra: [string, string][] = []): Promise<string> {
  const names: [string, string][] = [];
  for (let i = 0; i < n; i++) names.push([`f${String(i).padStart(6, "0")}.yaml`, blob]);
  const sub = await repo.writeTree(names);
  return repo.writeTree([...extra, [`${folder}/`, sub]]);
}

beforeAll(async () => {
  [narrow, broad] = await Promise.all([
    createSshSigner("ed25519", "narrow"),
    createSshSigner("ed25519", "broad"),
  ]);
  policy = {
    signers: [
      { name: "narrow", ssh: [narrow.publicKey], paths: ["apps/**"] },
      { name: "broad", ssh: [broad.publicKey], paths: ["**"] },
    ],
  };
  repo = await TestRepo.create();
  blob = await repo.writeBlob("kind: ConfigMap\n");
  const appsTree = await repo.writeTree([["a.yaml", blob]]);
  base = await repo.commitTree(await repo.writeTree([["apps/", appsTree]]), [], { signer: broad });
  wide = await wideTree("data", ENTRIES, [["apps/", appsTree]]);
}, 120_000);

afterAll(async () => {
  await repo.cleanup();
  await Promise.all([narrow.cleanup(), broad.cleanup()]);
});

/** Raised so that the 200,000-entry folder is read and the path check itself is measured. */
const WIDE = { maxTreeEntries: 300_000, maxTreeBytes: 16 * 1024 * 1024, maxChangedPaths: 300_000 };

/** The verdict on the commits from base to `head`, under `limits` (default the defaults). */
function verifyFromBase(head: string, limits?: Partial<SourceLimits>): Promise<RangeVerdict> {
  return verifyCommitRange({
    repoDir: repo.dir,
    from: base,
    to: head,
    policy,
    ...(limits === undefined ? {} : { limits }),
  });
}

async function timed<T>(what: string, body: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const out = await body();
  console.log(`${what}: ${(performance.now() - started).toFixed(0)} ms`);
  return out;
}

describe("a signed commit adding a folder of 200,000 entries", () => {
  it("is refused with TOO_LARGE under the default limits, naming the tree and the limit", async () => {
    const head = await repo.commitTree(wide, [base], { signer: broad });
    const v = await timed("default limits, broad signer", () => verifyFromBase(head));
    expect(v.trusted).toBe(false);
    expect(v.commits[0]?.code).toBe("TOO_LARGE");
    expect(v.commits[0]?.findings[0]?.message).toMatch(
      new RegExp(
        `^commit ${head.slice(0, 12)}: tree [0-9a-f]{12} has more than 100000 entries \\(maxTreeEntries\\)`,
      ),
    );
  }, 30_000);

  it("stops the path check of a narrow signer at the first paths outside its authority", async () => {
    const head = await repo.commitTree(wide, [base], { signer: narrow });
    const v = await timed("raised limits, narrow signer", () => verifyFromBase(head, WIDE));
    const c = v.commits[0];
    expect(v.trusted).toBe(false);
    expect(c?.code).toBe("NOT_AUTHORIZED_FOR_PATH");
    // Ten paths, not 200,000: the walk stopped.
    expect(c?.pathCheckStopped).toBe(true);
    expect(c?.unauthorizedPaths).toHaveLength(10);
    expect(c?.changedPaths).toHaveLength(10);
    expect(c?.unauthorizedPaths[0]).toBe("data/f000000.yaml");
    expect(c?.findings[0]?.message).toContain("data/f000004.yaml, and at least 5 more;");
  }, 30_000);

  it("accepts the same folder signed by a signer who may change it, within raised limits", async () => {
    const head = await repo.commitTree(wide, [base], { signer: broad });
    const v = await timed("raised limits, broad signer", () => verifyFromBase(head, WIDE));
    expect(v.trusted).toBe(true);
    expect(v.commits[0]?.changedPaths).toHaveLength(ENTRIES);
    expect(v.commits[0]?.pathCheckStopped).toBeUndefined();
  }, 30_000);
});

describe("the side-by-side tree walk", () => {
  it("reports a file that became a folder as both the file and the folder's paths", async () => {
    const before = await repo.commitTree(
      await repo.writeTree([
        ["conf", blob],
        ["z.yaml", blob],
      ]),
      [],
      {
        signer: broad,
      },
    );
    const inner = await repo.writeTree([["role.yaml", blob]]);
    const after = await repo.commitTree(
      await repo.writeTree([
        ["conf/", inner],
        ["conf.d", blob],
        ["z.yaml", blob],
      ]),
      [before],
      { signer: broad },
    );
    const v = await verifyCommitRange({ repoDir: repo.dir, from: before, to: after, policy });
    expect(v.trusted).toBe(true);
    expect(v.commits[0]?.changedPaths).toEqual(["conf", "conf.d", "conf/role.yaml"]);
  });
});

describe("tree and change limits", () => {
  it("refuses a tree object over maxTreeBytes without reading it, and accepts it under the default", async () => {
    const tree = await wideTree("many", 1000, []);
    const head = await repo.commitTree(tree, [base], { signer: broad });
    const refused = await verifyFromBase(head, { maxTreeBytes: 10_000 });
    expect(refused.commits[0]?.code).toBe("TOO_LARGE");
    expect(refused.commits[0]?.findings[0]?.message).toMatch(
      /tree [0-9a-f]{12} is \d+ bytes, over the limit of 10000 bytes per folder \(maxTreeBytes\)/,
    );
    const accepted = await verifyFromBase(head);
    expect(accepted.trusted).toBe(true);
  });

  it("refuses a commit changing more than maxChangedPaths paths, and accepts one at the limit", async () => {
    const tree = await wideTree("many", 1000, []);
    const head = await repo.commitTree(tree, [base], { signer: broad });
    // The change: apps/a.yaml removed, 1,000 files added.
    const over = await verifyFromBase(head, { maxChangedPaths: 1000 });
    expect(over.commits[0]?.code).toBe("TOO_LARGE");
    expect(over.commits[0]?.findings[0]?.message).toContain(
      "the commit changes more than 1000 paths (maxChangedPaths)",
    );
    const at = await verifyFromBase(head, { maxChangedPaths: 1001 });
    expect(at.trusted).toBe(true);
    expect(at.commits[0]?.changedPaths).toHaveLength(1001);
  });
});
