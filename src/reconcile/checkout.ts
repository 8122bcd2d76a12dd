// Writes the tree of one verified commit into a fresh private folder for rendering: `git archive` of the
// commit, unpacked by tar, so the files rendered are exactly the ones whose commits were verified (the
// cache mirror is bare, and nothing in it is checked out or changed).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { git } from "../source/git.js";

const run = promisify(execFile);

export interface Checkout {
  readonly dir: string;
  remove(): Promise<void>;
}

export async function checkoutCommit(
  repoDir: string,
  commit: string,
  parent = os.tmpdir(),
): Promise<Checkout> {
  const base = await mkdtemp(path.join(parent, "gitward-checkout-"));
  const remove = () => rm(base, { recursive: true, force: true });
  try {
    const tar = path.join(base, "tree.tar");
    const dir = path.join(base, "tree");
    await git(["archive", "--format=tar", "-o", tar, commit], { cwd: repoDir });
    await mkdir(dir, { mode: 0o700 });
    // --no-same-owner/--no-same-permissions: the files belong to us, whatever the archive says.
    await run("tar", ["-xf", tar, "-C", dir, "--no-same-owner", "--no-same-permissions"], {
      maxBuffer: 1024 * 1024,
    });
    await rm(tar);
    return { dir, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
