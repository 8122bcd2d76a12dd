// The operator's identity and least-privilege RBAC (ADR 0006, 0008): read its own CRDs, write their status,
// keep its Leases, Events and state, read the sealing keys, and impersonate only the service accounts that
// each application's namespace grants it. Nothing here names a wildcard verb or resource.
import type { KubeObject } from "../cluster/client.js";
import { API_GROUP } from "../config/schema.js";
import { KEY_NAMESPACE, OPERATOR_ACCOUNT, SYSTEM_NAMESPACE, type Placed } from "./layout.js";

const RBAC = "rbac.authorization.k8s.io/v1";

/**
 * The Role (and RoleBinding) that each namespace holding Applications gives gitward:
 * found by running an Application outside gitward-system with the RBAC of gitward-system alone, which the
 * API server refuses at the first read of the inventory ConfigMap (`cannot get resource "configmaps" ...
 * in the namespace "shop"`). The operator keeps each Application's inventory in a ConfigMap beside the
 * Application (get, then server-side apply: create and patch), and reads the Secrets the Application names
 * (source.secretRef, webhook and alert-sink secrets) from the same namespace (get). No list or watch: the
 * operator reads them by name, and `list` on Secrets would hand it every Secret of the namespace.
 */
export const APPLICATION_NAMESPACE_ROLE = "gitward-application-state";

const subjects = [{ kind: "ServiceAccount", name: OPERATOR_ACCOUNT, namespace: SYSTEM_NAMESPACE }];

function rule(apiGroups: string[], resources: string[], verbs: string[]): Record<string, string[]> {
  return { apiGroups, resources, verbs };
}

function binding(
  kind: "RoleBinding" | "ClusterRoleBinding",
  name: string,
  roleKind: "Role" | "ClusterRole",
  roleName: string,
  namespace?: string,
): KubeObject {
  return {
    apiVersion: RBAC,
    kind,
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: roleName },
    subjects,
  };
}

/**
 * The Role and RoleBinding that let gitward keep the state of Applications living in `namespace`. A Role
 * in each namespace, not one ClusterRole bound per namespace: a ClusterRole that reads Secrets is one
 * ClusterRoleBinding away from every Secret of the cluster (policy rule rbac/cluster-secrets-read).
 */
export function applicationNamespaceGrant(namespace: string): KubeObject[] {
  return [
    {
      apiVersion: RBAC,
      kind: "Role",
      metadata: { name: APPLICATION_NAMESPACE_ROLE, namespace },
      rules: [rule([""], ["configmaps"], ["get", "create", "patch"]), rule([""], ["secrets"], ["get"])],
    },
    binding("RoleBinding", APPLICATION_NAMESPACE_ROLE, "Role", APPLICATION_NAMESPACE_ROLE, namespace),
  ];
}

/** The operator's account, its roles and bindings, in the order they are applied. */
export function operatorRbac(applicationNamespaces: readonly string[]): Placed[] {
  const file = "operator.yaml";
  return [
    {
      file,
      object: {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: OPERATOR_ACCOUNT, namespace: SYSTEM_NAMESPACE },
      },
    },
    {
      file,
      comment:
        "Cluster-wide, only what is gitward's own: its CRDs (read and watched) and their status, and Events.\n" +
        "No read of application objects: those are read and written as each application's account.",
      object: {
        apiVersion: RBAC,
        kind: "ClusterRole",
        metadata: { name: "gitward-operator" },
        rules: [
          rule([API_GROUP], ["applications", "trustpolicies", "alertsinks"], ["get", "list", "watch"]),
          rule(
            [API_GROUP],
            ["applications/status", "trustpolicies/status", "alertsinks/status"],
            ["get", "patch", "update"],
          ),
          rule([""], ["events"], ["create", "patch"]),
          // The dashboard (gitward run --dashboard-addr) checks each viewer's bearer token and their
          // right to get Applications; it reads nothing more than the operator already may.
          rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
          rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
        ],
      },
    },
    { file, object: binding("ClusterRoleBinding", "gitward-operator", "ClusterRole", "gitward-operator") },
    {
      file,
      comment:
        "In gitward-system: the state of Applications kept here, the leader Lease, and the Secrets that\n" +
        "Applications here name (git credentials, webhook secrets).",
      object: {
        apiVersion: RBAC,
        kind: "Role",
        metadata: { name: "gitward-operator", namespace: SYSTEM_NAMESPACE },
        rules: [
          rule([""], ["configmaps"], ["get", "list", "watch", "create", "patch", "update"]),
          rule([""], ["secrets"], ["get", "list", "watch"]),
          // list and delete: the heartbeat Leases of sharded replicas (gitward run --shards, docs/operations.md).
          rule(["coordination.k8s.io"], ["leases"], ["get", "list", "create", "update", "delete"]),
        ],
      },
    },
    {
      file,
      object: binding("RoleBinding", "gitward-operator", "Role", "gitward-operator", SYSTEM_NAMESPACE),
    },
    {
      file,
      comment: "Reads the sealing keys, never writes them (the key rotation does: key-rotation.yaml).",
      object: {
        apiVersion: RBAC,
        kind: "Role",
        metadata: { name: "gitward-operator-keys", namespace: KEY_NAMESPACE },
        rules: [rule([""], ["secrets"], ["get", "list", "watch"])],
      },
    },
    {
      file,
      object: binding("RoleBinding", "gitward-operator-keys", "Role", "gitward-operator-keys", KEY_NAMESPACE),
    },
    ...applicationNamespaces.flatMap((ns) =>
      applicationNamespaceGrant(ns).map((object, i) => ({
        file: "application-namespaces.yaml",
        object,
        ...(i === 0
          ? {
              comment:
                "In each namespace that holds Applications (outside gitward-system): the inventory ConfigMap\n" +
                "beside each Application (read, then server-side apply), and the Secrets the Application names,\n" +
                "read by name (no list: that would read every Secret of the namespace).",
            }
          : {}),
      })),
    ),
  ];
}

/** The key rotation's own account and Role in gitward-keys (see key-rotation.yaml's comments). */
export function keyRotationRbac(): Placed[] {
  const file = "key-rotation.yaml";
  const name = "gitward-key-rotation";
  return [
    {
      file,
      comment:
        "Scheduled rotation of the sealing keys (ADR 0008): a daily CronJob runs `gitward secrets keygen\n" +
        "--rotation-days=30`, which adds a key only when the newest is 30 days old, so the rotation period is\n" +
        "the flag, not the schedule. It runs as its own account, because the operator may only read the keys.\n" +
        "Everything here lives in gitward-keys, the keys' own namespace: this account may create Secrets, and\n" +
        "in a namespace holding a service account with rights (gitward-system holds the operator's) creating a\n" +
        "service-account-token Secret would mint a token for that account.",
      object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: KEY_NAMESPACE } },
    },
    {
      file,
      comment:
        "Exactly what keygen does: it lists the sealing keys to find the newest one's age, and creates a new key\n" +
        "Secret when that is due. It never updates or deletes, so this account cannot remove or overwrite an old\n" +
        "key (what they sealed must keep unsealing). RBAC cannot narrow `list` to a label, so this account can\n" +
        "read every Secret in gitward-keys, which holds only the keys. RBAC cannot narrow `create` to sealing keys\n" +
        'either: it may add any Secret here, including a "newest" key of its own (see ADR 0008), so keep who can\n' +
        "run pods as it (create pods or jobs in gitward-keys) as narrow as who can write the keys.",
      object: {
        apiVersion: RBAC,
        kind: "Role",
        metadata: { name, namespace: KEY_NAMESPACE },
        rules: [rule([""], ["secrets"], ["list", "create"])],
      },
    },
    {
      file,
      object: {
        ...binding("RoleBinding", name, "Role", name, KEY_NAMESPACE),
        subjects: [{ kind: "ServiceAccount", name, namespace: KEY_NAMESPACE }],
      },
    },
  ];
}
