// The "unexpected branch, unknown committer" audit of `gitward verify repo`: lists a repository's branches
// and tags, flags refs the policy does not expect, and commits whose author or committer is not an
// identity of a trusted signer (its `emails`, and the e-mail addresses in its OpenPGP keys' user IDs).
import type { CommitPolicy } from "../../config/types.js";
import { git } from "../../source/git.js";
import { listRefs, type RefInfo } from "../../source/walk.js";
import { ensureCompiled, type CompiledCommitPolicy } from "./keys.js";

export const RepoAuditCode = {
  /** A branch or tag that matches none of the policy's expectedRefs globs. */
  UNEXPECTED_REF: "UNEXPECTED_REF",
  /** A commit authored or committed by an identity no trusted signer has. */
  UNKNOWN_COMMITTER: "UNKNOWN_COMMITTER",
} as const;
export type RepoAuditCode = (typeof RepoAuditCode)[keyof typeof RepoAuditCode];

export interface RepoAuditFinding {
  code: RepoAuditCode;
  /** The ref name, or the commit id. */
  subject: string;
  message: string;
}

export interface RepoAudit {
  ok: boolean;
  refs: RefInfo[];
  /** How many commits (reachable from any branch or tag) were looked at. */
  commitsChecked: number;
  /** True when more commits exist than `maxCommits` allowed to check. */
  truncated: boolean;
  findings: RepoAuditFinding[];
}

export interface RepoAuditOptions {
  repoDir: string;
  policy: CommitPolicy | CompiledCommitPolicy;
  /** Newest commits to check (default 10,000). */
  maxCommits?: number;
}

/** E-mail addresses of the trusted signers, lower-cased. */
function trustedIdentities(policy: CompiledCommitPolicy): Set<string> {
  const emails = new Set<string>();
  for (const s of policy.signers) for (const e of s.emails) emails.add(e);
  for (const { key } of policy.openpgp) {
    for (const uid of key.getUserIDs()) {
      const m = /<([^<>]+)>\s*$/.exec(uid);
      if (m?.[1] !== undefined) emails.add(m[1].toLowerCase());
    }
  }
  return emails;
}

export async function auditRepository(opts: RepoAuditOptions): Promise<RepoAudit> {
  const policy = await ensureCompiled(opts.policy);
  const refs = await listRefs(opts.repoDir);
  const findings: RepoAuditFinding[] = [];
  // Step 1: refs the policy does not expect (skipped when it lists none).
  if (policy.expectedRefs.length > 0) {
    for (const ref of refs) {
      if (!policy.isExpectedRef(ref.name)) {
        findings.push({
          code: "UNEXPECTED_REF",
          subject: ref.name,
          message: `${ref.name} is not one of the expected refs (${policy.expectedRefs.join(", ")}); delete it or add it to expectedRefs`,
        });
      }
    }
  }
  // Step 2: authors and committers that are not trusted identities.
  const max = opts.maxCommits ?? 10_000;
  const identities = trustedIdentities(policy);
  let commitsChecked = 0;
  let truncated = false;
  if (refs.length > 0) {
    const out = await git(
      [
        "log",
        `--max-count=${max + 1}`,
        "--format=%H%x00%an%x00%ae%x00%cn%x00%ce",
        ...new Set(refs.map((r) => r.commit)),
        "--",
      ],
      { cwd: opts.repoDir },
    );
    const lines = out === "" ? [] : out.split("\n");
    truncated = lines.length > max;
    for (const line of lines.slice(0, max)) {
      const [sha = "", an = "", ae = "", cn = "", ce = ""] = line.split("\0");
      commitsChecked++;
      const unknown = [
        ...(identities.has(ae.toLowerCase()) ? [] : [`author ${an} <${ae}>`]),
        ...(identities.has(ce.toLowerCase()) ? [] : [`committer ${cn} <${ce}>`]),
      ];
      if (unknown.length > 0) {
        findings.push({
          code: "UNKNOWN_COMMITTER",
          subject: sha,
          message: `commit ${sha.slice(0, 12)}: ${unknown.join(" and ")} is not an identity of a trusted signer; add the e-mail to a signer's emails or investigate the commit`,
        });
      }
    }
  }
  return { ok: findings.length === 0, refs, commitsChecked, truncated, findings };
}
