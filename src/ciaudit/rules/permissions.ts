// What the workflow's token and secrets can do: a workflow without a top-level `permissions` runs with the
// repository's default (often write to everything), `write-all` says so explicitly, `id-token: write`
// lets any step mint OIDC tokens for clouds and signers, `secrets: inherit` hands every secret to a called
// workflow, and actions/checkout leaves the token in .git/config for every later step (and artifact).
import { isMap } from "yaml";
import { jobs, usesAction, type Job } from "../model.js";
import { entries, get, pairOf, pos, str } from "../nav.js";
import type { CiFile, CiRule, RawFinding } from "../types.js";

function permissionsMissing(file: CiFile): RawFinding[] {
  const root = file.doc.contents;
  if (get(root, "permissions") !== undefined) return [];
  const bare = jobs(file).filter((j) => get(j.node, "permissions") === undefined);
  if (bare.length === 0) return [];
  const at = pairOf(root, "jobs") ?? pairOf(root, "on");
  return [
    {
      at: at === undefined ? { line: 1, column: 1 } : pos(file, at),
      message: `no top-level permissions, and job(s) ${bare.map((j) => j.id).join(", ")} set none: they run with the repository's default token permissions`,
    },
  ];
}

function writeAll(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  const check = (node: ReturnType<typeof get>, where: string): void => {
    const v = str(node);
    if (v === "write-all")
      out.push({
        at: pos(file, node),
        message: `${where}: permissions: write-all gives the token write access to everything`,
      });
  };
  check(get(file.doc.contents, "permissions"), "workflow");
  for (const job of jobs(file)) check(get(job.node, "permissions"), `job ${job.id}`);
  return out;
}

// Steps that use the OIDC token: signers and attestations, cloud logins, trusted publishing, reusable
// workflows (which need it granted by the caller). Read from the job's text, where any mention counts.
const OIDC_USERS =
  /cosign|sigstore|attest|slsa|configure-aws-credentials|aws-actions\/|google-github-actions\/auth|azure\/login|gh-action-pypi-publish|--provenance|ACTIONS_ID_TOKEN_REQUEST|getIDToken|vault-action|oidc|use_oidc|workload_identity|role-to-assume|npm\s+publish|pnpm\s+publish|yarn\s+npm\s+publish|changesets\/action|semantic-release|goreleaser|octo-sts|setup-chainguard-identity|jfrog\/setup-jfrog-cli|codecov\/codecov-action|scorecard-action|publish_results|trusted.publish|release-plz|uv\s+publish|twine|cargo\s+publish|rust-lang\/crates-io-auth-action|docker\/login-action|terraform|pulumi|firebase|flyctl|deploy/i;

function jobText(file: CiFile, job: Job): string {
  const r = job.node?.range;
  return r === undefined || r === null ? "" : file.text.slice(r[0], r[2]);
}

function idTokenUnused(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  const idToken = (perms: ReturnType<typeof get>): ReturnType<typeof get> => {
    const v = get(perms, "id-token");
    return str(v) === "write" ? v : undefined;
  };
  const all = jobs(file);
  const uses = (job: Job): boolean =>
    get(job.node, "uses") !== undefined || OIDC_USERS.test(jobText(file, job));
  const top = idToken(get(file.doc.contents, "permissions"));
  if (top !== undefined) {
    const users = all.filter((j) => get(j.node, "permissions") === undefined && uses(j));
    const inheriting = all.filter((j) => get(j.node, "permissions") === undefined);
    if (inheriting.length > 0 && users.length === 0) {
      out.push({
        at: pos(file, top),
        message: `workflow grants id-token: write, but no job that inherits it signs, attests or logs in with OIDC`,
      });
    }
  }
  for (const job of all) {
    const v = idToken(get(job.node, "permissions"));
    if (v !== undefined && !uses(job)) {
      out.push({
        at: pos(file, v),
        message: `job ${job.id} grants id-token: write but nothing in it signs, attests or logs in with OIDC`,
      });
    }
  }
  return out;
}

function secretsInherit(file: CiFile): RawFinding[] {
  return jobs(file).flatMap((job) => {
    const v = get(job.node, "secrets");
    return str(v) === "inherit"
      ? [
          {
            at: pos(file, v),
            message: `job ${job.id} passes every secret of the repository to ${str(get(job.node, "uses")) ?? "the called workflow"}`,
          },
        ]
      : [];
  });
}

const UPLOADS = ["actions/upload-artifact", "actions/upload-pages-artifact"];

function persistedCredentials(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    const uploads = job.steps.some((s) => usesAction(s, ...UPLOADS));
    for (const step of job.steps) {
      if (step.uses === undefined || !usesAction(step, "actions/checkout")) continue;
      const persist = str(get(step.with, "persist-credentials"));
      if (persist === "false") continue;
      out.push({
        at: pos(file, step.uses.node),
        ...(uploads ? { severity: "medium" as const } : {}),
        message: `job ${job.id}: actions/checkout keeps the token in .git/config for every later step${uploads ? ", and the job uploads an artifact that can carry it" : ""}`,
      });
    }
  }
  return out;
}

export const permissionRules: CiRule[] = [
  {
    id: "ci/permissions-missing",
    severity: "medium",
    title: "No top-level token permissions",
    explanation:
      "Without a top-level `permissions:` block (and none on the job), the GITHUB_TOKEN gets the repository's " +
      "default permissions, which for many repositories and organisations is write access to contents, " +
      "packages, pull requests and more. Any step, including a compromised action, can use it.",
    fix: "Add `permissions: {}` or `permissions: contents: read` at the top of the workflow and grant each job only the scopes it needs.",
    peers: ["zizmor: excessive-permissions", "Scorecard: Token-Permissions"],
    kinds: ["github-workflow"],
    check: permissionsMissing,
  },
  {
    id: "ci/permissions-write-all",
    severity: "high",
    title: "permissions: write-all",
    explanation:
      "`write-all` gives the token write access to every scope: contents, packages, actions, deployments, id-token and the rest. A single compromised step can push code, publish packages or rewrite releases.",
    fix: "Replace write-all with the scopes the job needs, e.g. `contents: read` and `packages: write`.",
    peers: ["zizmor: excessive-permissions", "Scorecard: Token-Permissions"],
    kinds: ["github-workflow"],
    check: writeAll,
  },
  {
    id: "ci/id-token-unused",
    severity: "medium",
    title: "id-token: write where nothing uses OIDC",
    explanation:
      "`id-token: write` lets every step of the job mint an OIDC token in the repository's name, which cloud " +
      "roles, registries and keyless signers accept. Granted where nothing signs or logs in with it, it only " +
      "widens what a compromised step can reach.",
    fix: "Grant id-token: write only on the job that signs, attests or authenticates with OIDC, and remove it elsewhere.",
    peers: ["zizmor: excessive-permissions"],
    kinds: ["github-workflow"],
    check: idTokenUnused,
  },
  {
    id: "ci/secrets-inherit",
    severity: "medium",
    title: "secrets: inherit",
    explanation:
      "`secrets: inherit` passes every secret the calling workflow can read to the reusable workflow, whatever it needs; a change there (or a compromised action it calls) reaches all of them.",
    fix: "Pass only the secrets the called workflow needs, by name (`secrets: { TOKEN: ${{ secrets.TOKEN }} }`).",
    peers: ["zizmor: secrets-inherit"],
    kinds: ["github-workflow"],
    check: secretsInherit,
  },
  {
    id: "ci/checkout-persist-credentials",
    severity: "low",
    title: "actions/checkout persists the token",
    explanation:
      "actions/checkout writes the token into .git/config unless `persist-credentials: false`. Every later step " +
      'can read it, and an artifact that uploads the workspace carries it out of the run ("artipacked"); ' +
      "reported as medium when the job uploads an artifact.",
    fix: "Set `with: persist-credentials: false` on actions/checkout, and pass a token explicitly to the one step that pushes.",
    peers: ["zizmor: artipacked"],
    kinds: ["github-workflow", "github-action"],
    check: persistedCredentials,
  },
];

// Used by the access classification: what the token of each job may write.
export function permissionScopes(file: CiFile, job: Job): Map<string, string> | "default" | "write-all" {
  const perms = get(job.node, "permissions") ?? get(file.doc.contents, "permissions");
  if (perms === undefined) return "default";
  const s = str(perms);
  if (s === "write-all") return "write-all";
  const out = new Map<string, string>();
  if (isMap(perms)) for (const e of entries(perms)) out.set(e.key, str(e.value) ?? "");
  return out;
}
