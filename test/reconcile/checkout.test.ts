// checkoutCommit over real repositories: the files are the verified blobs (no .gitattributes of the
// repository applies), a revision over the size limits is refused before anything is written, and the
// folders a killed gitward left behind are removed while those of live processes stay.
import { spawn } from "node:child_process";
import { lstat, mkdir, readFile, readdir, symlink, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutCommit, cleanStaleCheckouts, ownerMark } from "../../src/reconcile/checkout.js";
import { SourceError } from "../../src/source/errors.js";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { TestRepo } from "../support/git-repo.js";

const MiB = 1024 * 1024;
let repo: TestRepo;
let parent: string;

beforeAll(async () => {
  repo = await TestRepo.create();
  parent = await makeTempDir("checkouts");
});

afterAll(async () => {
  await repo.cleanup();
  await removeDir(parent);
});

async function commit(files: Record<string, string | Buffer>): Promise<string> {
  const entries: [string, string][] = [];
  for (const [name, content] of Object.entries(files)) entries.push([name, await repo.writeBlob(content)]);
  return repo.commitTree(await repo.writeTree(entries), []);
}

const checkouts = async (dir: string) =>
  (await readdir(dir)).filter((n) => n.startsWith("gitward-checkout-"));

describe("checkoutCommit", () => {
  it("writes the blobs as they are: export-subst and export-ignore of the repository do not apply", async () => {
    const text = "commit: $Format:%H$ $Format:%B$\n";
    const head = await commit({
      ".gitattributes": "a.yaml export-subst\nhidden.yaml export-ignore\n",
      "a.yaml": text,
      "hidden.yaml": "kind: Secret\n",
    });
    const co = await checkoutCommit(repo.dir, head, parent);
    try {
      expect(await readFile(path.join(co.dir, "a.yaml"), "utf8")).toBe(text);
      expect(await readFile(path.join(co.dir, "hidden.yaml"), "utf8")).toBe("kind: Secret\n");
    } finally {
      await co.remove();
    }
    expect(await checkouts(parent)).toEqual([]);
  });

  it("refuses a 5 MB file over a 1 MB limit before writing anything, and checks it out under the default", async () => {
    const head = await commit({ "big.bin": Buffer.alloc(5 * MiB) });
    const err = await checkoutCommit(repo.dir, head, parent, { limits: { maxBlobBytes: MiB } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe("TOO_LARGE");
    expect((err as SourceError).message).toContain(
      `commit ${head.slice(0, 12)}: file big.bin is ${5 * MiB} bytes, over the limit of ${MiB} bytes per file (maxBlobBytes)`,
    );
    expect(await checkouts(parent)).toEqual([]);
    const co = await checkoutCommit(repo.dir, head, parent);
    expect((await lstat(path.join(co.dir, "big.bin"))).size).toBe(5 * MiB);
    await co.remove();
  });
});

describe("stale checkout folders", () => {
  it("removes those of a SIGKILLed process and old unmarked ones; keeps live, fresh and foreign ones", async () => {
    const dir = await makeTempDir("stale");
    try {
      const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
      const pid = sleeper.pid ?? 0;
      const folder = async (name: string, mark?: string) => {
        await mkdir(path.join(dir, name));
        if (mark !== undefined) await writeFile(path.join(dir, name, "owner"), mark);
        await writeFile(path.join(dir, name, "tree.tar"), "x");
      };
      await folder("gitward-checkout-killed", await ownerMark(pid));
      await folder("gitward-checkout-live", await ownerMark(process.pid));
      await folder("gitward-checkout-reused", `${process.pid} 1\n`); // this pid, another start time
      await folder("gitward-checkout-unmarked-old");
      const hourAgo = new Date(Date.now() - 3600_000);
      await utimes(path.join(dir, "gitward-checkout-unmarked-old"), hourAgo, hourAgo);
      await folder("gitward-checkout-unmarked-new");
      await folder("unrelated", "1 1\n");
      await mkdir(path.join(dir, "target"));
      await symlink(path.join(dir, "target"), path.join(dir, "gitward-checkout-link"));

      // While the process lives, its folder stays.
      const first = await cleanStaleCheckouts(dir);
      expect(first.map((p) => path.basename(p)).sort()).toEqual([
        "gitward-checkout-reused",
        "gitward-checkout-unmarked-old",
      ]);
      const exited = new Promise((resolve) => sleeper.on("exit", resolve));
      sleeper.kill("SIGKILL");
      await exited;
      expect((await cleanStaleCheckouts(dir)).map((p) => path.basename(p))).toEqual([
        "gitward-checkout-killed",
      ]);
      expect((await readdir(dir)).sort()).toEqual([
        "gitward-checkout-link",
        "gitward-checkout-live",
        "gitward-checkout-unmarked-new",
        "target",
        "unrelated",
      ]);
    } finally {
      await removeDir(dir);
    }
  });

  it("runs before the first checkout into a folder", async () => {
    const dir = await makeTempDir("stale-first");
    try {
      await mkdir(path.join(dir, "gitward-checkout-dead"));
      await writeFile(path.join(dir, "gitward-checkout-dead", "owner"), "999999999 1\n");
      const co = await checkoutCommit(repo.dir, await commit({ "a.yaml": "a: 1\n" }), dir);
      expect(await checkouts(dir)).toEqual([path.basename(path.dirname(co.dir))]);
      await co.remove();
    } finally {
      await removeDir(dir);
    }
  });
});
