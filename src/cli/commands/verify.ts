// `gitward verify commits` and `gitward verify repo`: fetch a repository (URL or path), check its commits
// against a TrustPolicy's `spec.commits`, print one line (or JSON object) per commit or finding.
// Credentials come from files and environment variables, never from the command line.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { loadTrustPolicy } from "../../config/load.js";
import type { GitRef } from "../../config/types.js";
import { CONTENT_REFUSED_CODES, type SourceError } from "../../source/errors.js";
import { fetchSource, mirrorRepository, type SourceCredentials } from "../../source/fetch.js";
import { resolveCommit } from "../../source/walk.js";
import { compileCommitPolicy, type CompiledCommitPolicy } from "../../trust/commit/keys.js";
import { listPaths, verifyCommitRange } from "../../trust/commit/range.js";
import { auditRepository } from "../../trust/commit/repo-audit.js";
import {
  CommitCode,
  type CommitVerdict,
  type Finding,
  type RangeVerdict,
} from "../../trust/commit/verdict.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

interface CommonOptions {
  repo: string;
  trust: string;
  cacheDir?: string;
  username?: string;
  sshKey?: string;
  knownHosts?: string;
  output: OutputFormat;
}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--repo <url|path>", "repository: https://, ssh://, user@host:path, or a local path")
    .requiredOption("--trust <file>", "TrustPolicy YAML file (its spec.commits is used)")
    .option("--cache-dir <dir>", "keep the fetched mirror here for incremental fetches (default: a temp dir)")
    .option(
      "--username <name>",
      "user name for https; the password or token is read from GITWARD_GIT_PASSWORD or GITWARD_GIT_TOKEN",
    )
    .option("--ssh-key <file>", "private key file for ssh repositories")
    .option("--known-hosts <file>", "known_hosts file for ssh repositories (required for ssh)")
    .addOption(outputOption());
}

/** Parses --ref: a branch name, a full commit id, refs/heads/X, refs/tags/X, or branch:/tag:/commit: X. */
export function parseRefOption(ref: string): GitRef {
  const m = /^(branch|tag|commit):(.+)$/.exec(ref);
  if (m?.[1] === "tag") return { tag: m[2] ?? "" };
  if (m?.[1] === "commit") return { commit: (m[2] ?? "").toLowerCase() };
  if (m?.[1] === "branch") return { branch: m[2] ?? "" };
  if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
  if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
  if (/^[0-9a-f]{40}$/i.test(ref)) return { commit: ref.toLowerCase() };
  return { branch: ref };
}

async function readCredentials(opts: CommonOptions): Promise<SourceCredentials | undefined> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, "utf8");
    } catch {
      throw new ConfigError(`cannot read ${what} file`, file);
    }
  };
  if (opts.knownHosts !== undefined || opts.sshKey !== undefined) {
    if (opts.knownHosts === undefined)
      throw new ConfigError(
        "--ssh-key needs --known-hosts (host keys are never trusted on first use)",
        "--known-hosts",
      );
    const knownHosts = await read(opts.knownHosts, "known_hosts");
    return opts.sshKey === undefined
      ? { kind: "ssh", knownHosts }
      : { kind: "ssh", knownHosts, privateKey: await read(opts.sshKey, "ssh key") };
  }
  const password = process.env.GITWARD_GIT_PASSWORD;
  const token = process.env.GITWARD_GIT_TOKEN;
  if (token !== undefined && token !== "") {
    return opts.username === undefined
      ? { kind: "token", token }
      : { kind: "token", token, username: opts.username };
  }
  if (password !== undefined && password !== "") {
    if (opts.username === undefined)
      throw new ConfigError("GITWARD_GIT_PASSWORD needs --username", "--username");
    return { kind: "basic", username: opts.username, password };
  }
  return undefined;
}

async function loadPolicy(file: string): Promise<CompiledCommitPolicy> {
  const policy = await loadTrustPolicy(file);
  if (policy.spec.commits === undefined)
    throw new ConfigError("the TrustPolicy has no spec.commits section: add the commit signers", file);
  try {
    return await compileCommitPolicy(policy.spec.commits);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.message, file);
    throw err;
  }
}

/** Runs `body` with a cache folder: the one given, or a temp folder removed afterwards. */
async function withCache<T>(dir: string | undefined, body: (dir: string) => Promise<T>): Promise<T> {
  if (dir !== undefined) return body(dir);
  const tmp = await mkdtemp(path.join(tmpdir(), "gitward-verify-"));
  try {
    return await body(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A fetch that failed: the repository's content refused (git's object checks, size limits) is a finding
 * about the revision, reported like an untrusted commit (exit 1); anything else is a usage or
 * configuration error (exit 2).
 */
function refusedContent(error: SourceError): Finding {
  if (!CONTENT_REFUSED_CODES.has(error.code)) throw new ConfigError(error.message, "--repo");
  const code = error.code === "FSCK_FAILED" ? CommitCode.FSCK_FAILED : CommitCode.TOO_LARGE;
  return { code, message: error.message.slice(`${error.code}: `.length) };
}

function who(c: CommitVerdict): string {
  return c.author === undefined ? "?" : `${c.author.name} <${c.author.email}>`;
}

function printRangeText(v: RangeVerdict): void {
  const lines: string[] = [];
  for (const c of v.commits) {
    const signer = c.signer === undefined ? "-" : c.signer.names.join(",");
    const key = c.signer?.fingerprint ?? "-";
    const status = c.trusted ? "TRUSTED" : (c.code ?? "REJECTED");
    let line = `${c.trusted ? "ok  " : "FAIL"} ${c.commit.slice(0, 12)} ${status} signer=${signer} key=${key} author=${who(c)}`;
    if (c.unauthorizedPaths.length > 0)
      line += ` unauthorized=${listPaths(c.unauthorizedPaths, c.pathCheckStopped === true)}`;
    lines.push(line);
    for (const f of c.findings) lines.push(`     ${f.message}`);
  }
  if (v.tag !== undefined) {
    lines.push(
      `${v.tag.trusted ? "ok  " : "FAIL"} tag ${v.tag.name} ${v.tag.trusted ? "TRUSTED" : (v.tag.code ?? "REJECTED")} signer=${v.tag.signer?.names.join(",") ?? "-"} key=${v.tag.signer?.fingerprint ?? "-"}`,
    );
    for (const f of v.tag.findings) lines.push(`     ${f.message}`);
  }
  for (const f of v.findings) lines.push(`FAIL ${f.code}: ${f.message}`);
  const bad = v.commits.filter((c) => !c.trusted).length;
  lines.push(
    v.trusted
      ? `${v.commits.length} commit(s) verified: all trusted`
      : `${bad} of ${v.commits.length} commit(s) not trusted${v.findings.length > 0 ? `, ${v.findings.length} finding(s) about the revision` : ""}`,
  );
  process.stdout.write(lines.join("\n") + "\n");
}

function jsonRange(v: RangeVerdict): unknown {
  return {
    trusted: v.trusted,
    from: v.from ?? null,
    to: v.to,
    findings: v.findings,
    tag: v.tag ?? null,
    commits: v.commits.map((c) => ({
      sha: c.commit,
      verdict: c.trusted ? "trusted" : "rejected",
      code: c.code ?? null,
      author: c.author ?? null,
      committer: c.committer ?? null,
      signer: c.signer?.names ?? [],
      keyFingerprint: c.signer?.fingerprint ?? null,
      subject: c.subject,
      changedPaths: c.changedPaths,
      unauthorizedPaths: c.unauthorizedPaths,
      findings: c.findings,
    })),
  };
}

export function registerVerify(program: Command): void {
  const verify = program
    .command("verify")
    .description("verify a repository's commits against a trust policy");

  addCommonOptions(
    verify
      .command("commits")
      .description(
        "verify every commit the ref brings in since --since (or the ref's head, back to the policy's trustedRoot): " +
          "signature by a trusted key, signer authorized for the changed paths, message pattern, no history rewrite.\n" +
          "Exit 0 when every commit is trusted, 1 when any is not, 2 on usage or configuration error.",
      )
      .addOption(new Option("--ref <ref>", "branch, tag (refs/tags/X or tag:X) or commit id").default("main"))
      .option("--since <sha>", "the last applied (already trusted) commit"),
  ).action(async (opts: CommonOptions & { ref: string; since?: string }) => {
    const policy = await loadPolicy(opts.trust);
    const credentials = await readCredentials(opts);
    const verdict = await withCache(opts.cacheDir, async (cacheDir) => {
      const fetched = await fetchSource({
        url: opts.repo,
        ref: parseRefOption(opts.ref),
        cacheDir,
        ...(credentials ? { credentials } : {}),
      });
      if (!fetched.ok) {
        const refused = refusedContent(fetched.error);
        return { trusted: false, to: "", findings: [refused], commits: [] } satisfies RangeVerdict;
      }
      let from: string | undefined;
      if (opts.since !== undefined) {
        from =
          (await resolveCommit(fetched.source.dir, opts.since)) ??
          (/^[0-9a-f]{40}$/i.test(opts.since) ? opts.since.toLowerCase() : undefined);
        if (from === undefined)
          throw new ConfigError(
            `${JSON.stringify(opts.since.slice(0, 80))} is not a commit of the repository`,
            "--since",
          );
      }
      return verifyCommitRange({
        repoDir: fetched.source.dir,
        to: fetched.source.head,
        policy,
        ...(from === undefined ? {} : { from }),
        ...(fetched.source.tagObject === undefined ? {} : { tagObject: fetched.source.tagObject }),
      });
    });
    if (opts.output === "json") printJson(jsonRange(verdict));
    else printRangeText(verdict);
    process.exitCode = verdict.trusted ? ExitCode.Ok : ExitCode.Findings;
  });

  addCommonOptions(
    verify
      .command("repo")
      .description(
        "audit a repository: list branches and tags, flag refs the policy's expectedRefs do not allow and commits whose " +
          "author or committer is not a trusted signer's identity.\nExit 0 when nothing is flagged, 1 otherwise, 2 on usage or configuration error.",
      )
      .option("--max-commits <n>", "newest commits to check", "10000"),
  ).action(async (opts: CommonOptions & { maxCommits: string }) => {
    const maxCommits = Number.parseInt(opts.maxCommits, 10);
    if (!Number.isInteger(maxCommits) || maxCommits <= 0)
      throw new ConfigError("must be a positive integer", "--max-commits");
    const policy = await loadPolicy(opts.trust);
    const credentials = await readCredentials(opts);
    const audit = await withCache(opts.cacheDir, async (cacheDir) => {
      const mirrored = await mirrorRepository({
        url: opts.repo,
        cacheDir,
        ...(credentials ? { credentials } : {}),
      });
      if (!mirrored.ok) {
        const refused = refusedContent(mirrored.error);
        return { ok: false, refs: [], commitsChecked: 0, truncated: false, findings: [], refused };
      }
      return auditRepository({ repoDir: mirrored.dir, policy, maxCommits });
    });
    if (opts.output === "json") {
      printJson(audit);
    } else {
      const lines = audit.refs.map(
        (r) => `ref  ${r.name} ${r.commit.slice(0, 12)}${r.type === "tag" ? " (annotated tag)" : ""}`,
      );
      for (const f of audit.findings) lines.push(`FAIL ${f.code} ${f.subject}: ${f.message}`);
      if ("refused" in audit) lines.push(`FAIL ${audit.refused.code}: ${audit.refused.message}`);
      lines.push(
        `${audit.refs.length} ref(s), ${audit.commitsChecked} commit(s) checked${audit.truncated ? " (truncated)" : ""}, ${audit.findings.length} finding(s)`,
      );
      process.stdout.write(lines.join("\n") + "\n");
    }
    process.exitCode = audit.ok ? ExitCode.Ok : ExitCode.Findings;
  });
}
