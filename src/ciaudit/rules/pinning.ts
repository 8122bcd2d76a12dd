// Dependencies of the pipeline pinned by a name that can move: actions and reusable workflows by tag or
// branch instead of a full commit SHA, and job/service container images by tag instead of digest. Whoever
// controls the tag (the action's owner, or an attacker who took over their account) controls the job.
import { jobs } from "../model.js";
import { get, items, pos, str, type YNode } from "../nav.js";
import type { CiFile, CiRule, RawFinding } from "../types.js";

const FULL_SHA = /^[0-9a-f]{40}$/;

/** Whether a `uses:` value is pinned: local actions and full SHAs are; docker:// needs a digest. */
export function usesPinned(uses: string): boolean {
  // The SLSA generator verifies its own ref and refuses SHA pins: its documented form is a release tag.
  if (uses.toLowerCase().startsWith("slsa-framework/slsa-github-generator/") && /@v\d+\.\d+\.\d+$/.test(uses))
    return true;
  if (uses.startsWith("./") || uses.startsWith(".\\")) return true;
  if (uses.startsWith("docker://")) return uses.includes("@sha256:");
  const at = uses.lastIndexOf("@");
  return at >= 0 && FULL_SHA.test(uses.slice(at + 1));
}

function unpinnedUses(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  const check = (value: string | undefined, node: YNode, job: string): void => {
    if (value === undefined || value.includes("${{") || usesPinned(value)) return;
    const owner = value.split("/")[0]?.toLowerCase() ?? "";
    const githubOwned = owner === "actions" || owner === "github";
    out.push({
      at: pos(file, node),
      ...(githubOwned ? { severity: "low" as const } : {}),
      message: `job ${job}: ${value} is not pinned to a full commit SHA; whoever moves ${value.includes("@") ? "that ref" : "its default branch"} changes what runs`,
    });
  };
  for (const job of jobs(file)) {
    check(str(get(job.node, "uses")), get(job.node, "uses"), job.id);
    for (const step of job.steps) if (step.uses !== undefined) check(step.uses.value, step.uses.node, job.id);
  }
  return out;
}

/** Whether an image reference is pinned by digest; undefined when it is built from variables. */
function imagePinned(ref: string): boolean | undefined {
  if (ref.includes("$")) return undefined;
  return ref.includes("@sha256:");
}

function unpinnedImages(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  const check = (node: YNode, job: string, what: string): void => {
    const ref = str(node) ?? str(get(node, file.kind === "gitlab-ci" ? "name" : "image"));
    const at = str(node) === undefined ? get(node, file.kind === "gitlab-ci" ? "name" : "image") : node;
    if (ref === undefined || ref === "" || imagePinned(ref) !== false) return;
    out.push({ at: pos(file, at), message: `${job}: ${what} ${ref} is not pinned by digest (@sha256:...)` });
  };
  if (file.kind === "gitlab-ci") {
    const root = file.doc.contents;
    for (const scope of [root, get(root, "default")]) {
      check(get(scope, "image"), "default", "image");
      for (const s of items(get(scope, "services"))) check(s, "default", "service");
    }
    for (const job of jobs(file)) {
      if (job.id === "(default)") continue;
      check(get(job.node, "image"), `job ${job.id}`, "image");
      for (const s of items(get(job.node, "services"))) check(s, `job ${job.id}`, "service");
    }
    return out;
  }
  for (const job of jobs(file)) {
    check(get(job.node, "container"), `job ${job.id}`, "container");
    const services = get(job.node, "services");
    for (const item of (services as { items?: { value?: YNode }[] } | undefined)?.items ?? []) {
      check(item.value, `job ${job.id}`, "service");
    }
  }
  return out;
}

export const pinningRules: CiRule[] = [
  {
    id: "ci/unpinned-action",
    severity: "medium",
    title: "Action or reusable workflow not pinned to a commit SHA",
    explanation:
      "`uses: owner/action@v4` or `@main` runs whatever the tag or branch points to at the time of the run. " +
      "Tags are mutable: a compromised maintainer account or a hijacked tag (as in tj-actions/changed-files in " +
      "2025) runs attacker code with the job's token and secrets. Reported as low for GitHub's own actions " +
      "(actions/*, github/*).",
    fix: "Pin to the full 40-character commit SHA with the version in a comment (`uses: owner/action@<sha> # v4.1.0`), and let Dependabot or Renovate update it.",
    peers: [
      "zizmor: unpinned-uses",
      "Scorecard: Pinned-Dependencies (GitHub actions)",
      "poutine: github_action_from_unverified_creator_used (partly)",
    ],
    kinds: ["github-workflow", "github-action"],
    check: unpinnedUses,
  },
  {
    id: "ci/unpinned-image",
    severity: "low",
    title: "Job or service container image not pinned by digest",
    explanation:
      "The job runs in (or next to) a container named by a tag. Whoever can push that tag decides what runs " +
      "with the job's token, secrets and source; and the run cannot be reproduced later.",
    fix: "Pin the image by digest (`image: node:22@sha256:...`); `gitward images pin` resolves a tag to its digest.",
    peers: ["zizmor: unpinned-images", "Scorecard: Pinned-Dependencies (containers)"],
    kinds: ["github-workflow", "gitlab-ci"],
    check: unpinnedImages,
  },
];
