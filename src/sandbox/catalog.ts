// The resources the sandbox serves: the built-in kinds of the groups gitward and kubectl use, plus those
// that CustomResourceDefinitions add at run time. Discovery documents are built from this catalogue.
import { customRootSchema, rootSchema, type TypeSchema } from "./schema.js";
import type { PrinterColumn } from "./printers.js";

export interface ResourceDef {
  readonly group: string;
  readonly version: string;
  /** Plural name, as in URLs. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Subresources served: "status", "scale", "token". */
  readonly subresources: readonly string[];
  /** Only `create` (reviews, token requests): nothing is stored. */
  readonly createOnly: boolean;
  readonly schema: TypeSchema;
  /** The CRD that defined it (custom resources only). */
  readonly crd?: string;
  /** The CRD version's additionalPrinterColumns (custom resources only). */
  readonly printerColumns?: readonly PrinterColumn[];
}

export const allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

interface Spec {
  g: string;
  v: string;
  r: string;
  k: string;
  ns: boolean;
  short?: string[];
  sub?: string[];
  createOnly?: boolean;
  cat?: string[];
}

const all = ["all"];
const specs: Spec[] = [
  { g: "", v: "v1", r: "namespaces", k: "Namespace", ns: false, short: ["ns"], sub: ["status", "finalize"] },
  { g: "", v: "v1", r: "configmaps", k: "ConfigMap", ns: true, short: ["cm"] },
  { g: "", v: "v1", r: "secrets", k: "Secret", ns: true },
  { g: "", v: "v1", r: "serviceaccounts", k: "ServiceAccount", ns: true, short: ["sa"], sub: ["token"] },
  { g: "", v: "v1", r: "services", k: "Service", ns: true, short: ["svc"], sub: ["status"], cat: all },
  {
    g: "",
    v: "v1",
    r: "pods",
    k: "Pod",
    ns: true,
    short: ["po"],
    sub: ["status", "ephemeralcontainers"],
    cat: all,
  },
  { g: "", v: "v1", r: "podtemplates", k: "PodTemplate", ns: true },
  { g: "", v: "v1", r: "events", k: "Event", ns: true, short: ["ev"] },
  { g: "", v: "v1", r: "endpoints", k: "Endpoints", ns: true, short: ["ep"] },
  { g: "", v: "v1", r: "limitranges", k: "LimitRange", ns: true, short: ["limits"] },
  { g: "", v: "v1", r: "resourcequotas", k: "ResourceQuota", ns: true, short: ["quota"], sub: ["status"] },
  { g: "", v: "v1", r: "nodes", k: "Node", ns: false, short: ["no"], sub: ["status"] },
  {
    g: "",
    v: "v1",
    r: "persistentvolumeclaims",
    k: "PersistentVolumeClaim",
    ns: true,
    short: ["pvc"],
    sub: ["status"],
  },
  {
    g: "",
    v: "v1",
    r: "persistentvolumes",
    k: "PersistentVolume",
    ns: false,
    short: ["pv"],
    sub: ["status"],
  },
  {
    g: "",
    v: "v1",
    r: "replicationcontrollers",
    k: "ReplicationController",
    ns: true,
    short: ["rc"],
    sub: ["status", "scale"],
    cat: all,
  },
  {
    g: "apps",
    v: "v1",
    r: "deployments",
    k: "Deployment",
    ns: true,
    short: ["deploy"],
    sub: ["status", "scale"],
    cat: all,
  },
  {
    g: "apps",
    v: "v1",
    r: "statefulsets",
    k: "StatefulSet",
    ns: true,
    short: ["sts"],
    sub: ["status", "scale"],
    cat: all,
  },
  { g: "apps", v: "v1", r: "daemonsets", k: "DaemonSet", ns: true, short: ["ds"], sub: ["status"], cat: all },
  {
    g: "apps",
    v: "v1",
    r: "replicasets",
    k: "ReplicaSet",
    ns: true,
    short: ["rs"],
    sub: ["status", "scale"],
    cat: all,
  },
  { g: "apps", v: "v1", r: "controllerrevisions", k: "ControllerRevision", ns: true },
  { g: "batch", v: "v1", r: "jobs", k: "Job", ns: true, sub: ["status"], cat: all },
  { g: "batch", v: "v1", r: "cronjobs", k: "CronJob", ns: true, short: ["cj"], sub: ["status"], cat: all },
  { g: "networking.k8s.io", v: "v1", r: "networkpolicies", k: "NetworkPolicy", ns: true, short: ["netpol"] },
  {
    g: "networking.k8s.io",
    v: "v1",
    r: "ingresses",
    k: "Ingress",
    ns: true,
    short: ["ing"],
    sub: ["status"],
  },
  { g: "networking.k8s.io", v: "v1", r: "ingressclasses", k: "IngressClass", ns: false },
  { g: "rbac.authorization.k8s.io", v: "v1", r: "roles", k: "Role", ns: true },
  { g: "rbac.authorization.k8s.io", v: "v1", r: "rolebindings", k: "RoleBinding", ns: true },
  { g: "rbac.authorization.k8s.io", v: "v1", r: "clusterroles", k: "ClusterRole", ns: false },
  { g: "rbac.authorization.k8s.io", v: "v1", r: "clusterrolebindings", k: "ClusterRoleBinding", ns: false },
  { g: "coordination.k8s.io", v: "v1", r: "leases", k: "Lease", ns: true },
  {
    g: "policy",
    v: "v1",
    r: "poddisruptionbudgets",
    k: "PodDisruptionBudget",
    ns: true,
    short: ["pdb"],
    sub: ["status"],
  },
  {
    g: "autoscaling",
    v: "v2",
    r: "horizontalpodautoscalers",
    k: "HorizontalPodAutoscaler",
    ns: true,
    short: ["hpa"],
    sub: ["status"],
    cat: all,
  },
  {
    g: "admissionregistration.k8s.io",
    v: "v1",
    r: "validatingwebhookconfigurations",
    k: "ValidatingWebhookConfiguration",
    ns: false,
  },
  {
    g: "admissionregistration.k8s.io",
    v: "v1",
    r: "mutatingwebhookconfigurations",
    k: "MutatingWebhookConfiguration",
    ns: false,
  },
  {
    g: "admissionregistration.k8s.io",
    v: "v1",
    r: "validatingadmissionpolicies",
    k: "ValidatingAdmissionPolicy",
    ns: false,
    sub: ["status"],
  },
  {
    g: "admissionregistration.k8s.io",
    v: "v1",
    r: "validatingadmissionpolicybindings",
    k: "ValidatingAdmissionPolicyBinding",
    ns: false,
  },
  {
    g: "apiextensions.k8s.io",
    v: "v1",
    r: "customresourcedefinitions",
    k: "CustomResourceDefinition",
    ns: false,
    short: ["crd", "crds"],
    sub: ["status"],
  },
  { g: "storage.k8s.io", v: "v1", r: "storageclasses", k: "StorageClass", ns: false, short: ["sc"] },
  { g: "storage.k8s.io", v: "v1", r: "csidrivers", k: "CSIDriver", ns: false },
  { g: "discovery.k8s.io", v: "v1", r: "endpointslices", k: "EndpointSlice", ns: true },
  { g: "node.k8s.io", v: "v1", r: "runtimeclasses", k: "RuntimeClass", ns: false },
  {
    g: "certificates.k8s.io",
    v: "v1",
    r: "certificatesigningrequests",
    k: "CertificateSigningRequest",
    ns: false,
    short: ["csr"],
    sub: ["status", "approval"],
  },
  { g: "apiregistration.k8s.io", v: "v1", r: "apiservices", k: "APIService", ns: false, sub: ["status"] },
  { g: "scheduling.k8s.io", v: "v1", r: "priorityclasses", k: "PriorityClass", ns: false, short: ["pc"] },
  { g: "events.k8s.io", v: "v1", r: "events", k: "Event", ns: true, short: ["ev"] },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "selfsubjectaccessreviews",
    k: "SelfSubjectAccessReview",
    ns: false,
    createOnly: true,
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "selfsubjectrulesreviews",
    k: "SelfSubjectRulesReview",
    ns: false,
    createOnly: true,
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "subjectaccessreviews",
    k: "SubjectAccessReview",
    ns: false,
    createOnly: true,
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "localsubjectaccessreviews",
    k: "LocalSubjectAccessReview",
    ns: true,
    createOnly: true,
  },
  { g: "authentication.k8s.io", v: "v1", r: "tokenreviews", k: "TokenReview", ns: false, createOnly: true },
  {
    g: "authentication.k8s.io",
    v: "v1",
    r: "selfsubjectreviews",
    k: "SelfSubjectReview",
    ns: false,
    createOnly: true,
  },
];

function fromSpec(s: Spec): ResourceDef {
  return {
    group: s.g,
    version: s.v,
    resource: s.r,
    singular: s.k.toLowerCase(),
    kind: s.k,
    namespaced: s.ns,
    shortNames: s.short ?? [],
    categories: s.cat ?? [],
    subresources: s.sub ?? [],
    createOnly: s.createOnly ?? false,
    schema: rootSchema(s.g, s.k),
  };
}

export const groupVersionOf = (d: { group: string; version: string }): string =>
  d.group === "" ? d.version : `${d.group}/${d.version}`;

/** The resources served now; CRDs add and remove entries. */
export class Catalog {
  private readonly byPath = new Map<string, ResourceDef>();

  constructor() {
    for (const s of specs) this.add(fromSpec(s));
  }

  add(def: ResourceDef): void {
    this.byPath.set(`${groupVersionOf(def)}/${def.resource}`, def);
  }

  remove(group: string, version: string, resource: string): void {
    this.byPath.delete(`${groupVersionOf({ group, version })}/${resource}`);
  }

  find(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.byPath.get(`${groupVersionOf({ group, version })}/${resource}`);
  }

  /** By apiVersion and kind (for objects in a request body or in persisted state). */
  findKind(apiVersion: string, kind: string): ResourceDef | undefined {
    for (const d of this.byPath.values()) if (groupVersionOf(d) === apiVersion && d.kind === kind) return d;
    return undefined;
  }

  all(): ResourceDef[] {
    return [...this.byPath.values()];
  }

  /** Group name → versions served, in the order groups were first added (core group is ""). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const d of this.byPath.values()) {
      const versions = out.get(d.group) ?? [];
      if (!versions.includes(d.version)) versions.push(d.version);
      out.set(d.group, versions);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.all().filter((d) => d.group === group && d.version === version);
  }
}

export interface CrdNames {
  plural: string;
  singular: string;
  kind: string;
  shortNames: string[];
  categories: string[];
}

/** The resource definitions one CRD serves (one per served version). */
export function defsFromCrd(crd: Record<string, unknown>): ResourceDef[] {
  const spec = crd["spec"] as Record<string, unknown> | undefined;
  const name = (crd["metadata"] as Record<string, unknown> | undefined)?.["name"];
  if (spec === undefined || typeof name !== "string") return [];
  const names = spec["names"] as Partial<CrdNames> | undefined;
  const group = spec["group"];
  if (typeof group !== "string" || names?.plural === undefined || names.kind === undefined) return [];
  const versions = (spec["versions"] as Record<string, unknown>[] | undefined) ?? [];
  const out: ResourceDef[] = [];
  for (const v of versions) {
    if (v["served"] === false || typeof v["name"] !== "string") continue;
    const subs = v["subresources"] as Record<string, unknown> | undefined;
    const sub: string[] = [];
    if (subs?.["status"] !== undefined) sub.push("status");
    if (subs?.["scale"] !== undefined) sub.push("scale");
    const schema = (v["schema"] as Record<string, unknown> | undefined)?.["openAPIV3Schema"];
    const columns = Array.isArray(v["additionalPrinterColumns"])
      ? (v["additionalPrinterColumns"] as unknown[]).filter(
          (c): c is PrinterColumn =>
            typeof c === "object" &&
            c !== null &&
            typeof (c as Record<string, unknown>)["name"] === "string" &&
            typeof (c as Record<string, unknown>)["jsonPath"] === "string",
        )
      : [];
    out.push({
      group,
      version: v["name"],
      resource: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      kind: names.kind,
      namespaced: spec["scope"] !== "Cluster",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      subresources: sub,
      createOnly: false,
      schema: customRootSchema(schema),
      crd: name,
      printerColumns: columns.map((c) => ({ ...c, type: typeof c.type === "string" ? c.type : "string" })),
    });
  }
  return out;
}
