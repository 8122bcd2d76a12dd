// Writes the tree of one verified commit into a fresh private folder for rendering: `git archive` of the
// commit streamed into tar, so the files rendered are exactly the blobs whose commits were verified (no
// .gitattributes of the repository applies: no export-subst, no export-ignore). The revision's sizes are
// checked first, and folders left behind by a killed gitward are removed before the first checkout.
import { spawn } from "node:child_process";
import { readFile, readdir, lstat, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SourceError } from "../source/errors.js";
import { baseGitEnv } from "../source/git.js";
import { checkRevisionSize, sourceLimits, type SourceLimits } from "../source/limits.js";

export interface Checkout {
  readonly dir: string;
  remove(): Promise<void>;
}

export interface CheckoutOptions {
  /** Size limits (default DEFAULT_SOURCE_LIMITS). */
  limits?: Partial<SourceLimits>;
  /** Kills git and tar after this long (default 5 minutes). */
  timeoutMs?: number;
}

const PREFIX = "gitward-checkout-";
/** Inside each checkout folder: "<pid> <process start time>" of the gitward process using it. */
const OWNER_FILE = "owner";
/** A folder without an owner file is left alone this long (its creator may be about to write one). */
const UNOWNED_GRACE_MS = 10 * 60_000;
/** The empty tree's id per object format: an attribute source that has no .gitattributes. */
const EMPTY_TREE: Record<number, string> = {
  40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
};

export async function checkoutCommit(
  repoDir: string,
  commit: string,
  parent = os.tmpdir(),
  opts: CheckoutOptions = {},
): Promise<Checkout> {
  await cleanStaleOnce(parent);
  const limits = sourceLimits(opts.limits);
  await checkRevisionSize(repoDir, commit, limits);
  const base = await mkdtemp(path.join(parent, PREFIX));
  const remove = () => rm(base, { recursive: true, force: true });
  try {
    await writeFile(path.join(base, OWNER_FILE), await ownerMark(process.pid), { mode: 0o600 });
    const dir = path.join(base, "tree");
    await mkdir(dir, { mode: 0o700 });
    await extract(repoDir, commit, dir, limits, opts.timeoutMs ?? 300_000);
    return { dir, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** `git archive | tar -x`, with the bytes between them counted: never more than the limits allow. */
async function extract(
  repoDir: string,
  commit: string,
  dir: string,
  limits: SourceLimits,
  timeoutMs: number,
): Promise<void> {
  const emptyTree = EMPTY_TREE[commit.length] ?? EMPTY_TREE[40];
  // --worktree-attributes in a bare mirror and an empty attr.tree: the repository's own .gitattributes
  // (export-subst could expand text, export-ignore hide files) are not read.
  const archive = spawn(
    "git",
    [
      "-c",
      "core.attributesFile=/dev/null",
      "-c",
      `attr.tree=${emptyTree}`,
      "archive",
      "--worktree-attributes",
      "--format=tar",
      commit,
    ],
    { cwd: repoDir, env: { ...baseGitEnv(), GIT_ATTR_NOSYSTEM: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  // --no-same-owner/--no-same-permissions: the files belong to us, whatever the archive says.
  const tar = spawn("tar", ["-x", "--ignore-zeros", "-C", dir, "--no-same-owner", "--no-same-permissions"], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  const errors = { git: "", tar: "" };
  archive.stderr.on("data", (d: Buffer) => (errors.git = (errors.git + d.toString()).slice(-2000)));
  tar.stderr.on("data", (d: Buffer) => (errors.tar = (errors.tar + d.toString()).slice(-2000)));
  // A tar stream is the files plus a 512-byte header and up to 511 bytes of padding per entry (long
  // names take more headers), and 10 KiB at the end.
  const maxBytes = limits.maxCheckoutBytes + limits.maxCheckoutFiles * 4096 + 10_240;
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes)
        done(
          new SourceError(
            "TOO_LARGE",
            `commit ${commit.slice(0, 12)}: the checkout is over ${maxBytes} bytes (maxCheckoutBytes); nothing of it was used`,
          ),
        );
      else done(null, chunk);
    },
  });
  const exited = (child: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
  const done = Promise.all([exited(archive), exited(tar)]);
  const timer = setTimeout(() => {
    archive.kill("SIGKILL");
    tar.kill("SIGKILL");
  }, timeoutMs);
  try {
    await pipeline(archive.stdout, counter, tar.stdin).catch((err: unknown) => {
      archive.kill("SIGKILL");
      tar.kill("SIGKILL");
      throw err;
    });
    const [gitCode, tarCode] = await done;
    if (gitCode !== 0)
      throw new Error(`git archive of ${commit} failed (exit ${String(gitCode)}): ${errors.git.trim()}`);
    if (tarCode !== 0)
      throw new Error(`tar of ${commit} failed (exit ${String(tarCode)}): ${errors.tar.trim()}`);
  } finally {
    clearTimeout(timer);
    await done.catch(() => undefined);
  }
}

/** "<pid> <start time>": the start time tells a live process from a later one that reuses the pid. */
export async function ownerMark(pid: number): Promise<string> {
  return `${pid} ${(await startTime(pid)) ?? "?"}\n`;
}

/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), if it is running. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

async function ownerAlive(mark: string): Promise<boolean> {
  const [pidText, started] = mark.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: the pid now belongs to another user's process, so not the gitward of the mark.
    return false;
  }
  const now = await startTime(pid);
  // Without /proc the pid alone decides; with it, a different start time means the pid was reused.
  return now === undefined || started === "?" || now === started;
}

/**
 * Removes the checkout folders under `parent` that a gitward process left behind when it was killed:
 * folders of this user whose owner process is gone (or whose pid now belongs to another process), and
 * folders with no owner mark that are older than ten minutes. Returns the folders removed.
 */
export async function cleanStaleCheckouts(parent = os.tmpdir(), now = Date.now()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, name);
    try {
      const st = await lstat(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const mark = await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => undefined);
      const stale = mark === undefined ? now - st.mtimeMs > UNOWNED_GRACE_MS : !(await ownerAlive(mark));
      if (!stale) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Gone meanwhile, or not ours to read: left alone.
    }
  }
  return removed;
}

/** Parents cleaned by this process: the clean-up runs before its first checkout there, once. */
const cleaned = new Map<string, Promise<unknown>>();

function cleanStaleOnce(parent: string): Promise<unknown> {
  const key = path.resolve(parent);
  let p = cleaned.get(key);
  if (p === undefined) {
    p = cleanStaleCheckouts(key).catch(() => []);
    cleaned.set(key, p);
  }
  return p;
}
