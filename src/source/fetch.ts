// Fetches a repository into a cache folder (a bare mirror of its branches and tags, updated
// incrementally) and resolves the ref to a commit. Credentials reach git only through 0600 files in a
// 0700 temp folder that is removed afterwards: never in argv, a URL, the environment or an error.
import { createHash } from "node:crypto";
import { access, chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { GitRef } from "../config/types.js";
import { SourceError } from "./errors.js";
import { git, GitCommandError, redactText } from "./git.js";
import { checkRevisionSize, sourceLimits, type SourceLimits } from "./limits.js";
import { parseRepoUrl, redactUrl, type RepoUrl } from "./url.js";
import { hasCommit, isObjectId } from "./walk.js";

export type SourceCredentials =
  | { kind: "basic"; username: string; password: string }
  /** A token sent as the password of basic auth (user name defaults to "git"; GitHub wants "x-access-token"). */
  | { kind: "token"; token: string; username?: string }
  /** OpenSSH private key text and known_hosts lines (required: host keys are never trusted on first use). */
  | { kind: "ssh"; privateKey?: string; knownHosts: string };

export interface FetchOptions {
  url: string;
  ref: GitRef;
  /** Folder holding one bare mirror per repository URL; kept between fetches. */
  cacheDir: string;
  credentials?: SourceCredentials;
  timeoutMs?: number;
  /** Parent folder for the 0600 credential files of one fetch (default the system temp folder). */
  secretsParent?: string;
  /** Size limits on the fetched revision (default DEFAULT_SOURCE_LIMITS); checked before it is verified. */
  limits?: Partial<SourceLimits>;
}

export interface FetchedSource {
  /** The bare mirror: pass it to verifyCommitRange and to renderers (via `git worktree`/`archive`). */
  dir: string;
  /** The commit the ref names. */
  head: string;
  /** For a ref that is an annotated tag: the tag object's id (its signature must be verified too). */
  tagObject?: string;
  /** The full ref name (refs/heads/..., refs/tags/...); absent for a commit ref. */
  refName?: string;
}

export type FetchResult = { ok: true; source: FetchedSource } | { ok: false; error: SourceError };

/** Fetches `opts.url` into the cache and resolves `opts.ref`; expected failures come back as values. */
export async function fetchSource(opts: FetchOptions): Promise<FetchResult> {
  try {
    return { ok: true, source: await serialized(opts, () => fetchOrThrow(opts)) };
  } catch (err) {
    if (err instanceof SourceError) return { ok: false, error: err };
    throw err;
  }
}

/** Fetches into the same mirror run one after another: git's ref locks would fail a concurrent fetch. */
const mirrorQueues = new Map<string, Promise<unknown>>();

async function serialized<T>(opts: Omit<FetchOptions, "ref">, body: () => Promise<T>): Promise<T> {
  let key: string;
  try {
    key = mirrorDir(opts.cacheDir, parseRepoUrl(opts.url));
  } catch {
    return body(); // a bad URL fails in body() with its own error
  }
  const previous = mirrorQueues.get(key) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(body);
  mirrorQueues.set(key, current);
  try {
    return await current;
  } finally {
    if (mirrorQueues.get(key) === current) mirrorQueues.delete(key);
  }
}

function mirrorDir(cacheDir: string, repo: RepoUrl): string {
  return path.join(
    path.resolve(cacheDir),
    createHash("sha256").update(repo.gitUrl).digest("hex").slice(0, 32) + ".git",
  );
}

function secretsOf(c: SourceCredentials | undefined): string[] {
  if (c === undefined) return [];
  switch (c.kind) {
    case "basic":
      return [c.password];
    case "token":
      return [c.token];
    case "ssh":
      return c.privateKey === undefined ? [] : [c.privateKey];
  }
}

/** Ref names git has accepted (check-ref-format), so each is checked once per process. */
const validRefNames = new Set<string>();

async function validateRef(ref: GitRef): Promise<{ refName?: string; commit?: string }> {
  if ("commit" in ref) {
    if (!isObjectId(ref.commit)) throw new SourceError("BAD_REF", `commit ref must be a full object id`);
    return { commit: ref.commit };
  }
  const refName = "branch" in ref ? `refs/heads/${ref.branch}` : `refs/tags/${ref.tag}`;
  if (!validRefNames.has(refName)) {
    try {
      await git(["check-ref-format", refName]);
    } catch {
      throw new SourceError("BAD_REF", `${JSON.stringify(refName.slice(0, 200))} is not a valid ref name`);
    }
    // git's rules do not change while the process runs; a few names per Application are remembered.
    if (validRefNames.size < 1024) validRefNames.add(refName);
  }
  return { refName };
}

export type MirrorResult = { ok: true; dir: string } | { ok: false; error: SourceError };

/** Fetches every branch and tag of `opts.url` into the cache (for `verify repo`), without resolving a ref. */
export async function mirrorRepository(opts: Omit<FetchOptions, "ref">): Promise<MirrorResult> {
  try {
    return { ok: true, dir: (await serialized(opts, () => fetchOrThrow(opts))).dir };
  } catch (err) {
    if (err instanceof SourceError) return { ok: false, error: err };
    throw err;
  }
}

async function fetchOrThrow(opts: Omit<FetchOptions, "ref"> & { ref?: GitRef }): Promise<FetchedSource> {
  const repo = parseRepoUrl(opts.url);
  const { refName, commit } = opts.ref === undefined ? {} : await validateRef(opts.ref);
  const dir = mirrorDir(opts.cacheDir, repo);
  await mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  try {
    await access(path.join(dir, "HEAD"));
  } catch {
    await git(["init", "--bare", "-q", dir]);
  }
  const secrets = secretsOf(opts.credentials);
  const secretDir = await mkdtemp(path.join(opts.secretsParent ?? tmpdir(), "gitward-cred-"));
  try {
    await chmod(secretDir, 0o700);
    const auth = await prepareAuth(repo, opts.credentials, secretDir);
    const run = (refspecs: string[]) =>
      git(
        [
          ...auth.config,
          "-c",
          "transfer.fsckObjects=true",
          "-c",
          "gc.auto=0",
          "-c",
          "maintenance.auto=false",
          "-c",
          "protocol.version=2",
          "fetch",
          "--quiet",
          "--prune",
          "--force",
          "--no-write-fetch-head",
          "--",
          repo.gitUrl,
          ...refspecs,
        ],
        {
          cwd: dir,
          env: auth.env,
          redact: secrets,
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        },
      ).catch((err: unknown) => {
        throw classifyFetchError(err, opts.url, secrets);
      });
    const everything = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
    try {
      await run(everything);
    } catch (err) {
      // A new mirror is made for SHA-1; a SHA-256 repository needs one of its own format (git clone would
      // detect it; fetch does not).
      if (!(err instanceof ObjectFormatMismatch)) throw err;
      await rm(dir, { recursive: true, force: true });
      await git(["init", "--bare", "-q", `--object-format=${err.serverFormat}`, dir]);
      await run(everything);
    }
    if (opts.ref === undefined) return { dir, head: "" };
    if (commit !== undefined) {
      if (!(await hasCommit(dir, commit))) {
        // Not reachable from a branch or tag: ask for it by id (servers allow this with protocol v2).
        await run([commit]).catch(() => undefined);
        if (!(await hasCommit(dir, commit))) {
          throw new SourceError("REF_NOT_FOUND", `commit ${commit} is not in ${redactUrl(opts.url)}`);
        }
      }
      await checkRevisionSize(dir, commit, sourceLimits(opts.limits));
      return { dir, head: commit };
    }
    const name = refName ?? "";
    // One git call for both the object the ref names and the commit it peels to (through nested tags);
    // "--" makes both revisions, never paths. It fails when either does not resolve, or not to a commit.
    let oid: string;
    let peeled: string;
    try {
      [oid = "", peeled = ""] = (
        await git(["rev-parse", name, `${name}^{commit}`, "--"], { cwd: dir })
      ).split("\n");
    } catch {
      throw new SourceError("REF_NOT_FOUND", `${name} is not in ${redactUrl(opts.url)}`);
    }
    if (!isObjectId(oid) || !isObjectId(peeled))
      throw new SourceError("REF_NOT_FOUND", `${name} is not in ${redactUrl(opts.url)}`);
    // The revision's files are measured before anything reads them (signature checks, checkout).
    await checkRevisionSize(dir, peeled, sourceLimits(opts.limits));
    const source: FetchedSource = { dir, head: peeled, refName: name };
    if (oid !== peeled) source.tagObject = oid;
    return source;
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

interface PreparedAuth {
  config: string[];
  env: Record<string, string>;
}

async function writeSecret(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o600, flag: "wx" });
}

async function prepareAuth(
  repo: RepoUrl,
  creds: SourceCredentials | undefined,
  secretDir: string,
): Promise<PreparedAuth> {
  // An empty credential.helper first clears any helper list, so only ours is asked.
  const config = ["-c", "credential.helper=", "-c", "core.askPass="];
  const env: Record<string, string> = {};
  if (repo.transport === "ssh") {
    if (creds?.kind !== "ssh" || creds.knownHosts.trim() === "") {
      throw new SourceError(
        "MISSING_KNOWN_HOSTS",
        `${redactUrl(repo.gitUrl)} is an ssh repository: give known_hosts for it (gitward never trusts a host key on first use)`,
      );
    }
    const knownHosts = path.join(secretDir, "known_hosts");
    await writeSecret(
      knownHosts,
      creds.knownHosts.endsWith("\n") ? creds.knownHosts : creds.knownHosts + "\n",
    );
    const parts = [
      "ssh",
      "-F",
      "/dev/null",
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UpdateHostKeys=no",
      "-o",
      "BatchMode=yes",
      "-o",
      "PasswordAuthentication=no",
      "-o",
      "IdentitiesOnly=yes",
    ];
    if (creds.privateKey !== undefined) {
      const key = path.join(secretDir, "identity");
      await writeSecret(key, creds.privateKey.endsWith("\n") ? creds.privateKey : creds.privateKey + "\n");
      parts.push("-i", key);
    }
    // git runs GIT_SSH_COMMAND through a shell: every part is single-quoted (paths come from the temp folder).
    env.GIT_SSH_COMMAND = parts.map(shellQuote).join(" ");
    env.GIT_SSH_VARIANT = "ssh";
    return { config, env };
  }
  if (creds === undefined) return { config, env };
  if (creds.kind === "ssh") {
    throw new SourceError(
      "BAD_URL",
      `${redactUrl(repo.gitUrl)} is not an ssh URL, but ssh credentials were given`,
    );
  }
  if (repo.origin === undefined) {
    throw new SourceError("BAD_URL", `credentials are only sent over https: ${redactUrl(repo.gitUrl)}`);
  }
  const username = creds.kind === "basic" ? creds.username : (creds.username ?? "git");
  const password = creds.kind === "basic" ? creds.password : creds.token;
  // git's own "store" helper reads the 0600 file; the file's path is the only thing in argv.
  const store = path.join(secretDir, "credentials");
  const enc = (s: string) => encodeURIComponent(s);
  await writeSecret(
    store,
    `${repo.origin.protocol}://${enc(username)}:${enc(password)}@${repo.origin.host}\n`,
  );
  config.push("-c", `credential.helper=store --file=${store}`);
  return { config, env };
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The mirror's hash algorithm differs from the server's (internal: fetchOrThrow re-creates the mirror). */
class ObjectFormatMismatch extends Error {
  constructor(readonly serverFormat: "sha1" | "sha256") {
    super(`the repository uses ${serverFormat} object ids`);
  }
}

function classifyFetchError(err: unknown, url: string, secrets: readonly string[]): Error {
  if (!(err instanceof GitCommandError)) return err instanceof Error ? err : new Error(String(err));
  const stderr = redactText(err.stderr, secrets);
  const mismatch = /mismatched algorithms: client \w+; server (sha1|sha256)/.exec(stderr)?.[1];
  if (mismatch === "sha1" || mismatch === "sha256") return new ObjectFormatMismatch(mismatch);
  const where = redactUrl(url);
  const detail = stderr.trim().split("\n").slice(-2).join(" ");
  if (/fsck error|^error: object [0-9a-f]+: \w+:/m.test(stderr)) {
    // The first "error: object <id>: <check>: ..." line names the object and the check it failed.
    const first = /^error: (object [0-9a-f]+: .*)$/m.exec(stderr)?.[1]?.slice(0, 300) ?? detail;
    return new SourceError(
      "FSCK_FAILED",
      `${where} holds an object that git's checks refuse (${first}); nothing of it was fetched: repair or remove the object in the repository`,
    );
  }
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(
      stderr,
    )
  ) {
    return new SourceError(
      "HOST_KEY_MISMATCH",
      `the host key of ${where} does not match the given known_hosts; check the server's key and update known_hosts`,
    );
  }
  if (
    /Authentication failed|could not read Username|could not read Password|Permission denied|401|403/i.test(
      stderr,
    )
  ) {
    return new SourceError("AUTH_FAILED", `${where} refused the credentials: check the secret (${detail})`);
  }
  return new SourceError("FETCH_FAILED", `fetching ${where} failed: ${detail}`);
}
