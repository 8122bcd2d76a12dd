// The delivery access pattern of a setup, from its CI files and gitward's own configuration: which of the
// three credentials (registry push, config-repo write, cluster write) CI holds, with the file:line that
// shows it, what an attacker who owns CI can therefore do, and the next step toward code-only (CI builds
// and pushes signed images; the operator pulls). Suppressed CI findings still count: a suppression
// accepts a finding, it does not take the credential away.
import type { ConfigSet } from "../config/load.js";
import { auditFiles } from "./audit.js";
import { jobs, linesOf, usesAction, type Job } from "./model.js";
import { get, pos, posIn, str } from "./nav.js";
import { discover } from "./parse.js";
import { CI_RULES } from "./rules/index.js";
import { pushesOf } from "./rules/images.js";
import { subcommands } from "./shell.js";
import type { CiAuditError, CiFile } from "./types.js";

/** Ordered from best to worst: the CLI exits 0 only for the first. */
export const ACCESS_PATTERNS = ["code-only", "deployment-repo", "full"] as const;
export type AccessPattern = (typeof ACCESS_PATTERNS)[number];

export const CREDENTIALS = ["registry-push", "config-repo-write", "cluster-write"] as const;
export type Credential = (typeof CREDENTIALS)[number];

export interface Evidence {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

export interface CredentialRow {
  readonly credential: Credential;
  readonly heldByCi: boolean;
  /** Who holds the credential, as far as the files show. */
  readonly holders: readonly string[];
  readonly evidence: readonly Evidence[];
}

export interface AccessReport {
  readonly schemaVersion: 1;
  readonly root: string;
  readonly pattern: AccessPattern;
  /** False when a CI file could not be read: the pattern is then a lower bound, never code-only. */
  readonly complete: boolean;
  readonly credentials: readonly CredentialRow[];
  /** CI secrets that look like commit-signing keys: with them CI can sign as a trusted signer. */
  readonly signingKeysInCi: readonly Evidence[];
  readonly attacker: readonly string[];
  readonly nextStep: string;
  readonly config: {
    readonly applications: readonly { name: string; source: string }[];
    readonly commitSigners: number;
    readonly imageSigners: number;
    readonly requireDigest: boolean;
  };
  readonly errors: readonly CiAuditError[];
}

// Actions that commit or open pull requests with the token they are given.
const GIT_WRITE_ACTIONS = [
  "peter-evans/create-pull-request",
  "stefanzweifel/git-auto-commit-action",
  "endbug/add-and-commit",
  "ad-m/github-push-action",
  "actions-js/push",
  "planetscale/ghcommit-action",
  "cpina/github-action-push-to-another-repository",
  "s0/git-publish-subdir-action",
];
const CLUSTER_RULES = new Set(["ci/cluster-credentials", "ci/ci-deploy"]);
const SIGNING_SECRET =
  /\$\{\{\s*secrets\.([A-Za-z0-9_]*(?:GPG|PGP|SIGNING|SSH_PRIVATE|SSH_KEY|DEPLOY_KEY)[A-Za-z0-9_]*)\s*\}\}/gi;

/** "owner/name" of a git URL (https, ssh, scp-like), lower-cased, or undefined. */
export function repoSlug(url: string): string | undefined {
  const m = /^(?:[a-z+]+:\/\/(?:[^@/]+@)?[^/]+\/|[^@\s]+@[^:\s]+:)([^\s?#]+?)(?:\.git)?\/?$/i.exec(
    url.trim(),
  );
  const p = m?.[1];
  if (p === undefined) return undefined;
  const parts = p.split("/").filter((x) => x !== "");
  return parts.length >= 2 ? parts.slice(-2).join("/").toLowerCase() : undefined;
}

function stripQuotes(w: string): string {
  return w.replace(/^["']|["']$/g, "");
}

/** A git push that only pushes tags is a release of the code, not a write of deployment config. */
function isTagOnlyPush(line: string): boolean {
  return line.includes("--tags") || line.includes("refs/tags/");
}

function gitWrites(file: CiFile, job: Job, configRepos: ReadonlySet<string>): Evidence[] {
  const out: Evidence[] = [];
  for (const step of job.steps) {
    if (step.uses === undefined) continue;
    if (usesAction(step, ...GIT_WRITE_ACTIONS)) {
      out.push({
        file: file.file,
        line: pos(file, step.uses.node).line,
        what: `job ${job.id}: ${step.uses.value} commits with CI's token`,
      });
    }
    if (usesAction(step, "actions/checkout")) {
      const repo = str(get(step.with, "repository"))?.toLowerCase();
      if (repo !== undefined && configRepos.has(repo)) {
        const token = get(step.with, "token") !== undefined || get(step.with, "ssh-key") !== undefined;
        out.push({
          file: file.file,
          line: pos(file, get(step.with, "repository")).line,
          what: `job ${job.id}: checks out the config repository ${repo}${token ? " with a token or key of its own" : ""}`,
        });
      }
    }
  }
  for (const script of job.scripts) {
    for (const line of linesOf(script)) {
      const gitSubs = subcommands(line, "git", new Set(["-C", "-c"]));
      const git = gitSubs.some((s) => s[0] === "push");
      // A clone of a repository the config names as an Application source, to commit to it further on.
      const cloned = gitSubs.some(
        (s) => s[0] === "clone" && configRepos.has(repoSlug(stripQuotes(s[1] ?? "")) ?? ""),
      );
      if (cloned) {
        out.push({
          file: file.file,
          line: posIn(file, script.node, line).line,
          what: `job ${job.id}: clones the config repository ${repoSlug(stripQuotes(gitSubs.find((s) => s[0] === "clone")?.[1] ?? "")) ?? ""}`,
        });
      }
      const gh = subcommands(line, "gh", new Set(["-R", "--repo"])).some(
        (s) => s[0] === "pr" && (s[1] === "create" || s[1] === "merge"),
      );
      if ((git && !isTagOnlyPush(line)) || gh) {
        out.push({
          file: file.file,
          line: posIn(file, script.node, line).line,
          what: `job ${job.id}: \`${line.length > 60 ? line.slice(0, 57) + "..." : line}\` writes a git repository`,
        });
      }
    }
  }
  return out;
}

function signingKeys(file: CiFile): Evidence[] {
  const out: Evidence[] = [];
  for (const m of file.text.matchAll(SIGNING_SECRET)) {
    out.push({
      file: file.file,
      line: file.lineCounter.linePos(m.index).line,
      what: `secret ${m[1] ?? ""}`,
    });
  }
  return out;
}

function classify(cluster: boolean, configRepo: boolean): AccessPattern {
  if (cluster) return "full";
  return configRepo ? "deployment-repo" : "code-only";
}

interface ConfigFacts {
  readonly given: boolean;
  readonly commitSigners: number;
  readonly imageSigners: number;
  readonly requireDigest: boolean;
  readonly hasApplications: boolean;
}

function attackerCan(
  rows: Record<Credential, CredentialRow>,
  keys: readonly Evidence[],
  c: ConfigFacts,
): string[] {
  const out: string[] = [];
  if (rows["cluster-write"].heldByCi)
    out.push(
      "Change the cluster directly with CI's cluster credentials: deploy any image or delete workloads, " +
        "bypassing gitward's commit, image and policy checks, with no signed commit recording it.",
    );
  if (rows["config-repo-write"].heldByCi) {
    if (!c.given)
      out.push(
        "Push commits to the repositories CI can write; pass --config to see whether gitward would apply them.",
      );
    else if (c.commitSigners === 0)
      out.push(
        "Push commits to the config repository; with no commits.signers in the TrustPolicy gitward has no signer to check.",
      );
    else if (keys.length > 0)
      out.push(
        `Push commits to the config repository and sign them with the key CI holds (${keys[0]?.what ?? ""}): ` +
          "if that key is a TrustPolicy signer, gitward applies them.",
      );
    else
      out.push(
        "Push commits to the config repository; gitward applies them only if they are signed by one of the " +
          `${c.commitSigners} TrustPolicy commit signer(s) for the paths they change, so unsigned changes are refused.`,
      );
  }
  if (rows["registry-push"].heldByCi) {
    out.push(
      !c.given
        ? "Push or overwrite images in the registry; pass --config to see whether the cluster would run them."
        : c.imageSigners > 0
          ? "Push or overwrite images in the registry; the cluster runs only images signed by a TrustPolicy image " +
            `signer${c.requireDigest ? " and pinned by digest" : ""}, so an image CI did not sign is refused.`
          : "Push or overwrite images in the registry; with no images.signers in the TrustPolicy, a replaced image " +
            "runs wherever it is deployed.",
    );
  }
  if (out.length === 0)
    out.push("Nothing beyond the repository's own token: CI holds none of the three delivery credentials.");
  return out;
}

function nextStep(pattern: AccessPattern, c: ConfigFacts): string {
  switch (pattern) {
    case "full":
      return (
        "Remove the cluster credentials and the deploy steps from CI (the cluster-write evidence above). Let CI " +
        "commit the new image digest to the config repository and let the gitward operator apply verified " +
        "revisions from inside the cluster (deployment-repo); then take the config-repo write away too."
      );
    case "deployment-repo":
      return (
        "Take the config-repository write token out of CI: CI only builds, signs and pushes images; the digest " +
        "change is committed outside CI by a person or a bot whose key is a TrustPolicy commits.signers entry " +
        "limited to the image paths (code-only)."
      );
    case "code-only":
      return !c.given
        ? "Code-only as far as the CI files show; pass --config to check that images.signers protects the registry side."
        : c.imageSigners > 0
          ? "Code-only already. Keep images.signers and requireDigest so a stolen registry credential cannot ship an image."
          : "Code-only, but add images.signers (and requireDigest) to the TrustPolicy: today a stolen registry " +
            "credential can replace an image the cluster pulls.";
    default: {
      const never: never = pattern;
      return never;
    }
  }
}

/** The access pattern of the CI files under `target`, judged against gitward's configuration. */
export async function auditAccess(target: string, config: ConfigSet | undefined): Promise<AccessReport> {
  const found = await discover(target);
  const configRepos = new Set<string>();
  const applications = (config?.applications ?? []).map((a) => {
    const slug = repoSlug(a.spec.source.url);
    if (slug !== undefined) configRepos.add(slug);
    return { name: a.metadata.name, source: a.spec.source.url };
  });
  const facts: ConfigFacts = {
    given: config !== undefined,
    commitSigners: Math.max(
      0,
      ...(config?.trustPolicies ?? []).map((t) => t.spec.commits?.signers.length ?? 0),
    ),
    imageSigners: Math.max(
      0,
      ...(config?.trustPolicies ?? []).map((t) => t.spec.images?.signers?.length ?? 0),
    ),
    requireDigest: (config?.trustPolicies ?? []).some(
      (t) => t.spec.images?.requireDigest !== false && t.spec.images !== undefined,
    ),
    hasApplications: applications.length > 0,
  };

  const cluster: Evidence[] = [];
  const { findings, suppressed } = auditFiles(found.files, {
    rules: CI_RULES.filter((r) => CLUSTER_RULES.has(r.id)),
  });
  for (const f of findings) cluster.push({ file: f.file, line: f.line, what: `${f.ruleId}: ${f.message}` });
  for (const s of suppressed)
    cluster.push({ file: s.file, line: s.line, what: `${s.ruleId} (suppressed: ${s.reason})` });

  const registry: Evidence[] = [];
  const repo: Evidence[] = [];
  const keys: Evidence[] = [];
  for (const file of found.files) {
    for (const job of jobs(file)) {
      for (const p of pushesOf(file, job))
        registry.push({
          file: file.file,
          line: p.at.line,
          what: `job ${p.job}: ${p.what}${p.refs.length > 0 ? ` ${p.refs.join(", ")}` : ""}`,
        });
      repo.push(...gitWrites(file, job, configRepos));
    }
    keys.push(...signingKeys(file));
  }

  const ci = (e: readonly Evidence[]): string[] => [...new Set(e.map((x) => `CI (${x.file})`))];
  const rows: Record<Credential, CredentialRow> = {
    "registry-push": {
      credential: "registry-push",
      heldByCi: registry.length > 0,
      holders: registry.length > 0 ? ci(registry) : ["not CI (no push found in the CI files)"],
      evidence: registry,
    },
    "config-repo-write": {
      credential: "config-repo-write",
      heldByCi: repo.length > 0,
      holders: [
        ...ci(repo),
        !facts.given
          ? "unknown without --config (who may push, and which signers gitward requires)"
          : facts.commitSigners > 0
            ? `${facts.commitSigners} TrustPolicy commit signer(s): only their signed commits are applied`
            : "anyone with push access (no commits.signers configured)",
      ],
      evidence: repo,
    },
    "cluster-write": {
      credential: "cluster-write",
      heldByCi: cluster.length > 0,
      holders: [
        ...ci(cluster),
        ...(facts.hasApplications
          ? ["the gitward operator, inside the cluster (pulls verified revisions)"]
          : []),
        ...(cluster.length === 0 && !facts.hasApplications
          ? ["none found in the CI files or the config"]
          : []),
      ],
      evidence: cluster,
    },
  };
  const complete = found.errors.length === 0;
  let pattern = classify(rows["cluster-write"].heldByCi, rows["config-repo-write"].heldByCi);
  // Fail closed: a CI file that could not be read may hold any credential, so it cannot be code-only.
  if (!complete && pattern === "code-only") pattern = "deployment-repo";
  return {
    schemaVersion: 1,
    root: found.root,
    pattern,
    complete,
    credentials: CREDENTIALS.map((c) => rows[c]),
    signingKeysInCi: keys,
    attacker: attackerCan(rows, keys, facts),
    nextStep: nextStep(pattern, facts),
    config: {
      applications,
      commitSigners: facts.commitSigners,
      imageSigners: facts.imageSigners,
      requireDigest: facts.requireDigest,
    },
    errors: found.errors,
  };
}

/** The report as text: the verdict, the credential table with evidence, the attacker, the next step. */
export function formatAccess(r: AccessReport): string {
  const lines = [
    `Access pattern: ${r.pattern}${r.complete ? "" : " (incomplete: some CI files could not be read)"}`,
    "",
  ];
  lines.push("Credential table:");
  for (const row of r.credentials) {
    lines.push(
      `  ${row.credential.padEnd(18)} ${row.heldByCi ? "HELD BY CI" : "not in CI"}  holders: ${row.holders.join("; ")}`,
    );
    for (const e of row.evidence) lines.push(`      ${e.file}:${e.line}  ${e.what}`);
  }
  if (r.signingKeysInCi.length > 0) {
    lines.push("", "Signing keys in CI:");
    for (const e of r.signingKeysInCi) lines.push(`  ${e.file}:${e.line}  ${e.what}`);
  }
  lines.push("", "An attacker who owns CI can:");
  for (const a of r.attacker) lines.push(`  - ${a}`);
  lines.push("", `Next step: ${r.nextStep}`);
  if (r.errors.length > 0) {
    lines.push("", "Unreadable CI files:");
    for (const e of r.errors) lines.push(`  ${e.code} ${e.message}`);
  }
  return lines.join("\n") + "\n";
}
