// fetchSource against real servers: smart HTTP with basic auth, sshd with a required known_hosts, git
// daemon and a local path; incremental fetches, refs by branch, tag and commit; and the credential rules
// (never in argv, errors, the cache or leftover files).
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSource, type FetchOptions } from "../../src/source/fetch.js";
import { verifyCommitRange } from "../../src/trust/commit/range.js";
import { makeTempDir, removeDir, run } from "../support/git-exec.js";
import { TestRepo } from "../support/git-repo.js";
import { createSshSigner } from "../support/signers.js";
import {
  startGitDaemon,
  startGitHttpServer,
  startSshGitServer,
  type GitHttpServer,
  type GitServer,
  type SshGitServer,
} from "../support/git-server.js";

const USER = "deploy";
const PASSWORD = "s3cret-pa55word-Zq9";
const TOKEN = "tok_4b1c9e0d2f7a6e5c3b8a";

let root: string;
let cache: string;
let repo: TestRepo;
let http: GitHttpServer;
let httpToken: GitHttpServer;
let ssh: SshGitServer;
let daemon: GitServer;
let tagOid: string;
let firstSha: string;

beforeAll(async () => {
  root = await makeTempDir("served");
  cache = await makeTempDir("cache");
  repo = await TestRepo.create(path.join(root, "config"));
  firstSha = await repo.commitFiles({ "apps/a.yaml": "a: 1\n" }, { message: "first" });
  await repo.commitFiles({ "apps/b.yaml": "b: 1\n" }, { message: "second" });
  tagOid = await repo.tag("v1", firstSha, { message: "release v1" });
  [http, httpToken, ssh, daemon] = await Promise.all([
    startGitHttpServer({ root, username: USER, password: PASSWORD }),
    startGitHttpServer({ root, username: "x-access-token", password: TOKEN }),
    startSshGitServer(root),
    startGitDaemon(root),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([http.stop(), httpToken.stop(), ssh.stop(), daemon.stop()]);
  await repo.cleanup();
  await removeDir(root);
  await removeDir(cache);
});

const head = () => repo.git("rev-parse", "HEAD");

describe("fetchSource over smart HTTP with basic auth", () => {
  it("fetches a branch with a username and password", async () => {
    const r = await fetchSource({
      url: http.url("config"),
      ref: { branch: "main" },
      cacheDir: cache,
      credentials: { kind: "basic", username: USER, password: PASSWORD },
    });
    expect(r.ok && r.source.head).toBe(await head());
    expect(http.requests.some((q) => q.authorized)).toBe(true);
  });

  it("fetches with a token", async () => {
    const r = await fetchSource({
      url: httpToken.url("config"),
      ref: { branch: "main" },
      cacheDir: cache,
      credentials: { kind: "token", token: TOKEN, username: "x-access-token" },
    });
    expect(r.ok && r.source.head).toBe(await head());
  });

  it("refuses a wrong password with AUTH_FAILED and never shows it", async () => {
    const r = await fetchSource({
      url: http.url("config"),
      ref: { branch: "main" },
      cacheDir: cache,
      credentials: { kind: "basic", username: USER, password: "wrong-Password-77" },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("AUTH_FAILED");
      expect(r.error.message).not.toContain("wrong-Password-77");
    }
  });

  it("refuses when no credentials are given", async () => {
    const r = await fetchSource({ url: http.url("config"), ref: { branch: "main" }, cacheDir: cache });
    expect(!r.ok && r.error.code).toBe("AUTH_FAILED");
  });

  it("refuses a URL with credentials embedded, without echoing them", async () => {
    const url = `http://${USER}:${PASSWORD}@127.0.0.1:${http.port}/config`;
    const r = await fetchSource({ url, ref: { branch: "main" }, cacheDir: cache });
    expect(!r.ok && r.error.code).toBe("CREDENTIALS_IN_URL");
    expect(!r.ok && r.error.message).not.toContain(PASSWORD);
  });
});

describe("fetchSource over SSH", () => {
  it("fetches with a private key and the server's known_hosts line", async () => {
    const r = await fetchSource({
      url: ssh.url("config"),
      ref: { branch: "main" },
      cacheDir: cache,
      credentials: { kind: "ssh", privateKey: ssh.clientPrivateKey, knownHosts: ssh.knownHosts },
    });
    expect(r.ok && r.source.head).toBe(await head());
  });

  it("fails hard when the host key does not match known_hosts (no trust on first use)", async () => {
    const dir = await makeTempDir("otherkey");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
    const other = (await readFile(path.join(dir, "k.pub"), "utf8")).split(" ");
    await removeDir(dir);
    const r = await fetchSource({
      url: ssh.url("config"),
      ref: { branch: "main" },
      cacheDir: cache,
      credentials: {
        kind: "ssh",
        privateKey: ssh.clientPrivateKey,
        knownHosts: `[127.0.0.1]:${ssh.port} ${other[0]} ${other[1]}`,
      },
    });
    expect(!r.ok && r.error.code).toBe("HOST_KEY_MISMATCH");
  });

  it("refuses an ssh URL without known_hosts", async () => {
    const r = await fetchSource({ url: ssh.url("config"), ref: { branch: "main" }, cacheDir: cache });
    expect(!r.ok && r.error.code).toBe("MISSING_KNOWN_HOSTS");
  });
});

describe("fetchSource refs, transports and the cache", () => {
  it("resolves an annotated tag to its commit and reports the tag object", async () => {
    const r = await fetchSource({ url: daemon.url("config"), ref: { tag: "v1" }, cacheDir: cache });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.source.head).toBe(firstSha);
      expect(r.source.tagObject).toBe(tagOid);
    }
  });

  it("resolves a commit id, and reports REF_NOT_FOUND for a missing branch", async () => {
    const byCommit = await fetchSource({
      url: path.join(root, "config"),
      ref: { commit: firstSha },
      cacheDir: cache,
    });
    expect(byCommit.ok && byCommit.source.head).toBe(firstSha);
    const missing = await fetchSource({
      url: path.join(root, "config"),
      ref: { branch: "nope" },
      cacheDir: cache,
    });
    expect(!missing.ok && missing.error.code).toBe("REF_NOT_FOUND");
  });

  it("refuses bad refs and URLs", async () => {
    const bad: FetchOptions[] = [
      { url: path.join(root, "config"), ref: { branch: "a..b" }, cacheDir: cache },
      { url: path.join(root, "config"), ref: { commit: "HEAD" }, cacheDir: cache },
      { url: "--upload-pack=touch /tmp/x", ref: { branch: "main" }, cacheDir: cache },
      { url: "ext::sh -c touch% /tmp/x", ref: { branch: "main" }, cacheDir: cache },
      { url: "http://git.example.com/x.git", ref: { branch: "main" }, cacheDir: cache },
    ];
    const codes = await Promise.all(
      bad.map(async (o) => {
        const r = await fetchSource(o);
        return r.ok ? "ok" : r.error.code;
      }),
    );
    expect(codes).toEqual(["BAD_REF", "BAD_REF", "BAD_URL", "BAD_URL", "BAD_URL"]);
  });

  it("fetches incrementally into the same cache folder", async () => {
    const url = daemon.url("config");
    const first = await fetchSource({ url, ref: { branch: "main" }, cacheDir: cache });
    const next = await repo.commitFiles({ "apps/c.yaml": "c: 1\n" }, { message: "third" });
    const second = await fetchSource({ url, ref: { branch: "main" }, cacheDir: cache });
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) {
      expect(second.source.dir).toBe(first.source.dir);
      expect(second.source.head).toBe(next);
    }
  });
});

describe("credentials never leak", () => {
  it("keeps passwords, tokens and keys out of argv, errors, the cache and leftover files", async () => {
    // A `git` wrapper first on PATH records every argument and GIT_SSH_COMMAND that gitward passes.
    const spy = await makeTempDir("gitspy");
    const log = path.join(spy, "argv.log");
    await mkdir(path.join(spy, "bin"));
    await writeFile(
      path.join(spy, "bin", "git"),
      `#!/bin/sh\nprintf '%s\\n' "$*" "SSH=$GIT_SSH_COMMAND" >> ${log}\nexec /usr/bin/git "$@"\n`,
    );
    await chmod(path.join(spy, "bin", "git"), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${path.join(spy, "bin")}:${savedPath ?? ""}`;
    const leakCache = await makeTempDir("leakcache");
    // Credential files go to a folder of this test's own, so other tests' fetches do not interfere.
    const secretsParent = await makeTempDir("secrets");
    const outputs: string[] = [];
    try {
      const attempts: FetchOptions[] = [
        {
          url: http.url("config"),
          ref: { branch: "main" },
          cacheDir: leakCache,
          credentials: { kind: "basic", username: USER, password: PASSWORD },
        },
        {
          url: http.url("config"),
          ref: { branch: "nope" },
          cacheDir: leakCache,
          credentials: { kind: "basic", username: USER, password: PASSWORD },
        },
        {
          url: httpToken.url("config"),
          ref: { branch: "main" },
          cacheDir: leakCache,
          credentials: { kind: "token", token: TOKEN, username: "x-access-token" },
        },
        {
          url: http.url("missing-repo"),
          ref: { branch: "main" },
          cacheDir: leakCache,
          credentials: { kind: "basic", username: USER, password: PASSWORD },
        },
        {
          url: ssh.url("config"),
          ref: { branch: "main" },
          cacheDir: leakCache,
          credentials: { kind: "ssh", privateKey: ssh.clientPrivateKey, knownHosts: ssh.knownHosts },
        },
        {
          url: ssh.url("missing"),
          ref: { branch: "main" },
          cacheDir: leakCache,
          credentials: { kind: "ssh", privateKey: ssh.clientPrivateKey, knownHosts: ssh.knownHosts },
        },
      ];
      for (const a of attempts) {
        const r = await fetchSource({ ...a, secretsParent });
        outputs.push(JSON.stringify(r), r.ok ? "" : `${r.error.message} ${String(r.error.stack)}`);
      }
      expect(outputs.filter((o) => o.includes('"ok":true'))).toHaveLength(3);
    } finally {
      process.env.PATH = savedPath;
    }
    const argvLog = await readFile(log, "utf8");
    expect(argvLog).toContain("fetch");
    const cacheFiles = (
      await run("grep", ["-r", "-l", "-a", "-e", PASSWORD, "-e", TOKEN, leakCache]).catch(() => ({
        stdout: "",
      }))
    ).stdout;
    const keyBody = ssh.clientPrivateKey.split("\n")[1]!;
    for (const secret of [PASSWORD, TOKEN, encodeURIComponent(PASSWORD), keyBody]) {
      expect(argvLog).not.toContain(secret);
      for (const o of outputs) expect(o).not.toContain(secret);
    }
    expect(cacheFiles).toBe("");
    expect(await readdir(secretsParent)).toEqual([]);
    await removeDir(secretsParent);
    await removeDir(spy);
    await removeDir(leakCache);
  });
});

describe("a force-push seen through the server", () => {
  it("is refused as HISTORY_REWRITTEN after an incremental fetch", async () => {
    const signer = await createSshSigner("ed25519", "platform");
    const work = await TestRepo.create();
    try {
      await run("git", ["init", "-q", "--bare", path.join(root, "pushed.git")]);
      const remote = `http://${USER}:${PASSWORD}@127.0.0.1:${http.port}/pushed.git`;
      const policy = { signers: [{ name: "platform", ssh: [signer.publicKey], paths: ["**"] }] };
      const base = await work.commitFiles({ "apps/a.yaml": "1" }, { signer });
      const applied = await work.commitFiles({ "apps/a.yaml": "2" }, { signer });
      await work.git("push", "-q", remote, "main");
      const opts: FetchOptions = {
        url: http.url("pushed.git"),
        ref: { branch: "main" },
        cacheDir: cache,
        credentials: { kind: "basic", username: USER, password: PASSWORD },
      };
      const first = await fetchSource(opts);
      expect(first.ok && first.source.head).toBe(applied);
      await work.setBranch(base);
      const rewritten = await work.commitFiles({ "apps/a.yaml": "evil" }, { signer });
      await work.git("push", "-q", "--force", remote, "main");
      const second = await fetchSource(opts);
      expect(second.ok && second.source.head).toBe(rewritten);
      if (!second.ok) return;
      const verdict = await verifyCommitRange({
        repoDir: second.source.dir,
        from: applied,
        to: rewritten,
        policy,
      });
      expect(verdict.trusted).toBe(false);
      expect(verdict.findings.map((f) => f.code)).toEqual(["HISTORY_REWRITTEN"]);
      // The rewritten commit itself is validly signed: only the history check refuses it.
      expect(verdict.commits.map((c) => c.code ?? "TRUSTED")).toEqual(["TRUSTED"]);
    } finally {
      await work.cleanup();
      await signer.cleanup();
    }
  });
});

describe("SHA-256 repositories", () => {
  it("fetches a SHA-256 repository into a mirror of the same format", async () => {
    const s256 = await TestRepo.create(path.join(root, "s256"), { objectFormat: "sha256" });
    const sha = await s256.commitFiles({ "apps/a.yaml": "a" }, { message: "sha256" });
    const r = await fetchSource({ url: daemon.url("s256"), ref: { branch: "main" }, cacheDir: cache });
    expect(r.ok && r.source.head).toBe(sha);
    if (r.ok)
      expect(await run("git", ["rev-parse", "--show-object-format"], { cwd: r.source.dir })).toMatchObject({
        stdout: "sha256\n",
      });
  });
});

describe("concurrent fetches", () => {
  it("of the same repository into one new cache all succeed", async () => {
    const fresh = await makeTempDir("cache-concurrent");
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        fetchSource({ url: daemon.url("config"), ref: { branch: "main" }, cacheDir: fresh }),
      ),
    );
    await removeDir(fresh);
    const expected = await head();
    expect(results.map((r) => r.ok && r.source.head)).toEqual([expected, expected, expected, expected]);
  });
});
