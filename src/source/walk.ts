// The commit walk: which commits a new head brings in since the last applied one (oldest first), whether
// one commit descends from another, and what a ref names in a fetched repository.
import { git, GitCommandError } from "./git.js";

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function isObjectId(value: string): boolean {
  return OID.test(value);
}

/** Commits reachable from `to` and not from any of `exclude`, parents before children. */
export async function listCommits(
  repoDir: string,
  to: string,
  exclude: readonly string[] = [],
): Promise<string[]> {
  for (const oid of [to, ...exclude]) {
    if (!isObjectId(oid)) throw new Error(`not a full commit id: ${JSON.stringify(oid.slice(0, 80))}`);
  }
  const out = await git(["rev-list", "--topo-order", "--reverse", to, ...exclude.map((e) => `^${e}`), "--"], {
    cwd: repoDir,
  });
  return out === "" ? [] : out.split("\n");
}

/** True when `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(repoDir: string, ancestor: string, descendant: string): Promise<boolean> {
  try {
    await git(["merge-base", "--is-ancestor", ancestor, descendant], { cwd: repoDir });
    return true;
  } catch (err) {
    if (err instanceof GitCommandError && err.exitCode === 1) return false;
    throw err;
  }
}

/** True when the repository holds this commit. */
export async function hasCommit(repoDir: string, oid: string): Promise<boolean> {
  if (!isObjectId(oid)) return false;
  try {
    await git(["cat-file", "-e", `${oid}^{commit}`], { cwd: repoDir });
    return true;
  } catch {
    return false;
  }
}

export interface RefInfo {
  /** Full ref name, e.g. refs/heads/main or refs/tags/v1. */
  name: string;
  /** The object the ref points at (a tag object for annotated tags). */
  oid: string;
  /** The commit it names after peeling tags. */
  commit: string;
  /** "tag" for an annotated tag, "commit" otherwise. */
  type: string;
}

/** Branches and tags of a repository, as `for-each-ref` sees them. */
export async function listRefs(
  repoDir: string,
  prefixes: readonly string[] = ["refs/heads/", "refs/tags/"],
): Promise<RefInfo[]> {
  const out = await git(
    ["for-each-ref", "--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)", ...prefixes],
    { cwd: repoDir },
  );
  if (out === "") return [];
  return out.split("\n").map((line) => {
    const [name = "", oid = "", type = "", peeled = ""] = line.split("\0");
    return { name, oid, type, commit: peeled === "" ? oid : peeled };
  });
}

/** Resolves a (possibly abbreviated) commit id to the full id; undefined when it names no commit. */
export async function resolveCommit(repoDir: string, rev: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{4,64}$/i.test(rev)) return undefined;
  try {
    return await git(["rev-parse", "--verify", "--quiet", `${rev.toLowerCase()}^{commit}`], { cwd: repoDir });
  } catch {
    return undefined;
  }
}
