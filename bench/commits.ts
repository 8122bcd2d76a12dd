// bench/commits: gitward verifies a range of 2,000 signed commits (1,000 OpenPGP, 1,000 SSH) in-process;
// in the same run `git verify-commit` (gpg and ssh-keygen) checks the same commits. Prints both times and
// the ratio. The repository is built in-process (signatures by OpenPGP.js and node:crypto, loose objects
// written directly) and cached under the temp folder, because 2,000 `git commit -S` would take minutes.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateSync } from "node:zlib";
import * as openpgp from "openpgp";
import type { CommitPolicy } from "../src/config/types.js";
import { verifyCommitRange } from "../src/trust/commit/range.js";
import { generateSshSigningKey, signSshsig } from "../src/trust/commit/sshsig.js";

interface Fixture {
  repo: string;
  gnupgHome: string;
  allowedSigners: string;
  root: string;
  head: string;
  commits: string[];
  policy: CommitPolicy;
}

const VERSION = "v3";

function exec(file: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
      },
    );
  });
}

/** Writes a loose object the way git stores it and returns its id. */
async function writeObject(repo: string, type: string, body: Buffer): Promise<string> {
  const data = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  const oid = createHash("sha1").update(data).digest("hex");
  const dir = path.join(repo, ".git", "objects", oid.slice(0, 2));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, oid.slice(2));
  if (!existsSync(file)) await writeFile(file, deflateSync(data));
  return oid;
}

function treeEntry(mode: string, name: string, oid: string): Buffer {
  return Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, "hex")]);
}

function withSignature(payload: string, armored: string): string {
  const split = payload.indexOf("\n\n");
  const header = "gpgsig " + armored.trimEnd().split("\n").join("\n ") + "\n";
  return payload.slice(0, split + 1) + header + payload.slice(split + 1);
}

async function buildFixture(dir: string, count: number): Promise<Fixture> {
  const repo = path.join(dir, "repo");
  await exec("git", ["init", "-q", "-b", "main", repo]);
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name: "Bench OpenPGP", email: "pgp@bench.example" }],
    format: "object",
  });
  const sshKey = generateSshSigningKey("ssh@bench.example");
  const who = (i: number) => `Bench <bench@example.com> ${1_700_000_000 + i} +0000`;
  const commitOf = async (i: number, parent: string | undefined) => {
    const blob = await writeObject(repo, "blob", Buffer.from(`revision ${i}\n`));
    const apps = await writeObject(repo, "tree", treeEntry("100644", "counter.txt", blob));
    const tree = await writeObject(repo, "tree", treeEntry("40000", "apps", apps));
    return `tree ${tree}\n${parent ? `parent ${parent}\n` : ""}author ${who(i)}\ncommitter ${who(i)}\n\nOPS-${i}: revision ${i}\n`;
  };
  const root = await writeObject(repo, "commit", Buffer.from(await commitOf(0, undefined)));
  let parent = root;
  const commits: string[] = [];
  for (let i = 1; i <= count; i++) {
    const payload = await commitOf(i, parent);
    let armored: string;
    if (i % 2 === 1) {
      const message = await openpgp.createMessage({ binary: Buffer.from(payload) });
      const signed: unknown = await openpgp.sign({
        message,
        signingKeys: privateKey,
        detached: true,
        format: "armored",
      });
      if (typeof signed !== "string") throw new Error("openpgp.sign returned no armored text");
      armored = signed;
    } else {
      armored = signSshsig(Buffer.from(payload), sshKey);
    }
    parent = await writeObject(repo, "commit", Buffer.from(withSignature(payload, armored)));
    commits.push(parent);
  }
  await exec("git", ["update-ref", "refs/heads/main", parent], { cwd: repo });
  // Pack the objects, as a fetched repository's are.
  await exec("git", ["repack", "-a", "-d", "-q"], { cwd: repo });
  await exec("git", ["prune"], { cwd: repo });
  const gnupgHome = path.join(dir, "gnupg");
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  const armoredPublic = publicKey.armor();
  await writeFile(path.join(gnupgHome, "pub.asc"), armoredPublic);
  await exec("gpg", ["--batch", "--import", path.join(gnupgHome, "pub.asc")], {
    env: { GNUPGHOME: gnupgHome },
  });
  const allowedSigners = path.join(dir, "allowed_signers");
  await writeFile(allowedSigners, `bench@example.com namespaces="git" ${sshKey.publicKeyLine}\n`);
  const fixture: Fixture = {
    repo,
    gnupgHome,
    allowedSigners,
    root,
    head: parent,
    commits,
    policy: {
      signers: [{ name: "bench", openpgp: [armoredPublic], ssh: [sshKey.publicKeyLine], paths: ["apps/**"] }],
      message: "^OPS-[0-9]+: ",
      trustedRoot: root,
    },
  };
  await writeFile(path.join(dir, "fixture.json"), JSON.stringify(fixture));
  return fixture;
}

async function loadFixture(count: number): Promise<Fixture> {
  const dir = path.join(tmpdir(), `gitward-bench-commits-${VERSION}-${count}`);
  try {
    return JSON.parse(await readFile(path.join(dir, "fixture.json"), "utf8")) as Fixture;
  } catch {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return buildFixture(dir, count);
  }
}

export async function run(args: readonly string[]): Promise<unknown> {
  const count = Number.parseInt(args[0] ?? "2000", 10);
  const t0 = performance.now();
  const fx = await loadFixture(count);
  const setupMs = performance.now() - t0;

  const g0 = performance.now();
  const verdict = await verifyCommitRange({ repoDir: fx.repo, to: fx.head, policy: fx.policy });
  const gitwardMs = performance.now() - g0;
  const gitwardTrusted = verdict.commits.filter((c) => c.trusted).length;
  const failed = verdict.commits.find((c) => !c.trusted);

  // The peer: one `git verify-commit` over the same commits (it runs gpg or ssh-keygen per commit).
  const p0 = performance.now();
  const peer = await exec(
    "git",
    ["-c", `gpg.ssh.allowedSignersFile=${fx.allowedSigners}`, "verify-commit", ...fx.commits],
    {
      cwd: fx.repo,
      env: { GNUPGHOME: fx.gnupgHome, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" },
    },
  );
  const gitMs = performance.now() - p0;

  return {
    name: "commits",
    commits: verdict.commits.length,
    openpgp: Math.ceil(count / 2),
    ssh: Math.floor(count / 2),
    fixtureSetupMs: Math.round(setupMs),
    gitward: {
      ms: Math.round(gitwardMs),
      trusted: gitwardTrusted,
      allTrusted: verdict.trusted,
      firstFailure: failed?.findings[0]?.message ?? null,
    },
    git: {
      ms: Math.round(gitMs),
      exitCode: peer.code,
      commandsPerSecond: Math.round((count / gitMs) * 1000),
    },
    gitwardCommitsPerSecond: Math.round((count / gitwardMs) * 1000),
    speedup: Math.round((gitMs / gitwardMs) * 10) / 10,
    target: ">= 10x",
  };
}
