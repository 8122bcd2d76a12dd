// Which files the secret scanner reads, below the folder being checked. In a git work tree: the files git
// would commit (tracked, and untracked ones that are not ignored), so node_modules, build output and an
// ignored key file are not findings; elsewhere (a checkout unpacked from `git archive`): every file but .git.
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { confine } from "../../render/confine.js";
import { walk } from "../../render/files.js";
import { gitRaw } from "../../source/git.js";

export interface ScanScope {
  /** Real paths of the files to scan, each inside the root. */
  readonly files: string[];
  /** How they were chosen, for tests and messages. */
  readonly by: "git" | "walk";
}

/** The files to scan below `rel` (repository-relative; "." for all) of the real root `root`. */
export async function filesToScan(root: string, rel: string): Promise<ScanScope> {
  const start = await confine(root, root, rel === "" ? "." : rel);
  if (!start.ok) return { files: [], by: "walk" };
  // Only the root's own .git counts: a checkout unpacked below some other work tree (a temp folder inside
  // a project) would otherwise list none of its files, as they are untracked there.
  if (existsSync(path.join(root, ".git"))) {
    const listed = await gitFiles(root, path.relative(root, start.real) || ".");
    if (listed !== undefined) {
      const files = new Set<string>();
      for (const p of listed) {
        const c = await confine(root, root, p);
        if (c.ok) files.add(c.real);
      }
      return { files: [...files].sort(), by: "git" };
    }
    // git could not list them (a broken or foreign repository): scan everything rather than nothing.
  }
  const st = await stat(start.real).catch(() => undefined);
  if (st?.isFile() === true) return { files: [start.real], by: "walk" };
  return { files: (await walk(root, start.real, () => true)).files, by: "walk" };
}

/**
 * `git ls-files` of what git would commit below `rel` (a literal path, not a pathspec pattern), split on NUL
 * (no quoting), or undefined when git fails.
 */
async function gitFiles(root: string, rel: string): Promise<string[] | undefined> {
  try {
    const out = await gitRaw(
      [
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--full-name",
        "--",
        `:(literal)${rel}`,
      ],
      { cwd: root, timeoutMs: 120_000 },
    );
    return out
      .toString("utf8")
      .split("\0")
      .filter((p) => p !== "");
  } catch {
    return undefined;
  }
}
