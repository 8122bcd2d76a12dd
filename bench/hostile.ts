// bench/hostile: the after-figures of issue 20's resource-exhaustion cases, next to the before-figures the
// issue measured on the code of that day: a 2 GB zero blob and a 60 MB tree object in signed commits,
// 466,000 `...`-ended YAML documents, 100,000 small files and an audit log with a 300 MB line. Each case
// runs in its own process (bench/support/hostile-cases.ts) for its own peak RSS; fixtures are built once
// under the temp folder (the 2 GB blob takes git a while to deflate). Not part of the test suite.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CommitPolicy } from "../src/config/types.js";
import { generateSshSigningKey, signSshsig, type SshSigningKey } from "../src/trust/commit/sshsig.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const VERSION = "v1";

/** The issue's before-figures, as it states them. */
const BEFORE: Record<string, string> = {
  "blob-fetch": "~29 s and ~4 GB of temp disk, then checked out and applied",
  "blob-checkout": "(part of the ~29 s above)",
  "tree-fetch": "36 s and 843 MB (quadratic Buffer.concat, full diff before the path check)",
  "tree-verify": "36 s and 843 MB",
  "tree-verify-raised": "36 s and 843 MB (1.5M entries diffed before the path check)",
  "tree-verify-broad": "36 s and 843 MB",
  docs: "slips past the 5,000-document limit, then 'Maximum call stack size exceeded'",
  files: "41 s and 401 MB before TOO_MANY_DOCUMENTS",
  audit: "1 GB RSS for a 300 MB line; 'Invalid string length' past ~512 MB",
};

function git(cwd: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(" ")}: ${stderr}`));
        else resolve(stdout.trim());
      },
    );
    child.stdin?.end(input);
  });
}

const WHO = "Bench <bench@example.com> 1700000000 +0000";

/** A commit object signed with `key` (SSHSIG), written into `repo`. */
async function signedCommit(repo: string, tree: string, parent: string | undefined, key: SshSigningKey) {
  const payload = `tree ${tree}\n${parent ? `parent ${parent}\n` : ""}author ${WHO}\ncommitter ${WHO}\n\nbench\n`;
  const armored = signSshsig(Buffer.from(payload), key);
  const split = payload.indexOf("\n\n");
  const header = "gpgsig " + armored.trimEnd().split("\n").join("\n ") + "\n";
  const signed = payload.slice(0, split + 1) + header + payload.slice(split + 1);
  return git(repo, ["hash-object", "-t", "commit", "-w", "--stdin"], Buffer.from(signed));
}

const entry = (mode: string, name: string, oid: string) =>
  Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, "hex")]);

/**
 * A repository whose main is base (apps/a.yaml, signed by "broad") then head (signed by "narrow", who may
 * change apps/** only) adding `extra` to the root tree.
 */
async function repoWith(dir: string, extra: (repo: string) => Promise<Buffer>): Promise<void> {
  const repo = path.join(dir, "repo");
  await git(dir, ["init", "-q", "-b", "main", repo]);
  const narrow = generateSshSigningKey("narrow");
  const broad = generateSshSigningKey("broad");
  const blob = await git(repo, ["hash-object", "-w", "--stdin"], Buffer.from("kind: ConfigMap\n"));
  const apps = await git(
    repo,
    ["hash-object", "-t", "tree", "-w", "--stdin"],
    entry("100644", "a.yaml", blob),
  );
  const baseTree = await git(
    repo,
    ["hash-object", "-t", "tree", "-w", "--stdin"],
    entry("40000", "apps", apps),
  );
  const base = await signedCommit(repo, baseTree, undefined, broad);
  const headTree = await git(
    repo,
    ["hash-object", "-t", "tree", "-w", "--stdin"],
    Buffer.concat([entry("40000", "apps", apps), await extra(repo)]),
  );
  const head = await signedCommit(repo, headTree, base, narrow);
  await git(repo, ["update-ref", "refs/heads/main", head]);
  await git(repo, ["repack", "-a", "-d", "-q"]);
  await git(repo, ["prune"]);
  const policy: CommitPolicy = {
    signers: [
      { name: "narrow", ssh: [narrow.publicKeyLine], paths: ["apps/**"] },
      { name: "broad", ssh: [broad.publicKeyLine], paths: ["**"] },
    ],
  };
  await writeFile(path.join(dir, "fixture.json"), JSON.stringify({ repo, base, head, policy }));
}

/** A 2 GiB file of zeros (sparse) stored by git as one blob "data/big.yaml". */
async function blobFixture(dir: string): Promise<void> {
  await repoWith(dir, async (repo) => {
    const file = path.join(dir, "zeros");
    const fh = await open(file, "w");
    await fh.truncate(2 * 1024 * 1024 * 1024);
    await fh.close();
    const big = await git(repo, ["hash-object", "-w", file]);
    await rm(file);
    const data = await git(
      repo,
      ["hash-object", "-t", "tree", "-w", "--stdin"],
      entry("100644", "big.yaml", big),
    );
    return entry("40000", "data", data);
  });
}

/** A folder "data/" whose tree object holds 1.5M entries (about 60 MB). */
async function treeFixture(dir: string): Promise<void> {
  await repoWith(dir, async (repo) => {
    const blob = await git(repo, ["hash-object", "-w", "--stdin"], Buffer.from("kind: ConfigMap\n"));
    const oid = Buffer.from(blob, "hex");
    const parts: Buffer[] = [];
    for (let i = 0; i < 1_500_000; i++)
      parts.push(Buffer.from(`100644 f${String(i).padStart(7, "0")}.yaml\0`), oid);
    const data = await git(repo, ["hash-object", "-t", "tree", "-w", "--stdin"], Buffer.concat(parts));
    return entry("40000", "data", data);
  });
}

async function renderFixtures(dir: string): Promise<void> {
  await mkdir(path.join(dir, "docs"), { recursive: true });
  await writeFile(path.join(dir, "docs", "many.yaml"), "a: 1\n...\n".repeat(466_000));
  await mkdir(path.join(dir, "apps"), { recursive: true });
  for (let i = 0; i < 100_000; i++) {
    await writeFile(
      path.join(dir, "apps", `cm${String(i)}.yaml`),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm${String(i)}\n`,
    );
  }
}

/** An audit log whose first line is 300 MB long (no newline for the first 300 MB). */
async function auditFixture(dir: string): Promise<void> {
  const fh = await open(path.join(dir, "audit.jsonl"), "w");
  const chunk = Buffer.alloc(1024 * 1024, "x");
  for (let i = 0; i < 300; i++) await fh.write(chunk);
  await fh.write("\n");
  await fh.close();
}

/** Builds a fixture once (a marker file says it is complete). */
async function once(dir: string, build: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(path.join(dir, ".done"))) return dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await build(dir);
  await writeFile(path.join(dir, ".done"), "");
  return dir;
}

interface Figure {
  case: string;
  ms: number;
  maxRssMiB: number;
  outcome: string;
}

function runCase(name: string, dir: string): Promise<Figure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, "support", "hostile-cases.js"), name, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`case ${name} exited ${String(code)}: ${out}`));
      else resolve(JSON.parse(out) as Figure);
    });
  });
}

export async function run(args: readonly string[]): Promise<unknown> {
  const root = path.join(tmpdir(), `gitward-bench-hostile-${VERSION}`);
  // Many small files are written to memory where there is a tmpfs: a busy disk would measure the disk.
  const shm = existsSync("/dev/shm") ? path.join("/dev/shm", `gitward-bench-hostile-${VERSION}`) : root;
  const dirs: Record<string, () => Promise<string>> = {
    blob: () => once(path.join(root, "blob"), blobFixture),
    tree: () => once(path.join(root, "tree"), treeFixture),
    render: () => once(path.join(shm, "render"), renderFixtures),
    audit: () => once(path.join(root, "audit"), auditFixture),
  };
  const cases: [string, keyof typeof dirs][] = [
    ["blob-fetch", "blob"],
    ["blob-checkout", "blob"],
    ["tree-fetch", "tree"],
    ["tree-verify", "tree"],
    ["tree-verify-raised", "tree"],
    ["tree-verify-broad", "tree"],
    ["docs", "render"],
    ["files", "render"],
    ["audit", "audit"],
  ];
  const only = args.length > 0 ? new Set(args) : undefined;
  const results: (Figure & { before: string })[] = [];
  for (const [name, fixture] of cases) {
    if (only !== undefined && !only.has(name)) continue;
    const dir = await dirs[fixture]!();
    const figure = await runCase(name, dir);
    results.push({ ...figure, before: BEFORE[name] ?? "" });
  }
  // A node process that only loads these modules: the floor under each maxRssMiB.
  return { baselineNote: "each case is one fresh node process (about 60-90 MiB before any work)", results };
}
