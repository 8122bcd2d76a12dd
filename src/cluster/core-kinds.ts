// The scope of the built-in Kubernetes kinds, known without asking a cluster: `gitward check` uses it
// offline to say which objects are cluster-scoped and which kinds of the built-in groups do not exist
// (a typo such as `apps/v1 Deploymnet`). Kinds of other groups are only known from CRDs or discovery.

/** The API groups Kubernetes itself serves ("" is the core group); an unlisted kind in them is unknown. */
const BUILT_IN_GROUPS = new Set([
  "",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "apiregistration.k8s.io",
  "apps",
  "authentication.k8s.io",
  "authorization.k8s.io",
  "autoscaling",
  "batch",
  "certificates.k8s.io",
  "coordination.k8s.io",
  "discovery.k8s.io",
  "events.k8s.io",
  "flowcontrol.apiserver.k8s.io",
  "networking.k8s.io",
  "node.k8s.io",
  "policy",
  "rbac.authorization.k8s.io",
  "resource.k8s.io",
  "scheduling.k8s.io",
  "storage.k8s.io",
  "storagemigration.k8s.io",
]);

const CLUSTER: Record<string, readonly string[]> = {
  "": ["Namespace", "Node", "PersistentVolume", "ComponentStatus"],
  "admissionregistration.k8s.io": [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
  ],
  "apiextensions.k8s.io": ["CustomResourceDefinition"],
  "apiregistration.k8s.io": ["APIService"],
  "authentication.k8s.io": ["TokenReview", "SelfSubjectReview"],
  "authorization.k8s.io": ["SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"],
  "certificates.k8s.io": ["CertificateSigningRequest", "ClusterTrustBundle"],
  "flowcontrol.apiserver.k8s.io": ["FlowSchema", "PriorityLevelConfiguration"],
  "networking.k8s.io": ["IngressClass", "IPAddress", "ServiceCIDR"],
  "node.k8s.io": ["RuntimeClass"],
  "rbac.authorization.k8s.io": ["ClusterRole", "ClusterRoleBinding"],
  "resource.k8s.io": ["DeviceClass", "ResourceSlice"],
  "scheduling.k8s.io": ["PriorityClass"],
  "storage.k8s.io": ["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"],
  "storagemigration.k8s.io": ["StorageVersionMigration"],
};

const NAMESPACED: Record<string, readonly string[]> = {
  "": [
    "Binding",
    "ConfigMap",
    "Endpoints",
    "Event",
    "LimitRange",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "ResourceQuota",
    "Secret",
    "Service",
    "ServiceAccount",
  ],
  apps: ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
  "authorization.k8s.io": ["LocalSubjectAccessReview"],
  autoscaling: ["HorizontalPodAutoscaler"],
  batch: ["CronJob", "Job"],
  "coordination.k8s.io": ["Lease", "LeaseCandidate"],
  "discovery.k8s.io": ["EndpointSlice"],
  "events.k8s.io": ["Event"],
  "networking.k8s.io": ["Ingress", "NetworkPolicy"],
  policy: ["PodDisruptionBudget"],
  "rbac.authorization.k8s.io": ["Role", "RoleBinding"],
  "resource.k8s.io": ["ResourceClaim", "ResourceClaimTemplate"],
  "storage.k8s.io": ["CSIStorageCapacity"],
};

function index(table: Record<string, readonly string[]>): Set<string> {
  return new Set(Object.entries(table).flatMap(([group, kinds]) => kinds.map((k) => `${group}\u0000${k}`)));
}
const CLUSTER_KINDS = index(CLUSTER);
const NAMESPACED_KINDS = index(NAMESPACED);

/** The API group of an apiVersion ("" for the core group's "v1"). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * "cluster" or "namespaced" for a built-in kind, "unknown" for a kind a built-in group does not have, and
 * undefined for kinds of other groups (custom resources), which only CRDs or discovery can tell.
 */
export function builtInScope(
  apiVersion: string,
  kind: string,
): "cluster" | "namespaced" | "unknown" | undefined {
  const group = groupOf(apiVersion);
  const key = `${group}\u0000${kind}`;
  if (CLUSTER_KINDS.has(key)) return "cluster";
  if (NAMESPACED_KINDS.has(key)) return "namespaced";
  return BUILT_IN_GROUPS.has(group) ? "unknown" : undefined;
}
