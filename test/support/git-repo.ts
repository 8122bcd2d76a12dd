// Test repositories built with the real git binary: commits signed by real keys (see signers.ts), unsigned
// commits, and hostile ones written as raw objects (content changed after signing, a signature copied
// from another commit, a garbage signature header).
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { isolatedGitEnv, makeTempDir, removeDir, run, runRaw } from "./git-exec.js";
import type { Signer } from "./signers.js";

export interface CommitOptions {
  /** Signs with this key (`git commit -S`); unsigned when absent. */
  signer?: Signer;
  /** The message; a Buffer is written byte for byte (e.g. to test non-UTF-8 messages). */
  message?: string | Buffer;
  /** Declared message encoding (i18n.commitEncoding): git then stores the bytes unchanged. */
  encoding?: string;
  /** Author and committer identity; defaults to the signer's name and email. */
  author?: { name: string; email: string };
  /** Fixed author/committer date (ISO 8601), for reproducible objects. */
  date?: string;
}

/** File contents by repository path; null deletes the file. */
export type FileChanges = Record<string, string | Buffer | null>;

export class TestRepo {
  private constructor(
    /** The work tree (the repository is non-bare so tests can commit files). */
    readonly dir: string,
    private readonly ownsDir: boolean,
  ) {}

  /** Creates an empty repository with branch `main`, in `dir` or in a new temp folder. */
  static async create(dir?: string, opts: { objectFormat?: "sha1" | "sha256" } = {}): Promise<TestRepo> {
    const target = dir ?? (await makeTempDir("repo"));
    await mkdir(target, { recursive: true });
    const repo = new TestRepo(target, dir === undefined);
    await repo.git("init", "-q", "-b", "main", `--object-format=${opts.objectFormat ?? "sha1"}`);
    return repo;
  }

  /** Runs git in the repository with the machine's config shut out; returns trimmed stdout. */
  async git(...args: string[]): Promise<string> {
    return (await run("git", args, { cwd: this.dir, env: isolatedGitEnv })).stdout.trim();
  }

  /** Runs git with extra environment (e.g. a signer's GNUPGHOME) and optional stdin. */
  async gitWith(env: Record<string, string>, args: string[], input?: string | Buffer): Promise<string> {
    const opts = {
      cwd: this.dir,
      env: { ...isolatedGitEnv, ...env },
      ...(input === undefined ? {} : { input }),
    };
    return (await run("git", args, opts)).stdout.trim();
  }

  /** Writes (or deletes) the files, stages everything and commits; returns the new commit's sha. */
  async commitFiles(files: FileChanges, opts: CommitOptions = {}): Promise<string> {
    for (const [rel, content] of Object.entries(files)) {
      const file = path.join(this.dir, rel);
      if (content === null) {
        await rm(file, { force: true });
      } else {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, content);
      }
    }
    await this.git("add", "-A");
    const env = this.identityEnv(opts);
    const sign = opts.signer === undefined ? ["-c", "commit.gpgsign=false"] : [...opts.signer.gitConfig];
    if (opts.encoding !== undefined) sign.push("-c", `i18n.commitEncoding=${opts.encoding}`);
    const msgArgs = ["-F", "-"];
    await this.gitWith(
      env,
      [...sign, "commit", "-q", "--allow-empty", ...(opts.signer === undefined ? [] : ["-S"]), ...msgArgs],
      opts.message ?? "change",
    );
    return this.git("rev-parse", "HEAD");
  }

  /** Stores `content` as a blob (written by git from stdin) and returns its id. */
  async writeBlob(content: string | Buffer): Promise<string> {
    return this.gitWith({}, ["hash-object", "-w", "--stdin"], content);
  }

  /**
   * Stores a tree made of `entries` (name to blob id, or to a tree id when the name ends in "/") as one
   * raw object (`git hash-object -t tree`, which checks it), and returns its id: builds trees of any
   * width in well under a second, without writing files.
   */
  async writeTree(entries: Iterable<[string, string]>): Promise<string> {
    // git orders entries by name, a folder's name compared as if it ended in "/".
    const sorted = [...entries]
      .map(([name, oid]) => ({ key: Buffer.from(name), oid, dir: name.endsWith("/") }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const parts = sorted.map((e) =>
      Buffer.concat([
        Buffer.from(e.dir ? `40000 ${e.key.subarray(0, -1).toString()}\0` : `100644 ${e.key.toString()}\0`),
        Buffer.from(e.oid, "hex"),
      ]),
    );
    return this.gitWith({}, ["hash-object", "-t", "tree", "-w", "--stdin"], Buffer.concat(parts));
  }

  /** Commits `tree` on top of `parents` (signed when a signer is given) and moves the branch; returns it. */
  async commitTree(tree: string, parents: readonly string[], opts: CommitOptions = {}): Promise<string> {
    const sign = opts.signer === undefined ? [] : [...opts.signer.gitConfig];
    const sha = await this.gitWith(
      this.identityEnv(opts),
      [
        ...sign,
        "commit-tree",
        ...(opts.signer === undefined ? [] : ["-S"]),
        ...parents.flatMap((p) => ["-p", p]),
        "-F",
        "-",
        tree,
      ],
      opts.message ?? "change",
    );
    await this.git("update-ref", "refs/heads/main", sha);
    return sha;
  }

  /** Creates an annotated tag at `target`, signed by `signer` when given; returns the tag object's sha. */
  async tag(name: string, target: string, opts: CommitOptions = {}): Promise<string> {
    const env = this.identityEnv(opts);
    const sign = opts.signer === undefined ? ["-a"] : ["-s"];
    const config = opts.signer === undefined ? [] : [...opts.signer.gitConfig];
    await this.gitWith(
      env,
      [...config, "tag", ...sign, "-F", "-", name, target],
      opts.message ?? `tag ${name}`,
    );
    return this.git("rev-parse", `refs/tags/${name}`);
  }

  /** The raw commit object, exactly as stored. */
  async readRaw(sha: string): Promise<Buffer> {
    return runRaw("git", ["cat-file", "commit", sha], { cwd: this.dir, env: isolatedGitEnv });
  }

  /** Stores a raw commit object as given (no checks) and returns its sha. */
  async writeRawCommit(raw: string | Buffer): Promise<string> {
    return this.gitWith({}, ["hash-object", "-t", "commit", "-w", "--literally", "--stdin"], raw);
  }

  /** Points a branch (default main) at a commit, as a push or force-push would. */
  async setBranch(sha: string, branch = "main"): Promise<void> {
    await this.git("update-ref", `refs/heads/${branch}`, sha);
    if (branch === (await this.git("symbolic-ref", "--short", "HEAD"))) {
      await this.git("reset", "-q", "--hard", sha);
    }
  }

  /**
   * A copy of a signed commit whose message was changed after signing (the signature header is kept):
   * the content no longer matches the signature. Returns the new commit's sha (not on any branch).
   */
  async tamperCommit(sha: string, newMessage = "tampered after signing\n"): Promise<string> {
    const raw = (await this.readRaw(sha)).toString("utf8");
    const split = raw.indexOf("\n\n");
    return this.writeRawCommit(raw.slice(0, split + 2) + newMessage);
  }

  /** Copies the signature header of `signedSha` onto the (unsigned) commit `targetSha`; returns new sha. */
  async copySignature(signedSha: string, targetSha: string): Promise<string> {
    const sig = extractSignatureHeader((await this.readRaw(signedSha)).toString("utf8"));
    if (sig === undefined) throw new Error(`commit ${signedSha} has no signature to copy`);
    const target = (await this.readRaw(targetSha)).toString("utf8");
    return this.writeRawCommit(insertHeader(target, sig));
  }

  /** A copy of `targetSha` with a gpgsig header holding garbage; returns the new sha. */
  async garbageSignature(
    targetSha: string,
    garbage = "this is not a signature\n \u0001\u0002 nonsense",
  ): Promise<string> {
    const target = (await this.readRaw(targetSha)).toString("utf8");
    const header = "gpgsig " + garbage.split("\n").join("\n ") + "\n";
    return this.writeRawCommit(insertHeader(target, header));
  }

  /** Removes the repository's folder if this object created it. */
  async cleanup(): Promise<void> {
    if (this.ownsDir) await removeDir(this.dir);
  }

  private identityEnv(opts: CommitOptions): Record<string, string> {
    const who =
      opts.author ?? (opts.signer ? { name: opts.signer.name, email: opts.signer.email } : undefined);
    const env: Record<string, string> = { ...(opts.signer?.env ?? {}) };
    if (who !== undefined) {
      env.GIT_AUTHOR_NAME = who.name;
      env.GIT_AUTHOR_EMAIL = who.email;
      env.GIT_COMMITTER_NAME = who.name;
      env.GIT_COMMITTER_EMAIL = who.email;
    }
    if (opts.date !== undefined) {
      env.GIT_AUTHOR_DATE = opts.date;
      env.GIT_COMMITTER_DATE = opts.date;
    }
    return env;
  }
}

/** The "gpgsig ..." header with its continuation lines (each starting with a space), or undefined. */
function extractSignatureHeader(raw: string): string | undefined {
  const head = raw.slice(0, raw.indexOf("\n\n") + 1);
  const lines = head.split("\n");
  const start = lines.findIndex((l) => l.startsWith("gpgsig "));
  if (start < 0) return undefined;
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith(" ")) end++;
  return lines.slice(start, end).join("\n") + "\n";
}

/** Inserts a header just before the blank line that ends the commit's headers (where git puts gpgsig). */
function insertHeader(raw: string, header: string): string {
  const split = raw.indexOf("\n\n");
  return raw.slice(0, split + 1) + header + raw.slice(split + 1);
}
