// Size limits on what a repository may make gitward read or write: one place for the defaults, and the
// check of a revision's files (sizes from `git ls-tree -r -l`, streamed and stopped at the first excess)
// that runs before any signature work and before a checkout, so a small pack of well-compressing data
// cannot fill the disk, the memory or the clock.
import { spawn } from "node:child_process";
import { SourceError } from "./errors.js";
import { baseGitEnv } from "./git.js";

export interface SourceLimits {
  /** Largest file (blob) of a revision that is checked out. */
  maxBlobBytes: number;
  /** All files of a checked-out revision together. */
  maxCheckoutBytes: number;
  /** Files (blobs, symlinks, submodules) of a checked-out revision. */
  maxCheckoutFiles: number;
  /** Largest tree object (one folder listing) read while verifying. */
  maxTreeBytes: number;
  /** Entries of one tree object. */
  maxTreeEntries: number;
  /** Paths one commit may change against its first parent. */
  maxChangedPaths: number;
}

const MiB = 1024 * 1024;

/** Generous for a config repository, far below what would hurt an operator pod. */
export const DEFAULT_SOURCE_LIMITS: Readonly<SourceLimits> = Object.freeze({
  maxBlobBytes: 32 * MiB,
  maxCheckoutBytes: 512 * MiB,
  maxCheckoutFiles: 100_000,
  maxTreeBytes: 8 * MiB,
  maxTreeEntries: 100_000,
  maxChangedPaths: 100_000,
});

/** The defaults with the given limits laid over them; a limit that is not a positive integer is refused. */
export function sourceLimits(partial: Partial<SourceLimits> = {}): SourceLimits {
  const out: SourceLimits = { ...DEFAULT_SOURCE_LIMITS };
  for (const key of Object.keys(DEFAULT_SOURCE_LIMITS) as (keyof SourceLimits)[]) {
    const v = partial[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new RangeError(`source limit ${key} must be a positive integer, got ${String(v)}`);
    out[key] = v;
  }
  return out;
}

/** Shows a repository path in a message: at most `max` characters, the middle cut out. */
export function shortPath(p: string, max = 120): string {
  const shown = JSON.stringify(p).slice(1, -1); // control characters and quotes escaped
  if (shown.length <= max) return shown;
  const keep = Math.floor((max - 3) / 2);
  return `${shown.slice(0, keep)}...${shown.slice(shown.length - keep)}`;
}

const short = (oid: string) => oid.slice(0, 12);

/**
 * Revisions found within their limits by this process (repository, commit, limits): a commit's files
 * never change, so the reconcile pass that finds the same head again does not list them again.
 */
const withinLimits = new Set<string>();
const WITHIN_LIMITS_SIZE = 1024;

/**
 * Refuses (SourceError TOO_LARGE) a revision whose files are over the limits, naming the commit, the
 * path and the limit. git lists the files with their sizes; the listing is read as it streams and git is
 * stopped at the first excess, so a revision of millions of files costs no more than the limit.
 */
export async function checkRevisionSize(
  repoDir: string,
  commit: string,
  limits: SourceLimits = sourceLimits(),
): Promise<void> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`not an object id: ${commit}`);
  const key = `${repoDir}\u0000${commit}\u0000${JSON.stringify(limits)}`;
  if (withinLimits.has(key)) return;
  const child = spawn("git", ["ls-tree", "-r", "-l", "-z", "--full-tree", commit, "--"], {
    cwd: repoDir,
    env: baseGitEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let files = 0;
  let total = 0;
  let rest = Buffer.alloc(0);
  let problem: SourceError | undefined;
  const tooLarge = (message: string) =>
    new SourceError("TOO_LARGE", `commit ${short(commit)}: ${message}; nothing of it was checked out`);
  const onRecord = (rec: Buffer): SourceError | undefined => {
    // "<mode> <type> <oid> <size, padded>\t<path>"; a submodule's size is "-".
    const tab = rec.indexOf(9);
    if (tab < 0) return new SourceError("FETCH_FAILED", `unexpected git ls-tree output for ${short(commit)}`);
    const meta = rec.subarray(0, tab).toString("latin1").split(" ").filter(Boolean);
    const file = rec.subarray(tab + 1).toString("utf8");
    files++;
    if (files > limits.maxCheckoutFiles)
      return tooLarge(`it has more than ${limits.maxCheckoutFiles} files (maxCheckoutFiles)`);
    const size = meta[3] === "-" ? 0 : Number(meta[3]);
    if (!Number.isSafeInteger(size))
      return new SourceError("FETCH_FAILED", `unexpected git ls-tree output for ${short(commit)}`);
    if (size > limits.maxBlobBytes)
      return tooLarge(
        `file ${shortPath(file)} is ${size} bytes, over the limit of ${limits.maxBlobBytes} bytes per file (maxBlobBytes)`,
      );
    total += size;
    if (total > limits.maxCheckoutBytes)
      return tooLarge(
        `its files add up to more than ${limits.maxCheckoutBytes} bytes (maxCheckoutBytes; over it at ${shortPath(file)})`,
      );
    return undefined;
  };
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  child.stdout.on("data", (chunk: Buffer) => {
    if (problem !== undefined) return;
    // Records are short: a partial one is carried over (at most one record's bytes copied per chunk).
    let data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    for (let nul = data.indexOf(0); nul >= 0; nul = data.indexOf(0)) {
      problem = onRecord(data.subarray(0, nul));
      data = data.subarray(nul + 1);
      if (problem !== undefined) {
        child.kill();
        return;
      }
    }
    rest = Buffer.from(data);
  });
  const code = await exited;
  if (problem !== undefined) throw problem;
  if (code !== 0)
    throw new SourceError(
      "FETCH_FAILED",
      `cannot list the files of commit ${short(commit)}: ${stderr.trim().split("\n").slice(-2).join(" ")}`,
    );
  if (withinLimits.size >= WITHIN_LIMITS_SIZE) withinLimits.clear();
  withinLimits.add(key);
}
