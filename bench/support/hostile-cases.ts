// One hostile input of issue 20 per child process (`node hostile-cases.js CASE DIR`), so that each
// figure's peak RSS is that case's alone: builds nothing, runs gitward's own code on a fixture that
// bench/hostile.ts made, and prints {ms, maxRssMiB, outcome} as one JSON line.
import { execFileSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { verifyAuditLog } from "../../src/audit/verify.js";
import type { CommitPolicy } from "../../src/config/types.js";
import { render } from "../../src/render/render.js";
import { checkoutCommit } from "../../src/reconcile/checkout.js";
import { fetchSource } from "../../src/source/fetch.js";
import { SourceError } from "../../src/source/errors.js";
import { verifyCommitRange } from "../../src/trust/commit/range.js";
import type { RangeVerdict } from "../../src/trust/commit/verdict.js";

interface Fixture {
  repo: string;
  base: string;
  head: string;
  policy: CommitPolicy;
}

const fixture = async (dir: string): Promise<Fixture> =>
  JSON.parse(await readFile(path.join(dir, "fixture.json"), "utf8")) as Fixture;

/** fetchSource into a fresh cache folder; the outcome names the disk the mirror took. */
async function fetched(f: Fixture, dir: string): Promise<string> {
  const cacheDir = path.join(dir, `cache-${String(process.pid)}`);
  try {
    const r = await fetchSource({ url: f.repo, ref: { branch: "main" }, cacheDir });
    const disk = `mirror ${String(Math.round(diskBytes(cacheDir) / 1024 / 1024))} MiB on disk`;
    // A SourceError's message starts with its code already.
    return r.ok ? `fetched, ${disk}` : `${r.error.message} (${disk})`;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** Bytes of the files under `dir` (as du counts them, in 1 KiB blocks). */
function diskBytes(dir: string): number {
  return Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]) * 1024;
}

/** A range verdict in one line: its own findings and those of its commits. */
function verdictLine(v: RangeVerdict): string {
  if (v.trusted) return "trusted";
  const findings = [...v.findings, ...v.commits.flatMap((c) => c.findings)];
  return findings.map((x) => `${x.code}: ${x.message.slice(0, 200)}`).join("; ");
}

const RAISED = { maxTreeEntries: 2_000_000, maxTreeBytes: 128 * 1024 * 1024, maxChangedPaths: 2_000_000 };

/** Each case returns a short outcome: the error code gitward answered with, or what it accepted. */
const CASES: Record<string, (dir: string) => Promise<string>> = {
  /** The 2 GB zero blob: fetched as a reconcile fetches it, default limits. */
  "blob-fetch": async (dir) => {
    return fetched(await fixture(dir), dir);
  },
  /** The same blob's commit checked out (the reconcile's checkout step), default limits. */
  "blob-checkout": async (dir) => {
    const f = await fixture(dir);
    try {
      const c = await checkoutCommit(f.repo, f.head, dir);
      await c.remove();
      return "checked out";
    } catch (err) {
      return err instanceof SourceError ? err.message : String(err);
    }
  },
  /** The 60 MB tree: fetched as a reconcile fetches it (file count listed before verifying). */
  "tree-fetch": async (dir) => {
    return fetched(await fixture(dir), dir);
  },
  /** The 60 MB tree's commit verified under the default limits. */
  "tree-verify": async (dir) => {
    const f = await fixture(dir);
    const v = await verifyCommitRange({ repoDir: f.repo, from: f.base, to: f.head, policy: f.policy });
    return verdictLine(v);
  },
  /** Limits raised so the tree is read: the narrow signer's path check stops at the first foreign path. */
  "tree-verify-raised": async (dir) => {
    const f = await fixture(dir);
    const v = await verifyCommitRange({
      repoDir: f.repo,
      from: f.base,
      to: f.head,
      policy: f.policy,
      limits: RAISED,
    });
    return verdictLine(v);
  },
  /** The same with the head's signer allowed every path: all 1.5M entries diffed, read linearly. */
  "tree-verify-broad": async (dir) => {
    const f = await fixture(dir);
    const policy: CommitPolicy = {
      signers: f.policy.signers.map((s) => ({ ...s, paths: ["**"] })),
    };
    const v = await verifyCommitRange({ repoDir: f.repo, from: f.base, to: f.head, policy, limits: RAISED });
    return verdictLine(v);
  },
  /** 466,000 documents ended by `...` in one file of a directory render. */
  docs: async (dir) => {
    const r = await render({ repoRoot: dir, path: "docs", type: "directory" });
    return r.ok ? `rendered ${String(r.manifests.length)}` : r.errors.map((e) => e.code).join(",");
  },
  /** 100,000 small manifests in one folder. */
  files: async (dir) => {
    const r = await render({ repoRoot: dir, path: "apps", type: "directory" });
    return r.ok ? `rendered ${String(r.manifests.length)}` : r.errors.map((e) => e.code).join(",");
  },
  /** `audit verify` of a log whose second line is 300 MB. */
  audit: async (dir) => {
    const r = await verifyAuditLog(path.join(dir, "audit.jsonl"));
    return r.ok ? "ok" : `${r.firstBad?.reason ?? "?"}: ${r.firstBad?.message.slice(0, 120) ?? ""}`;
  },
};

const [name, dir] = process.argv.slice(2);
const body = name === undefined ? undefined : CASES[name];
if (body === undefined || dir === undefined) {
  process.stderr.write(`usage: hostile-cases CASE DIR; cases: ${Object.keys(CASES).join(", ")}\n`);
  process.exitCode = 2;
} else {
  const t0 = performance.now();
  const outcome = await body(dir);
  const ms = Math.round(performance.now() - t0);
  const maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify({ case: name, ms, maxRssMiB, outcome }) + "\n");
}
