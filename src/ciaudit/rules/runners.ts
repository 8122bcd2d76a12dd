// Where untrusted code runs and what it leaves behind: self-hosted runners on triggers that anyone can
// fire (a pull request from a fork runs on the machine, and can persist on it), and caches restored in
// release workflows, where an entry written by any earlier run on the default branch flows into a release.
import { jobs, linesOf, triggerConfig, triggers, usesAction, type Job } from "../model.js";
import { get, pos, posIn, str, strings } from "../nav.js";
import type { CiFile, CiRule, RawFinding } from "../types.js";

const PUBLIC_TRIGGERS = [
  "pull_request",
  "pull_request_target",
  "pull_request_review",
  "pull_request_review_comment",
  "issue_comment",
  "issues",
  "discussion",
  "discussion_comment",
  "fork",
  "watch",
];

function selfHostedPublic(file: CiFile): RawFinding[] {
  const on = triggers(file);
  const pub = PUBLIC_TRIGGERS.filter((t) => on.has(t));
  if (pub.length === 0) return [];
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    const runsOn = get(job.node, "runs-on");
    const labels = [...strings(runsOn), ...strings(get(runsOn, "labels"))];
    const hit = labels.find((l) => l.value === "self-hosted");
    if (hit !== undefined) {
      out.push({
        at: pos(file, hit.node),
        message: `job ${job.id} runs on a self-hosted runner and is started by ${pub.join(", ")}, which outsiders can trigger`,
      });
    }
  }
  return out;
}

const CACHE_INPUTS: Record<string, string> = {
  "actions/setup-node": "cache",
  "actions/setup-python": "cache",
  "actions/setup-java": "cache",
  "actions/setup-dotnet": "cache",
  "pnpm/action-setup": "cache",
  "ruby/setup-ruby": "bundler-cache",
  "astral-sh/setup-uv": "enable-cache",
};
const ALWAYS_CACHES = [
  "actions/cache",
  "swatinem/rust-cache",
  "mozilla-actions/sccache-action",
  "gradle/actions/setup-gradle",
  "gradle/gradle-build-action",
];
const PUBLISH_ACTIONS = [
  "softprops/action-gh-release",
  "pypa/gh-action-pypi-publish",
  "goreleaser/goreleaser-action",
  "ncipollo/release-action",
  "changesets/action",
  "docker/build-push-action",
];
const PUBLISH_COMMAND =
  /\b(?:npm|pnpm|yarn)\s+publish\b|\bcargo\s+publish\b|\btwine\s+upload\b|\bgh\s+release\s+(?:create|upload)\b|\bmvn\s+deploy\b|\bgoreleaser\s+release\b|\buv\s+publish\b|\bgem\s+push\b/;

/** Release workflows: started by a release or a tag push. */
function isReleaseWorkflow(file: CiFile): boolean {
  const on = triggers(file);
  if (on.has("release")) return true;
  const push = triggerConfig(file, "push");
  return get(push, "tags") !== undefined;
}

function publishes(job: Job): boolean {
  return (
    job.steps.some(
      (s) =>
        usesAction(s, ...PUBLISH_ACTIONS) &&
        (!usesAction(s, "docker/build-push-action") || str(get(s.with, "push")) === "true"),
    ) || job.scripts.some((s) => linesOf(s).some((l) => PUBLISH_COMMAND.test(l)))
  );
}

function cachePoisoning(file: CiFile): RawFinding[] {
  const release = isReleaseWorkflow(file);
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    if (!release && !publishes(job)) continue;
    for (const step of job.steps) {
      if (step.uses === undefined) continue;
      const name = step.uses.value.split("@")[0]?.toLowerCase() ?? "";
      let caches = false;
      // actions/cache/save only writes; everything else here restores.
      if (name === "actions/cache/save") continue;
      if (usesAction(step, ...ALWAYS_CACHES)) caches = true;
      else if (name === "actions/setup-go") caches = str(get(step.with, "cache")) !== "false";
      else if (CACHE_INPUTS[name] !== undefined) {
        const v = str(get(step.with, CACHE_INPUTS[name]));
        caches = v !== undefined && v !== "" && v !== "false";
      } else if (usesAction(step, "docker/build-push-action", "docker/bake-action")) {
        caches = (str(get(step.with, "cache-from")) ?? "").includes("type=gha");
      }
      if (caches) {
        out.push({
          at: pos(file, step.uses.node),
          message: `job ${job.id}: ${step.uses.value} restores a cache into a ${release ? "release workflow" : "job that publishes"}; a cache entry written by another run can poison the artifact`,
        });
      }
    }
    for (const script of job.scripts) {
      if (/--cache-from[= ]\S*type=gha/.test(script.text)) {
        out.push({
          at: posIn(file, script.node, "--cache-from"),
          message: `job ${job.id}: the build reads the GitHub Actions cache in a release`,
        });
      }
    }
  }
  return out;
}

export const runnerRules: CiRule[] = [
  {
    id: "ci/self-hosted-public",
    severity: "high",
    title: "Self-hosted runner on a trigger outsiders can fire",
    explanation:
      "A self-hosted runner executes the job on a machine you own, which usually keeps state between runs and " +
      "sits inside your network. On pull_request, issue_comment and similar triggers, anyone who can open a " +
      "pull request or comment can run code there, and leave a backdoor for the next (privileged) run.",
    fix: "Run public triggers on GitHub-hosted (ephemeral) runners; keep self-hosted runners for push and workflow_dispatch on trusted branches, ephemeral and isolated, and require approval for fork pull requests.",
    peers: ["zizmor: self-hosted-runner", "poutine: pr_runs_on_self_hosted"],
    kinds: ["github-workflow"],
    check: selfHostedPublic,
  },
  {
    id: "ci/cache-poisoning",
    severity: "high",
    title: "Cache restored in a release workflow",
    explanation:
      "GitHub Actions caches are shared across the workflows of a repository: any workflow on the default " +
      "branch, including one an attacker got code into, can write an entry that a release job later restores. " +
      "Restoring caches (actions/cache, setup-* cache inputs, setup-go's default cache, buildx type=gha) where " +
      "artifacts are built for release lets that entry into the published artifact.",
    fix: "Do not restore caches in release or publishing jobs (set `cache: false` / drop actions/cache there); build releases from a clean state.",
    peers: ["zizmor: cache-poisoning", "poutine: (none)"],
    kinds: ["github-workflow"],
    check: cachePoisoning,
  },
];
