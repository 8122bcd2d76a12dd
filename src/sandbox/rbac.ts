// RBAC authorization as Kubernetes does it: a request is allowed when a rule of a Role or ClusterRole,
// bound to the user, one of its groups or its service account, covers the verb, group, resource,
// subresource and name (or the non-resource URL). Members of system:masters are always allowed.
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";
import type { Store } from "./store.js";

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface Attributes {
  verb: string;
  /** Resource requests name a group and resource; non-resource requests a path. */
  resourceRequest: boolean;
  path?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

export const RBAC = "rbac.authorization.k8s.io";

export function strings(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function ruleAllows(rule: Json, a: Attributes): boolean {
  if (!isObject(rule)) return false;
  const verbs = strings(rule["verbs"]);
  if (!verbs.includes("*") && !verbs.includes(a.verb)) return false;
  if (!a.resourceRequest) {
    const urls = strings(rule["nonResourceURLs"]);
    const p = a.path ?? "";
    return urls.some((u) => u === "*" || u === p || (u.endsWith("*") && p.startsWith(u.slice(0, -1))));
  }
  const groups = strings(rule["apiGroups"]);
  if (!groups.includes("*") && !groups.includes(a.apiGroup ?? "")) return false;
  const resources = strings(rule["resources"]);
  const full = a.subresource === undefined ? (a.resource ?? "") : `${a.resource ?? ""}/${a.subresource}`;
  const resourceOk = resources.some(
    (r) =>
      r === "*" ||
      r === full ||
      (a.subresource === undefined ? false : r === `*/${a.subresource}` || r === `${a.resource ?? ""}/*`),
  );
  if (!resourceOk) return false;
  const names = strings(rule["resourceNames"]);
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

function subjectMatches(subject: Json, user: UserInfo, bindingNamespace: string | undefined): boolean {
  if (!isObject(subject)) return false;
  const name = subject["name"];
  switch (subject["kind"]) {
    case "User":
      return name === user.name;
    case "Group":
      return typeof name === "string" && user.groups.includes(name);
    case "ServiceAccount": {
      const ns = typeof subject["namespace"] === "string" ? subject["namespace"] : bindingNamespace;
      return typeof name === "string" && user.name === `system:serviceaccount:${ns ?? ""}:${name}`;
    }
    default:
      return false;
  }
}

/** The rules of a (Cluster)Role ([] when it has none). */
export function rulesOf(role: JsonObject | undefined): Json[] {
  const rules = role?.["rules"];
  return Array.isArray(rules) ? rules : [];
}

export function authorize(store: Store, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes("system:masters")) return { allowed: true, reason: "member of system:masters" };
  for (const s of store.list(`${RBAC}/clusterrolebindings`, undefined)) {
    const b = s.obj;
    if (!bindingHas(b, user, undefined)) continue;
    const ref = b["roleRef"];
    if (!isObject(ref) || ref["kind"] !== "ClusterRole" || typeof ref["name"] !== "string") continue;
    const role = store.get(`${RBAC}/clusterroles`, "", ref["name"])?.obj;
    if (rulesOf(role).some((r) => ruleAllows(r, a))) {
      return {
        allowed: true,
        reason: `RBAC: allowed by ClusterRoleBinding "${nameOf(b)}" of ClusterRole "${ref["name"]}"`,
      };
    }
  }
  if (a.namespace !== undefined && a.namespace !== "") {
    for (const s of store.list(`${RBAC}/rolebindings`, a.namespace)) {
      const b = s.obj;
      if (!bindingHas(b, user, a.namespace)) continue;
      const ref = b["roleRef"];
      if (!isObject(ref) || typeof ref["name"] !== "string") continue;
      const role =
        ref["kind"] === "ClusterRole"
          ? store.get(`${RBAC}/clusterroles`, "", ref["name"])?.obj
          : ref["kind"] === "Role"
            ? store.get(`${RBAC}/roles`, a.namespace, ref["name"])?.obj
            : undefined;
      if (rulesOf(role).some((r) => ruleAllows(r, a))) {
        return {
          allowed: true,
          reason: `RBAC: allowed by RoleBinding "${nameOf(b)}/${a.namespace}" of ${text(ref["kind"])} "${ref["name"]}"`,
        };
      }
    }
  }
  return { allowed: false, reason: "" };
}

function bindingHas(binding: JsonObject, user: UserInfo, namespace: string | undefined): boolean {
  const subjects = binding["subjects"];
  return Array.isArray(subjects) && subjects.some((s) => subjectMatches(s, user, namespace));
}

function nameOf(obj: JsonObject): string {
  const m = obj["metadata"];
  return isObject(m) && typeof m["name"] === "string" ? m["name"] : "";
}

/** The rules that apply to a user in a namespace (SelfSubjectRulesReview). */
export function rulesFor(store: Store, user: UserInfo, namespace: string): Json[] {
  if (user.groups.includes("system:masters")) {
    return [
      { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
      { verbs: ["*"], nonResourceURLs: ["*"] },
    ];
  }
  const out: Json[] = [];
  for (const s of store.list(`${RBAC}/clusterrolebindings`, undefined)) {
    const ref = s.obj["roleRef"];
    if (!bindingHas(s.obj, user, undefined) || !isObject(ref) || typeof ref["name"] !== "string") continue;
    out.push(...rulesOf(store.get(`${RBAC}/clusterroles`, "", ref["name"])?.obj));
  }
  for (const s of store.list(`${RBAC}/rolebindings`, namespace)) {
    const ref = s.obj["roleRef"];
    if (!bindingHas(s.obj, user, namespace) || !isObject(ref) || typeof ref["name"] !== "string") continue;
    const role =
      ref["kind"] === "ClusterRole"
        ? store.get(`${RBAC}/clusterroles`, "", ref["name"])?.obj
        : store.get(`${RBAC}/roles`, namespace, ref["name"])?.obj;
    out.push(...rulesOf(role));
  }
  return out;
}

const readVerbs = ["get", "list", "watch"];
const writeVerbs = ["create", "delete", "deletecollection", "patch", "update"];
const workloadResources = [
  "pods",
  "services",
  "configmaps",
  "secrets",
  "serviceaccounts",
  "persistentvolumeclaims",
  "events",
  "endpoints",
  "deployments",
  "statefulsets",
  "daemonsets",
  "replicasets",
  "jobs",
  "cronjobs",
  "ingresses",
  "networkpolicies",
  "poddisruptionbudgets",
  "horizontalpodautoscalers",
  "leases",
  "deployments/scale",
  "statefulsets/scale",
];
const workloadGroups = [
  "",
  "apps",
  "batch",
  "networking.k8s.io",
  "policy",
  "autoscaling",
  "coordination.k8s.io",
];

/** The default roles and bindings of a fresh cluster (those that matter to clients of the sandbox). */
export function defaultRbacObjects(): { resource: string; obj: JsonObject }[] {
  const role = (name: string, rules: Json[]): { resource: string; obj: JsonObject } => ({
    resource: "clusterroles",
    obj: {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: { name, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
      rules,
    },
  });
  const bind = (name: string, roleName: string, group: string): { resource: string; obj: JsonObject } => ({
    resource: "clusterrolebindings",
    obj: {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: roleName },
      subjects: [{ apiGroup: RBAC, kind: "Group", name: group }],
    },
  });
  return [
    role("cluster-admin", [
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ]),
    role("admin", [
      { apiGroups: workloadGroups, resources: workloadResources, verbs: [...readVerbs, ...writeVerbs] },
      { apiGroups: [RBAC], resources: ["roles", "rolebindings"], verbs: [...readVerbs, ...writeVerbs] },
      { apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews"], verbs: ["create"] },
    ]),
    role("edit", [
      { apiGroups: workloadGroups, resources: workloadResources, verbs: [...readVerbs, ...writeVerbs] },
    ]),
    role("view", [
      {
        apiGroups: workloadGroups,
        resources: workloadResources.filter((r) => r !== "secrets"),
        verbs: readVerbs,
      },
    ]),
    role("system:discovery", [
      {
        nonResourceURLs: [
          "/api",
          "/api/*",
          "/apis",
          "/apis/*",
          "/healthz",
          "/livez",
          "/readyz",
          "/openapi",
          "/openapi/*",
          "/version",
          "/version/",
        ],
        verbs: ["get"],
      },
    ]),
    role("system:basic-user", [
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        verbs: ["create"],
      },
      { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
    ]),
    bind("cluster-admin", "cluster-admin", "system:masters"),
    bind("system:discovery", "system:discovery", "system:authenticated"),
    bind("system:basic-user", "system:basic-user", "system:authenticated"),
  ];
}
