// Size limits on a fetched revision, checked before anything reads it: a well-compressing big file, too
// many bytes in all, too many files, the default per-file limit, a commit ref; and git's object checks
// refusing a hostile object with FSCK_FAILED. Each refusal names the commit, the path and the limit; the
// same repository within the limits is fetched.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSource, type FetchOptions } from "../../src/source/fetch.js";
import { DEFAULT_SOURCE_LIMITS, shortPath, sourceLimits } from "../../src/source/limits.js";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { TestRepo } from "../support/git-repo.js";

const MiB = 1024 * 1024;
let root: string;
const repos: TestRepo[] = [];

beforeAll(async () => {
  root = await makeTempDir("limits");
});

afterAll(async () => {
  await Promise.all(repos.map((r) => r.cleanup()));
  await removeDir(root);
});

/**
 * A repository with one commit holding `files` (paths may have one folder level); returns its URL (a
 * local path) and the commit.
 */
async function served(files: Record<string, string | Buffer>): Promise<{ url: string; head: string }> {
  const dir = path.join(root, `repo-${repos.length}`);
  const repo = await TestRepo.create(dir);
  repos.push(repo);
  const top: [string, string][] = [];
  const folders = new Map<string, [string, string][]>();
  for (const [name, content] of Object.entries(files)) {
    const blob = await repo.writeBlob(content);
    const slash = name.indexOf("/");
    if (slash < 0) top.push([name, blob]);
    else {
      const folder = folders.get(name.slice(0, slash)) ?? [];
      folder.push([name.slice(slash + 1), blob]);
      folders.set(name.slice(0, slash), folder);
    }
  }
  for (const [folder, entries] of folders) top.push([`${folder}/`, await repo.writeTree(entries)]);
  const head = await repo.commitTree(await repo.writeTree(top), []);
  return { url: dir, head };
}

async function fetchWith(
  url: string,
  limits?: FetchOptions["limits"],
  ref: FetchOptions["ref"] = { branch: "main" },
) {
  const cacheDir = await makeTempDir("limits-cache");
  try {
    return await fetchSource({ url, ref, cacheDir, ...(limits === undefined ? {} : { limits }) });
  } finally {
    await removeDir(cacheDir);
  }
}

function refusal(r: Awaited<ReturnType<typeof fetchWith>>): { code: string; message: string } {
  if (r.ok) throw new Error("the fetch was expected to be refused");
  return { code: r.error.code, message: r.error.message };
}

describe("revision size limits in fetchSource", () => {
  it("refuses a 5 MB file of zeros over a 1 MB per-file limit, naming commit, path and limit", async () => {
    const { url, head } = await served({ "apps.yaml": "a: 1\n", "big.bin": Buffer.alloc(5 * MiB) });
    const r = refusal(await fetchWith(url, { maxBlobBytes: MiB }));
    expect(r.code).toBe("TOO_LARGE");
    expect(r.message).toBe(
      `TOO_LARGE: commit ${head.slice(0, 12)}: file big.bin is ${5 * MiB} bytes, over the limit of ${MiB} bytes per file (maxBlobBytes); nothing of it was checked out`,
    );
    const ok = await fetchWith(url);
    expect(ok.ok && ok.source.head).toBe(head);
  });

  it("refuses files adding up to more than maxCheckoutBytes, and accepts them under a larger limit", async () => {
    const files = {
      "a.bin": Buffer.alloc(400_000),
      "b.bin": Buffer.alloc(400_000),
      "c.bin": Buffer.alloc(400_000),
    };
    const { url, head } = await served(files);
    const r = refusal(await fetchWith(url, { maxCheckoutBytes: MiB }));
    expect(r.message).toContain(
      `commit ${head.slice(0, 12)}: its files add up to more than ${MiB} bytes (maxCheckoutBytes; over it at c.bin)`,
    );
    const ok = await fetchWith(url, { maxCheckoutBytes: 1_200_000 });
    expect(ok.ok).toBe(true);
  });

  it("refuses more files than maxCheckoutFiles, and accepts exactly that many", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`f${i}.yaml`] = `n: ${i}\n`;
    const { url } = await served(files);
    expect(refusal(await fetchWith(url, { maxCheckoutFiles: 49 })).message).toContain(
      "it has more than 49 files (maxCheckoutFiles)",
    );
    expect((await fetchWith(url, { maxCheckoutFiles: 50 })).ok).toBe(true);
  });

  it("refuses, under the default limits, a file one byte over maxBlobBytes", async () => {
    const limit = DEFAULT_SOURCE_LIMITS.maxBlobBytes;
    const over = await served({ "zeros.bin": Buffer.alloc(limit + 1) });
    const started = performance.now();
    const r = refusal(await fetchWith(over.url));
    console.log(
      `default limit: ${limit + 1}-byte file refused in ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(r.message).toContain(`file zeros.bin is ${limit + 1} bytes, over the limit of ${limit} bytes`);
  });

  it("accepts a file of exactly maxBlobBytes", async () => {
    const { url } = await served({ "exact.bin": Buffer.alloc(MiB) });
    expect((await fetchWith(url, { maxBlobBytes: MiB })).ok).toBe(true);
    expect(refusal(await fetchWith(url, { maxBlobBytes: MiB - 1 })).code).toBe("TOO_LARGE");
  });

  it("checks a commit ref too", async () => {
    const { url, head } = await served({ "big.bin": Buffer.alloc(2 * MiB) });
    expect(refusal(await fetchWith(url, { maxBlobBytes: MiB }, { commit: head })).code).toBe("TOO_LARGE");
    expect((await fetchWith(url, undefined, { commit: head })).ok).toBe(true);
  });

  it("shows a very long path with its middle cut out", async () => {
    const long = `${"a".repeat(300)}/${"b".repeat(300)}.bin`;
    const { url } = await served({ [long]: Buffer.alloc(2 * MiB) });
    const r = refusal(await fetchWith(url, { maxBlobBytes: MiB }));
    expect(r.message).toContain(`file ${"a".repeat(58)}...${"b".repeat(54)}.bin is`);
    expect(r.message.length).toBeLessThan(400);
  });
});

describe("limits", () => {
  it("refuses a limit that is not a positive integer", () => {
    expect(() => sourceLimits({ maxBlobBytes: 0 })).toThrow(/maxBlobBytes must be a positive integer/);
    expect(() => sourceLimits({ maxTreeEntries: 1.5 })).toThrow(/maxTreeEntries/);
    expect(sourceLimits({ maxBlobBytes: 7 }).maxBlobBytes).toBe(7);
  });

  it("cuts long paths in the middle and escapes control characters", () => {
    expect(shortPath("apps/a.yaml")).toBe("apps/a.yaml");
    expect(shortPath("x".repeat(200), 21)).toBe(`${"x".repeat(9)}...${"x".repeat(9)}`);
    expect(shortPath("a\nb")).toBe("a\\nb");
  });
});

describe("git's object checks", () => {
  it("refuses a commit with a hostile author line with FSCK_FAILED naming the object", async () => {
    const dir = path.join(root, "hostile");
    const repo = await TestRepo.create(dir);
    repos.push(repo);
    const tree = await repo.writeTree([["a.yaml", await repo.writeBlob("a: 1\n")]]);
    const bad = await repo.writeRawCommit(
      `tree ${tree}\nauthor A <a@example.com> 1 +99999\ncommitter A <a@example.com> 1 +0000\n\nbad zone\n`,
    );
    await repo.git("update-ref", "refs/heads/main", bad);
    const r = refusal(await fetchWith(dir));
    expect(r.code).toBe("FSCK_FAILED");
    expect(r.message).toContain(`object ${bad}: badTimezone`);
    // The same content with a valid time zone is fetched.
    const good = await repo.writeRawCommit(
      `tree ${tree}\nauthor A <a@example.com> 1 +0100\ncommitter A <a@example.com> 1 +0000\n\ngood zone\n`,
    );
    await repo.git("update-ref", "refs/heads/main", good);
    const ok = await fetchWith(dir);
    expect(ok.ok && ok.source.head).toBe(good);
  });
});
