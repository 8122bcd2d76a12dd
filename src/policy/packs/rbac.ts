// rbac-least-privilege: roles and bindings that hand out more than an application needs — wildcards,
// cluster-admin, the escalate/bind/impersonate verbs, cluster-wide read of secrets, cluster-scoped RBAC in
// an application that targets one namespace, and bindings to the default service account.
import type { Manifest } from "../../render/types.js";
import type { Pack, Revision, Rule } from "../types.js";
import { asArray, field, isRecord } from "../types.js";

const RBAC_GROUP = "rbac.authorization.k8s.io/";

function isRbac(m: Manifest, ...kinds: string[]): boolean {
  return m.apiVersion.startsWith(RBAC_GROUP) && kinds.includes(m.kind);
}

interface PolicyRule {
  readonly verbs: string[];
  readonly resources: string[];
  readonly apiGroups: string[];
  readonly resourceNames: string[];
  readonly index: number;
}

function rulesOf(m: Manifest): PolicyRule[] {
  return asArray(m.object["rules"]).flatMap((r, index) =>
    isRecord(r)
      ? [
          {
            verbs: asArray(r["verbs"]).map(String),
            resources: asArray(r["resources"]).map(String),
            apiGroups: asArray(r["apiGroups"]).map(String),
            resourceNames: asArray(r["resourceNames"]).map(String),
            index,
          },
        ]
      : [],
  );
}

function* roles(rev: Revision): Iterable<Manifest> {
  for (const m of rev.manifests) if (isRbac(m, "Role", "ClusterRole")) yield m;
}

function* bindings(rev: Revision): Iterable<Manifest> {
  for (const m of rev.manifests) if (isRbac(m, "RoleBinding", "ClusterRoleBinding")) yield m;
}

export const wildcards: Rule = {
  id: "rbac/wildcard",
  severity: "high",
  title: "Roles may not use * in verbs, resources or apiGroups",
  remediation: "List the verbs, resources and API groups the application needs instead of *.",
  check: function* (rev) {
    for (const m of roles(rev)) {
      for (const r of rulesOf(m)) {
        const where = [
          r.verbs.includes("*") ? "verbs" : undefined,
          r.resources.some((x) => x === "*" || x.startsWith("*/")) ? "resources" : undefined,
          r.apiGroups.includes("*") ? "apiGroups" : undefined,
        ].filter((x) => x !== undefined);
        if (where.length > 0)
          yield { manifest: m, message: `rules[${r.index}] uses * in ${where.join(", ")}` };
      }
    }
  },
};

export const clusterAdmin: Rule = {
  id: "rbac/cluster-admin-binding",
  severity: "critical",
  title: "Nothing may be bound to cluster-admin",
  remediation: "Bind a Role that grants only what the subject needs.",
  check: function* (rev) {
    for (const m of bindings(rev)) {
      if (field(m.object, "roleRef", "name") === "cluster-admin")
        yield { manifest: m, message: "binds the cluster-admin ClusterRole" };
    }
  },
};

const ESCALATION_VERBS = ["escalate", "bind", "impersonate"];

/**
 * What `*` in verbs hands out as escalate/bind/impersonate: escalate and bind act on roles (and, in a
 * ClusterRole, clusterroles), impersonate on service accounts (namespaced, so a Role can grant it) and,
 * in a ClusterRole only, on users, groups, uids and user extras, which have no namespace.
 */
const ESCALATION_TARGETS: readonly { group: string; resources: readonly string[]; clusterOnly: boolean }[] = [
  { group: "rbac.authorization.k8s.io", resources: ["roles"], clusterOnly: false },
  { group: "rbac.authorization.k8s.io", resources: ["clusterroles"], clusterOnly: true },
  { group: "", resources: ["serviceaccounts"], clusterOnly: false },
  { group: "", resources: ["users", "groups"], clusterOnly: true },
  { group: "authentication.k8s.io", resources: ["uids", "userextras/*"], clusterOnly: true },
];

function coversGroup(r: PolicyRule, group: string): boolean {
  // An empty apiGroups list is invalid for a resource rule; read it as "any" so that it fails closed.
  return r.apiGroups.length === 0 || r.apiGroups.includes("*") || r.apiGroups.includes(group);
}

// RBAC resource matching: exact, "*" (everything, subresources too) and "*" + "/<subresource>".
function coversResource(r: PolicyRule, resource: string): boolean {
  const slash = resource.indexOf("/");
  const sub = slash < 0 ? undefined : resource.slice(slash + 1);
  return r.resources.some(
    (x) =>
      x === "*" ||
      x === resource ||
      (sub !== undefined && x === `*/${sub}`) ||
      // userextras/* names every user extra: any userextras/<key> in the rule is one of them.
      (resource.endsWith("/*") && x.startsWith(resource.slice(0, -1))),
  );
}

export const escalationVerbs: Rule = {
  id: "rbac/escalation-verbs",
  severity: "critical",
  title: 'Roles may not grant escalate, bind or impersonate (named, or through verbs: ["*"])',
  remediation:
    "Remove the escalate, bind and impersonate verbs, and * in verbs on roles, service accounts, users or groups; they let a subject gain any permission.",
  check: function* (rev) {
    for (const m of roles(rev)) {
      const cluster = m.kind === "ClusterRole";
      for (const r of rulesOf(m)) {
        const named = r.verbs.filter((v) => ESCALATION_VERBS.includes(v));
        if (named.length > 0) {
          yield {
            manifest: m,
            path: `/rules/${r.index}/verbs`,
            message: `rules[${r.index}] grants ${named.join(", ")}`,
          };
          continue;
        }
        if (!r.verbs.includes("*")) continue;
        const hit = ESCALATION_TARGETS.filter((t) => cluster || !t.clusterOnly).flatMap((t) =>
          coversGroup(r, t.group) ? t.resources.filter((x) => coversResource(r, x)) : [],
        );
        if (hit.length > 0)
          yield {
            manifest: m,
            path: `/rules/${r.index}/verbs`,
            message: `rules[${r.index}] grants * (so escalate, bind and impersonate) on ${hit.join(", ")}`,
          };
      }
    }
  },
};

const READ_VERBS = ["get", "list", "watch", "*"];

function readsSecrets(m: Manifest): PolicyRule | undefined {
  return rulesOf(m).find(
    (r) =>
      (r.apiGroups.includes("") || r.apiGroups.includes("*")) &&
      (r.resources.includes("secrets") || r.resources.includes("*")) &&
      r.verbs.some((v) => READ_VERBS.includes(v)) &&
      r.resourceNames.length === 0,
  );
}

export const clusterSecretsRead: Rule = {
  id: "rbac/cluster-secrets-read",
  severity: "high",
  title: "No cluster-wide read of secrets",
  remediation: "Grant get on named secrets with a Role in the application's namespace instead.",
  check: function* (rev) {
    // A ClusterRole that reads secrets is cluster-wide once a ClusterRoleBinding grants it; one granted only
    // through RoleBindings stays in a namespace. Unbound ClusterRoles are flagged too: another revision
    // (or an aggregation label) may bind them.
    const boundNamespaced = new Set<string>();
    const boundCluster = new Set<string>();
    for (const b of bindings(rev)) {
      if (field(b.object, "roleRef", "kind") !== "ClusterRole") continue;
      const name = String(field(b.object, "roleRef", "name"));
      (b.kind === "ClusterRoleBinding" ? boundCluster : boundNamespaced).add(name);
    }
    for (const m of roles(rev)) {
      if (m.kind !== "ClusterRole") continue;
      const r = readsSecrets(m);
      if (r === undefined) continue;
      if (boundNamespaced.has(m.name) && !boundCluster.has(m.name)) continue;
      yield { manifest: m, message: `rules[${r.index}] lets its subjects read secrets in every namespace` };
    }
  },
};

export const clusterScopedRbac: Rule = {
  id: "rbac/cluster-scoped-in-namespaced-app",
  severity: "high",
  title: "An application that targets one namespace may not ship ClusterRoles or ClusterRoleBindings",
  remediation: "Use a Role and a RoleBinding in the application's namespace.",
  check: function* (rev) {
    if (rev.destinationNamespace === undefined) return;
    for (const m of rev.manifests) {
      if (isRbac(m, "ClusterRole", "ClusterRoleBinding")) {
        yield {
          manifest: m,
          message: `${m.kind} in an application that targets namespace ${rev.destinationNamespace}`,
        };
      }
    }
  },
};

export const defaultServiceAccount: Rule = {
  id: "rbac/default-service-account-binding",
  severity: "medium",
  title: "Roles may not be bound to the default service account",
  remediation: "Create a service account for the workload and bind the role to it.",
  check: function* (rev) {
    for (const m of bindings(rev)) {
      for (const s of asArray(m.object["subjects"])) {
        if (field(s, "kind") === "ServiceAccount" && field(s, "name") === "default") {
          const ns = field(s, "namespace") ?? m.namespace ?? rev.destinationNamespace;
          yield {
            manifest: m,
            message: `binds the default service account${typeof ns === "string" ? ` of ${ns}` : ""}`,
          };
        }
      }
    }
  },
};

const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection", "*"];

/** Resources that have no namespace: a namespaced Role cannot grant them, whatever its rules say. */
/** admissionregistration.k8s.io's resources: each gates every other write, and none has a namespace. */
const ADMISSION_RESOURCES = [
  "validatingwebhookconfigurations",
  "mutatingwebhookconfigurations",
  "validatingadmissionpolicies",
  "validatingadmissionpolicybindings",
  "mutatingadmissionpolicies",
  "mutatingadmissionpolicybindings",
] as const;

const CLUSTER_SCOPED = new Set([
  "nodes",
  "nodes/proxy",
  "clusterroles",
  "clusterrolebindings",
  ...ADMISSION_RESOURCES,
]);

interface Grant {
  /** API groups the resources live in. */
  readonly groups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** The first rule of a role that grants one of `verbs` on one of `resources` (with wildcards). */
function grants(m: Manifest, g: Grant): PolicyRule | undefined {
  // A Role lives in a namespace and grants nothing on cluster-scoped resources: a Role that lists
  // nodes/proxy or webhook configurations (or *) does not reach them.
  const resources = m.kind === "Role" ? g.resources.filter((x) => !CLUSTER_SCOPED.has(x)) : g.resources;
  if (resources.length === 0) return undefined;
  return rulesOf(m).find(
    (r) =>
      g.groups.some((group) => coversGroup(r, group)) &&
      resources.some((x) => coversResource(r, x)) &&
      r.verbs.some((v) => v === "*" || g.verbs.includes(v)),
  );
}

/**
 * Roles that hand out a known path to more privilege: each grant named here lets its holder become
 * someone else (RBAC writes, pod exec, node proxy, pod creation with any service account) or switch off
 * a control (network policies, admission webhooks).
 */
function grantRule(
  id: string,
  severity: Rule["severity"],
  title: string,
  remediation: string,
  grant: Grant,
  what: string,
): Rule {
  return {
    id,
    severity,
    title,
    remediation,
    check: function* (rev) {
      for (const m of roles(rev)) {
        const r = grants(m, grant);
        if (r !== undefined)
          yield { manifest: m, path: `/rules/${r.index}`, message: `rules[${r.index}] ${what}` };
      }
    },
  };
}

export const manageRbac = grantRule(
  "rbac/manage-rbac",
  "critical",
  "Roles may not create or change roles and bindings",
  "Leave RBAC to the cluster administrators; an application should not write Roles or bindings.",
  {
    groups: ["rbac.authorization.k8s.io"],
    resources: ["roles", "clusterroles", "rolebindings", "clusterrolebindings"],
    verbs: WRITE_VERBS,
  },
  "lets its subjects write roles or role bindings, and so grant themselves anything",
);

export const podExec = grantRule(
  "rbac/pod-exec",
  "high",
  "Roles may not allow exec or attach into pods",
  "Remove create on pods/exec and pods/attach; debug with ephemeral containers under a break-glass role.",
  { groups: [""], resources: ["pods/exec", "pods/attach"], verbs: ["create", "get"] },
  "lets its subjects run commands in other pods, with those pods' credentials",
);

export const nodeProxy = grantRule(
  "rbac/node-proxy",
  "high",
  "Roles may not use the node proxy",
  "Remove access to nodes/proxy; it reaches the kubelet API and bypasses admission and audit.",
  { groups: [""], resources: ["nodes/proxy"], verbs: ["get", "create", "update", "patch"] },
  "grants nodes/proxy, which reaches the kubelet API directly",
);

export const manageWorkloads = grantRule(
  "rbac/manage-workloads",
  "high",
  "Application roles may not create or change pods and workloads",
  "Let gitward deploy workloads; a pod that can create pods can run as any service account of the namespace.",
  {
    groups: ["", "apps", "batch", "extensions"],
    resources: [
      "pods",
      "deployments",
      "statefulsets",
      "daemonsets",
      "replicasets",
      "jobs",
      "cronjobs",
      "replicationcontrollers",
    ],
    verbs: WRITE_VERBS,
  },
  "lets its subjects create or change workloads, and so run as any service account of the namespace",
);

export const manageNetworking = grantRule(
  "rbac/manage-networking",
  "high",
  "Application roles may not change network policies, services or endpoints",
  "Keep network configuration in git, applied by gitward; remove write verbs on networking resources.",
  {
    groups: ["", "networking.k8s.io", "discovery.k8s.io", "extensions"],
    resources: ["networkpolicies", "services", "endpoints", "endpointslices", "ingresses"],
    verbs: WRITE_VERBS,
  },
  "lets its subjects rewrite network policies or redirect service traffic",
);

export const manageWebhooks = grantRule(
  "rbac/manage-webhooks",
  "critical",
  "Roles may not change admission webhooks or admission policies",
  "Remove write access to webhook configurations and admission policies; they gate every other write.",
  {
    groups: ["admissionregistration.k8s.io"],
    resources: [...ADMISSION_RESOURCES],
    verbs: WRITE_VERBS,
  },
  "lets its subjects change admission control, which judges every other request",
);

export const rbacLeastPrivilege: Pack = {
  id: "rbac-least-privilege",
  description: "RBAC that grants no more than an application needs.",
  rules: [
    wildcards,
    clusterAdmin,
    escalationVerbs,
    clusterSecretsRead,
    clusterScopedRbac,
    defaultServiceAccount,
    manageRbac,
    podExec,
    nodeProxy,
    manageWorkloads,
    manageNetworking,
    manageWebhooks,
  ],
};
