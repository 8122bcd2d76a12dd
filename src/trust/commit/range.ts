// Commit trust for a new head: every commit it brings in since the last applied one is checked in named
// steps (object well-formed, signature valid with a trusted key, signer authorized for every changed path,
// message pattern), after the history checks (descends from the last applied commit / trusted root) and,
// for a tag ref, the tag's own signature. The result is a RangeVerdict; nothing here throws for a bad commit.
import type { CommitPolicy } from "../../config/types.js";
import { parseCommit, parseTag, type ParsedCommit } from "../../source/commit.js";
import { shortPath, sourceLimits, type SourceLimits } from "../../source/limits.js";
import { ObjectReader } from "../../source/objects.js";
import { changedPaths, TreeTooLargeError, type DiffLimits } from "../../source/tree-diff.js";
import { hasCommit, isAncestor, isObjectId, listCommits } from "../../source/walk.js";
import { ensureCompiled, isCompiledCommitPolicy, type CompiledCommitPolicy } from "./keys.js";
import { SignatureVerifier } from "./signature.js";
import {
  UNAUTHORIZED_PATHS_LISTED,
  type CommitVerdict,
  type Finding,
  type RangeVerdict,
  type TagVerdict,
} from "./verdict.js";

export interface VerifyRangeOptions {
  /** A repository (bare or not) holding the commits, e.g. FetchedSource.dir. */
  repoDir: string;
  /** The last applied commit; absent on the first run. */
  from?: string;
  /** The new head commit. */
  to: string;
  /** The policy, or one compiled once with compileCommitPolicy() and reused across reconciles. */
  policy: CommitPolicy | CompiledCommitPolicy;
  /** For a tag ref: the annotated tag object, verified too (FetchedSource.tagObject). */
  tagObject?: string;
  /** Clock for key expiry (default now). */
  now?: Date;
  /** Tree and change size limits (default DEFAULT_SOURCE_LIMITS). */
  limits?: Partial<SourceLimits>;
}

const short = (oid: string) => oid.slice(0, 12);

/** Commits verified at once. */
const BATCH_SIZE = 256;

/**
 * Heads this process verified as trusted, per repository and policy. The head applied last is verified
 * again (alone: its signature, signer's paths and message) when it is not here: after a restart, and after
 * the trust policy changed (a revoked key then refuses the running head) — not on every no-op pass.
 */
const trustedHeads = new Set<string>();
const TRUSTED_HEADS_SIZE = 1024;
/** Ids of compiled policies handed in as objects (their content is not at hand to key by). */
const compiledIds = new WeakMap<CompiledCommitPolicy, number>();
let nextCompiledId = 0;

function policyKey(p: CommitPolicy | CompiledCommitPolicy): string {
  if (!isCompiledCommitPolicy(p)) return JSON.stringify(p);
  let id = compiledIds.get(p);
  if (id === undefined) {
    id = nextCompiledId++;
    compiledIds.set(p, id);
  }
  return `compiled:${id}`;
}

function rememberTrusted(key: string): void {
  if (trustedHeads.size >= TRUSTED_HEADS_SIZE) trustedHeads.clear();
  trustedHeads.add(key);
}

/** Verifies every commit that `to` brings in since `from` (see the module comment). */
export async function verifyCommitRange(opts: VerifyRangeOptions): Promise<RangeVerdict> {
  const policy = await ensureCompiled(opts.policy);
  const verdict: RangeVerdict = { trusted: false, to: opts.to, findings: [], commits: [] };
  if (opts.from !== undefined) verdict.from = opts.from;
  const headKey = `${opts.repoDir}\u0000${opts.to}\u0000${policyKey(opts.policy)}`;
  // The head applied last brings nothing new: no walk and no history check (it descends from itself).
  const same = opts.from === opts.to && isObjectId(opts.to);
  if (same && opts.tagObject === undefined && trustedHeads.has(headKey)) {
    verdict.trusted = true;
    return verdict;
  }
  if (!isObjectId(opts.to) || !(await hasCommit(opts.repoDir, opts.to))) {
    verdict.findings.push({
      code: "OBJECT_MISSING",
      message: `head ${JSON.stringify(opts.to.slice(0, 80))} is not a commit in the repository; fetch again`,
    });
    return verdict;
  }
  // The same head, not verified by this process under this policy: the head alone is verified again.
  const range = same ? [opts.to] : await selectRange(opts, policy, verdict.findings);
  if (range.length === 0 && opts.tagObject === undefined) {
    verdict.trusted = verdict.findings.length === 0;
    return verdict;
  }
  const reader = new ObjectReader(opts.repoDir);
  try {
    const verifier = new SignatureVerifier(policy, opts.now ?? new Date());
    const limits = sourceLimits(opts.limits);
    // Commits are checked concurrently (the object reader pipelines requests to one git process), in
    // batches so that a long first-run range does not hold every commit object in memory at once.
    for (let i = 0; i < range.length; i += BATCH_SIZE) {
      const batch = range.slice(i, i + BATCH_SIZE);
      verdict.commits.push(
        ...(await Promise.all(batch.map((oid) => verifyCommit(oid, reader, verifier, policy, limits)))),
      );
    }
    if (opts.tagObject !== undefined)
      verdict.tag = await verifyTag(opts.tagObject, opts.to, reader, verifier);
  } finally {
    reader.close();
  }
  verdict.trusted =
    verdict.findings.length === 0 &&
    verdict.commits.every((c) => c.trusted) &&
    (verdict.tag?.trusted ?? true);
  if (verdict.trusted) rememberTrusted(headKey);
  // For the same head, the report lists no commit as new (it was applied before).
  if (same) verdict.commits = verdict.commits.filter((c) => !c.trusted);
  return verdict;
}

/** The history checks, then the commits to verify: `to` minus what `from` (or the trusted root) reaches. */
async function selectRange(
  opts: VerifyRangeOptions,
  policy: CompiledCommitPolicy,
  findings: Finding[],
): Promise<string[]> {
  const { repoDir, to, from } = opts;
  if (from !== undefined) {
    const known = isObjectId(from) && (await hasCommit(repoDir, from));
    const descends = known && (await isAncestor(repoDir, from, to));
    if (!descends) {
      if (!policy.allowHistoryRewrite) {
        findings.push({
          code: "HISTORY_REWRITTEN",
          message: `head ${short(to)} does not descend from the last applied commit ${short(from)}: the history was rewritten (force-push). Restore the old history, or set allowHistoryRewrite in the trust policy if this was intended`,
        });
      }
      // Still verify what the new head brings in, so the report names the commits.
      if (known) return listCommits(repoDir, to, [from]);
      return firstRun(opts, policy, findings);
    }
    return listCommits(repoDir, to, [from]);
  }
  return firstRun(opts, policy, findings);
}

async function firstRun(
  opts: VerifyRangeOptions,
  policy: CompiledCommitPolicy,
  findings: Finding[],
): Promise<string[]> {
  const root = policy.trustedRoot;
  if (root === undefined) return [opts.to];
  if (
    !isObjectId(root) ||
    !(await hasCommit(opts.repoDir, root)) ||
    !(await isAncestor(opts.repoDir, root, opts.to))
  ) {
    findings.push({
      code: "TRUSTED_ROOT_NOT_FOUND",
      message: `the trust policy's trustedRoot ${JSON.stringify(root.slice(0, 80))} is not an ancestor of head ${short(opts.to)}; check trustedRoot (a full commit id on this branch)`,
    });
    return [opts.to];
  }
  return listCommits(opts.repoDir, opts.to, [root]);
}

async function verifyCommit(
  oid: string,
  reader: ObjectReader,
  verifier: SignatureVerifier,
  policy: CompiledCommitPolicy,
  limits: DiffLimits,
): Promise<CommitVerdict> {
  let commit: ParsedCommit;
  try {
    commit = parseCommit(oid, await reader.readTyped(oid, "commit"));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return refuse(oid, { code: "OBJECT_MISSING", message: `commit ${short(oid)} cannot be read: ${why}` });
  }
  const verdict: CommitVerdict = {
    commit: oid,
    trusted: false,
    findings: [],
    subject: (commit.message.split("\n")[0] ?? "").slice(0, 200),
    changedPaths: [],
    unauthorizedPaths: [],
  };
  if (commit.author) verdict.author = commit.author;
  if (commit.committer) verdict.committer = commit.committer;
  // Step 1: a malformed object is refused before anything else is read from it.
  if (commit.malformed !== undefined) {
    return finish(verdict, [
      {
        code: "MALFORMED_COMMIT",
        message: `commit ${short(oid)} is malformed (${commit.malformed}); it cannot be trusted`,
      },
    ]);
  }
  // Step 2: the signature, over the exact bytes of the commit, by a key of the policy.
  const sig = await verifier.verify(commit.signature, commit.payload);
  if (!sig.ok) return finish(verdict, [{ code: sig.code, message: `commit ${short(oid)}: ${sig.reason}` }]);
  verdict.signer = {
    names: sig.signers.map((s) => s.name),
    format: commit.signature?.format === "ssh" ? "ssh" : "openpgp",
    fingerprint: sig.fingerprint,
  };
  const findings: Finding[] = [];
  // Step 3: the signer may change every path the commit changes against its first parent. The walk
  // stops at the first paths outside the signer's authority: a narrow signer cannot make gitward diff a
  // million entries.
  const mayChange = (p: string) => sig.signers.some((s) => s.mayChange(p));
  let outside = 0;
  try {
    const parentTree =
      commit.parents[0] === undefined
        ? undefined
        : parseCommit(commit.parents[0], await reader.readTyped(commit.parents[0], "commit")).tree;
    const diff = await changedPaths(reader, parentTree, commit.tree, {
      limits,
      visit: (p) => mayChange(p) || ++outside < UNAUTHORIZED_PATHS_LISTED,
    });
    verdict.changedPaths = diff.paths;
    if (diff.stopped) verdict.pathCheckStopped = true;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (err instanceof TreeTooLargeError) {
      return finish(verdict, [
        {
          code: "TOO_LARGE",
          message: `commit ${short(oid)}: ${why}; nothing of it was applied: split the change or raise the limit`,
        },
      ]);
    }
    return finish(verdict, [
      {
        code: "OBJECT_MISSING",
        message: `commit ${short(oid)}: cannot compare with its first parent: ${why}`,
      },
    ]);
  }
  verdict.unauthorizedPaths = verdict.changedPaths.filter((p) => !mayChange(p));
  if (verdict.unauthorizedPaths.length > 0) {
    findings.push({
      code: "NOT_AUTHORIZED_FOR_PATH",
      message: `commit ${short(oid)} is signed by ${verdict.signer.names.join(", ")}, who may not change ${listPaths(verdict.unauthorizedPaths, verdict.pathCheckStopped === true)}; have a signer authorized for these paths sign it`,
    });
  }
  // Step 4: the message pattern.
  if (policy.message !== undefined && !policy.message.test(commit.message)) {
    findings.push({
      code: "MESSAGE_POLICY",
      message: `commit ${short(oid)}: message does not match ${policy.message.source}; reword it (and re-sign)`,
    });
  }
  return finish(verdict, findings);
}

async function verifyTag(
  tagOid: string,
  to: string,
  reader: ObjectReader,
  verifier: SignatureVerifier,
): Promise<TagVerdict> {
  let data: Buffer;
  try {
    data = await reader.readTyped(tagOid, "tag");
  } catch (err) {
    const message = `tag object ${short(tagOid)} cannot be read: ${err instanceof Error ? err.message : String(err)}`;
    return {
      tag: tagOid,
      name: "",
      trusted: false,
      code: "OBJECT_MISSING",
      findings: [{ code: "OBJECT_MISSING", message }],
    };
  }
  const tag = parseTag(tagOid, data);
  const verdict: TagVerdict = { tag: tagOid, name: tag.tag, trusted: false, findings: [] };
  if (tag.malformed !== undefined || tag.object !== to || tag.type !== "commit") {
    verdict.findings.push({
      code: "MALFORMED_COMMIT",
      message: `tag ${tag.tag} is malformed or does not point at head ${short(to)}`,
    });
  } else {
    const sig = await verifier.verify(tag.signature, tag.payload);
    if (sig.ok)
      verdict.signer = {
        names: sig.signers.map((s) => s.name),
        format: tag.signature?.format === "ssh" ? "ssh" : "openpgp",
        fingerprint: sig.fingerprint,
      };
    else verdict.findings.push({ code: sig.code, message: `tag ${tag.tag}: ${sig.reason}` });
  }
  verdict.trusted = verdict.findings.length === 0;
  if (verdict.findings[0]) verdict.code = verdict.findings[0].code;
  return verdict;
}

/** Paths at most this many to a message, each at most 120 characters (the middle cut out). */
const PATHS_SHOWN = 5;

/** "a, b, c, and 7 more" (stopped: the count is a lower bound, as the check ended there). */
export function listPaths(paths: readonly string[], stopped = false): string {
  const shown = paths.slice(0, PATHS_SHOWN).map((p) => shortPath(p));
  const more = paths.length - shown.length;
  if (more > 0) shown.push(stopped ? `and at least ${more} more` : `and ${more} more`);
  else if (stopped) shown.push("and maybe more");
  return shown.join(", ");
}

function refuse(oid: string, finding: Finding): CommitVerdict {
  return {
    commit: oid,
    trusted: false,
    code: finding.code,
    findings: [finding],
    subject: "",
    changedPaths: [],
    unauthorizedPaths: [],
  };
}

function finish(verdict: CommitVerdict, findings: Finding[]): CommitVerdict {
  verdict.findings = findings;
  verdict.trusted = findings.length === 0;
  if (findings[0] !== undefined) verdict.code = findings[0].code;
  return verdict;
}
