// The seeds' two anti-patterns: CI holding credentials for the cluster, and CI deploying to it (kubectl,
// helm, argocd from a pipeline). Jobs that start a throw-away cluster of their own (kind, minikube, k3d)
// are tests, not deploys, and are left alone.
import { jobs, linesOf, usesAction, type Job } from "../model.js";
import { entries, get, pos, posIn, str, type YNode } from "../nav.js";
import { subcommands, variableUses } from "../shell.js";
import type { CiFile, CiRule, RawFinding } from "../types.js";

const CREDENTIAL_ACTIONS = [
  "azure/k8s-set-context",
  "azure/aks-set-context",
  "google-github-actions/get-gke-credentials",
  "tale/kubectl-action",
  "actions-hub/kubectl",
  "steebchen/kubectl",
  "wahyd4/kubectl-helm-action",
  "deliverybot/helm",
  "okteto/context",
  "ianbelcher/eks-kubectl-action",
  "kodermax/kubectl-aws-eks",
  "koslib/helm-eks-action",
  "nikosch86/github-action-eks-kubectl",
  "cancue/eks-action",
];

const DEPLOY_ACTIONS = [
  "azure/k8s-deploy",
  "deliverybot/helm",
  "wahyd4/kubectl-helm-action",
  "actions-hub/kubectl",
  "steebchen/kubectl",
  "tale/kubectl-action",
  "koslib/helm-eks-action",
  "bitovi/github-actions-deploy-eks-helm",
  "wyrihaximus/github-action-helm3",
  "clowdhaus/argo-cd-action",
];

const EPHEMERAL_ACTIONS = [
  "helm/kind-action",
  "engineerd/setup-kind",
  "container-tools/kind-action",
  "medyagh/setup-minikube",
  "manusa/actions-setup-minikube",
  "absaoss/k3d-action",
  "nolar/setup-k3d-k3s",
  "debianmaster/actions-k3s",
  "replicatedhq/replicated-actions/create-cluster",
];

const CREDENTIAL_COMMANDS = [
  /\baws\s+eks\s+update-kubeconfig\b/,
  /\bgcloud\s+container\s+clusters\s+get-credentials\b/,
  /\baz\s+aks\s+get-credentials\b/,
  /\bdoctl\s+kubernetes\s+cluster\s+kubeconfig\b/,
  /\bkubectl\s+config\s+set-(?:credentials|cluster)\b/,
  /\bkubectl\s+config\s+use-context\b/,
];

const EPHEMERAL_COMMANDS =
  /\b(?:kind\s+create\s+cluster|minikube\s+start|k3d\s+cluster\s+create|ct\s+install)\b/;

// Secret names that hold cluster access, read from `${{ secrets.NAME }}`.
const SECRET_REF = /\$\{\{\s*secrets\.([A-Za-z0-9_-]+)\s*\}\}/g;
const CLUSTER_SECRET_NAME = /KUBE|K8S|CLUSTER_(?:TOKEN|CA|CERT)|EKS_|AKS_|GKE_|OPENSHIFT|OCP_TOKEN/i;
const KUBE_INPUT_KEYS = new Set([
  "kubeconfig",
  "kube-config",
  "kube_config",
  "kubeconfig_data",
  "base64-kube-config",
  "kubeconfig-data",
  "k8s-secret",
]);
const GITLAB_CLUSTER_VARIABLES = new Set([
  "KUBECONFIG",
  "KUBE_CONFIG",
  "KUBE_TOKEN",
  "KUBE_CA",
  "K8S_TOKEN",
  "K8S_CONFIG",
  "KUBE_CONTEXT",
  "KUBECONFIG_DATA",
]);

const KUBECTL_VALUE_FLAGS = new Set([
  "-n",
  "--namespace",
  "--context",
  "--kubeconfig",
  "--cluster",
  "--server",
  "--token",
  "-s",
  "--user",
]);
const HELM_VALUE_FLAGS = new Set(["-n", "--namespace", "--kube-context", "--kubeconfig"]);
const KUBECTL_WRITES = new Set([
  "apply",
  "create",
  "replace",
  "patch",
  "delete",
  "set",
  "rollout",
  "scale",
  "annotate",
  "label",
  "edit",
]);
const HELM_WRITES = new Set(["upgrade", "install", "uninstall", "rollback", "delete"]);

/** A job that brings its own throw-away cluster: kubectl/helm there test something, they deploy nothing. */
export function isEphemeralClusterJob(job: Job): boolean {
  return (
    job.steps.some((s) => usesAction(s, ...EPHEMERAL_ACTIONS)) ||
    job.scripts.some((s) => EPHEMERAL_COMMANDS.test(s.text))
  );
}

function scalarsOf(node: YNode, out: YNode[] = []): YNode[] {
  if (node === null || node === undefined) return out;
  if (str(node) !== undefined) {
    out.push(node);
    return out;
  }
  const maybe = node as { items?: unknown[] };
  for (const item of maybe.items ?? []) {
    const pair = item as { key?: YNode; value?: YNode };
    if (pair.key !== undefined || pair.value !== undefined) {
      scalarsOf(pair.value, out);
    } else {
      scalarsOf(item as YNode, out);
    }
  }
  return out;
}

function clusterCredentials(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  const seen = new Set<number>();
  const add = (f: RawFinding): void => {
    if (seen.has(f.at.line)) return;
    seen.add(f.at.line);
    out.push(f);
  };
  for (const job of jobs(file)) {
    for (const step of job.steps) {
      if (step.uses !== undefined && usesAction(step, ...CREDENTIAL_ACTIONS)) {
        add({
          at: pos(file, step.uses.node),
          message: `job ${job.id}: ${step.uses.value} gives the job credentials for a cluster`,
        });
      }
      for (const e of entries(step.with)) {
        const v = str(e.value) ?? "";
        if (KUBE_INPUT_KEYS.has(e.key.toLowerCase()) && v.includes("secrets.")) {
          add({
            at: pos(file, e.value),
            message: `job ${job.id}: input ${e.key} hands a kubeconfig from a CI secret to ${step.uses?.value ?? "a step"}`,
          });
        }
      }
    }
    for (const script of job.scripts) {
      for (const line of linesOf(script)) {
        for (const re of CREDENTIAL_COMMANDS) {
          const m = re.exec(line);
          if (m !== null)
            add({
              at: posIn(file, script.node, m[0]),
              message: `job ${job.id}: \`${m[0]}\` fetches cluster credentials in CI`,
            });
        }
        if (file.kind === "gitlab-ci") {
          const use = variableUses(line, GITLAB_CLUSTER_VARIABLES)[0];
          if (use !== undefined)
            add({
              at: posIn(file, script.node, line),
              message: `job ${job.id}: the script reads $${use.name}, a cluster credential held by CI`,
            });
        }
      }
    }
  }
  // Kubeconfigs and cluster tokens from secrets, wherever they are used (env, with, run).
  for (const node of scalarsOf(file.doc.contents)) {
    const text = str(node) ?? "";
    for (const m of text.matchAll(SECRET_REF)) {
      const name = m[1] ?? "";
      if (CLUSTER_SECRET_NAME.test(name))
        add({
          at: posIn(file, node, m[0]),
          message: `secret ${name} (a kubeconfig or cluster token) is used in CI`,
        });
    }
  }
  // GitLab: a KUBECONFIG variable defined in the file itself.
  if (file.kind === "gitlab-ci") {
    for (const e of entries(get(file.doc.contents, "variables"))) {
      if (GITLAB_CLUSTER_VARIABLES.has(e.key))
        add({ at: pos(file, e.pair), message: `variable ${e.key} gives every job cluster credentials` });
    }
  }
  return out;
}

function deploys(file: CiFile): RawFinding[] {
  const out: RawFinding[] = [];
  for (const job of jobs(file)) {
    if (isEphemeralClusterJob(job)) continue;
    for (const step of job.steps) {
      if (step.uses !== undefined && usesAction(step, ...DEPLOY_ACTIONS)) {
        out.push({
          at: pos(file, step.uses.node),
          message: `job ${job.id}: ${step.uses.value} deploys to a cluster from CI`,
        });
      }
    }
    for (const script of job.scripts) {
      for (const line of linesOf(script)) {
        if (line.includes("--dry-run")) continue;
        const hit =
          subcommands(line, "kubectl", KUBECTL_VALUE_FLAGS).find((s) => KUBECTL_WRITES.has(s[0] ?? "")) !==
          undefined
            ? "kubectl"
            : subcommands(line, "helm", HELM_VALUE_FLAGS).find((s) => HELM_WRITES.has(s[0] ?? "")) !==
                undefined
              ? "helm"
              : subcommands(line, "argocd", new Set()).find(
                    (s) => s[0] === "app" && ["sync", "set", "create", "rollback"].includes(s[1] ?? ""),
                  ) !== undefined
                ? "argocd"
                : undefined;
        if (hit !== undefined) {
          out.push({
            at: posIn(file, script.node, line),
            message: `job ${job.id}: \`${line.length > 80 ? line.slice(0, 77) + "..." : line}\` changes a cluster from CI`,
          });
        }
      }
    }
  }
  return out;
}

export const clusterRules: CiRule[] = [
  {
    id: "ci/cluster-credentials",
    severity: "critical",
    title: "CI holds credentials for a Kubernetes cluster",
    explanation:
      "The job fetches or is handed cluster credentials (a kubeconfig or token secret, azure/k8s-set-context, " +
      "aws eks update-kubeconfig, gcloud container clusters get-credentials, KUBECONFIG from a secret). Whoever " +
      "runs code in that job, through a compromised action, a poisoned dependency or a malicious pull request, " +
      "holds the cluster too; the credentials leave the cluster and sit in every CI run.",
    fix:
      "Remove the cluster credentials from CI. Let CI build and push a signed image and commit the new digest to " +
      "the config repository; gitward's operator pulls it from inside the cluster (code-only access).",
    peers: ["poutine: (none)", "Scorecard: (none)"],
    kinds: ["github-workflow", "github-action", "gitlab-ci"],
    check: clusterCredentials,
  },
  {
    id: "ci/ci-deploy",
    severity: "high",
    title: "CI deploys to a cluster (kubectl/helm/argocd)",
    explanation:
      "The pipeline changes a cluster itself (kubectl apply/set image/rollout, helm upgrade/install, argocd app " +
      "sync). Such deploys bypass review of what runs, leave no record tied to a signed commit, and require the " +
      "CI to hold write access to the cluster. Jobs that start their own throw-away cluster (kind, minikube, k3d) " +
      "are not reported.",
    fix:
      "Deploy by pull: CI writes the new image digest to the config repository (a signed commit or a pull " +
      "request), and the gitward operator applies verified revisions. Drop the deploy step and its credentials.",
    peers: [],
    kinds: ["github-workflow", "github-action", "gitlab-ci"],
    check: deploys,
  },
];
