// Which admission request a webhook or a ValidatingAdmissionPolicy sees, as kube-apiserver decides it:
// rules (operations, apiGroups, apiVersions, resources with "*" and "res/sub", scope, resourceNames),
// matchPolicy Equivalent, namespaceSelector on the namespace's labels and objectSelector on either object.
import type { ResourceDef } from "../catalog.js";
import { isObject, type Json, type JsonObject } from "../fieldset.js";
import { selectorFromObject } from "../selectors.js";
import { metaOf, type Store } from "../store.js";
import type { UserInfo } from "../rbac.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** One admission request: what kube-apiserver calls `admission.Attributes`. */
export interface AdmissionAttributes {
  readonly def: ResourceDef;
  readonly operation: Operation;
  /** "" for cluster-scoped objects. */
  readonly namespace: string;
  /** "" for a create with generateName (the object then has the generated name). */
  readonly name: string;
  readonly subresource: string;
  /** The kind of `object`: the resource's kind, or autoscaling/v1 Scale for the scale subresource. */
  readonly kind: { group: string; version: string; kind: string };
  readonly object: JsonObject | null;
  readonly oldObject: JsonObject | null;
  readonly user: UserInfo;
  readonly dryRun: boolean;
  readonly options: JsonObject | null;
}

const strings = (v: Json | undefined): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/** Other group/version spellings of the same resource, which matchPolicy Equivalent also matches. */
const equivalentGroups: Record<string, string[]> = {
  "apps/deployments": ["extensions"],
  "apps/daemonsets": ["extensions"],
  "apps/replicasets": ["extensions"],
  "networking.k8s.io/ingresses": ["extensions"],
  "networking.k8s.io/networkpolicies": ["extensions"],
};

/** Whether one rule (RuleWithOperations or NamedRuleWithOperations) names the request. */
export function ruleMatches(rule: Json, a: AdmissionAttributes, equivalent: boolean): boolean {
  if (!isObject(rule)) return false;
  const ops = strings(rule["operations"]);
  if (!ops.includes("*") && !ops.includes(a.operation)) return false;
  if (!scopeMatches(rule["scope"], a)) return false;
  const names = strings(rule["resourceNames"]);
  if (names.length > 0 && !names.includes(a.name)) return false;
  if (!resourceMatches(strings(rule["resources"]), a.def.resource, a.subresource)) return false;
  const groups = strings(rule["apiGroups"]);
  const versions = strings(rule["apiVersions"]);
  const anyGroup = groups.includes("*");
  if (
    (anyGroup || groups.includes(a.def.group)) &&
    (versions.includes("*") || versions.includes(a.def.version))
  )
    return true;
  if (!equivalent || versions.length === 0) return false;
  // The sandbox serves one version of each resource; under Equivalent, a rule naming another version of
  // the same group and resource (or an older group of it, as extensions) matches it too.
  if (anyGroup || groups.includes(a.def.group)) return true;
  const others = equivalentGroups[`${a.def.group}/${a.def.resource}`] ?? [];
  return others.some((g) => groups.includes(g));
}

/** kube-apiserver's resource match: "res/sub" split once, each side "*" or equal ("*" alone: no subresource). */
function resourceMatches(resources: string[], resource: string, sub: string): boolean {
  return resources.some((r) => {
    const i = r.indexOf("/");
    const [res, s] = i < 0 ? [r, ""] : [r.slice(0, i), r.slice(i + 1)];
    return (res === "*" || res === resource) && (s === "*" || s === sub);
  });
}

function scopeMatches(scope: Json | undefined, a: AdmissionAttributes): boolean {
  const isNamespaceObject = a.def.group === "" && a.def.resource === "namespaces";
  if (scope === "Namespaced") return !isNamespaceObject && a.namespace !== "";
  if (scope === "Cluster") return isNamespaceObject || a.namespace === "";
  return true;
}

/** Whether any of the rules names the request (the rules of a webhook or of matchConstraints). */
export function rulesMatch(
  rules: Json | undefined,
  a: AdmissionAttributes,
  matchPolicy: Json | undefined,
): boolean {
  const list = Array.isArray(rules) ? rules : [];
  if (list.some((r) => ruleMatches(r, a, false))) return true;
  return matchPolicy !== "Exact" && list.some((r) => ruleMatches(r, a, true));
}

const isEmptySelector = (sel: Json | undefined): boolean =>
  !isObject(sel) ||
  ((!isObject(sel["matchLabels"]) || Object.keys(sel["matchLabels"]).length === 0) &&
    (!Array.isArray(sel["matchExpressions"]) || sel["matchExpressions"].length === 0));

const labelsOf = (obj: JsonObject | null): JsonObject | undefined => {
  if (obj === null) return undefined;
  const l = metaOf(obj)["labels"];
  return isObject(l) ? l : {};
};

/**
 * namespaceSelector: cluster-scoped requests (other than for namespaces) always match; a Namespace
 * request is judged by that namespace object's own labels, anything else by its namespace's labels.
 */
export function namespaceMatches(store: Store, sel: Json | undefined, a: AdmissionAttributes): boolean {
  if (isEmptySelector(sel)) return true;
  const isNamespaceObject = a.def.group === "" && a.def.resource === "namespaces";
  if (a.namespace === "" && !isNamespaceObject) return true;
  let labels: JsonObject | undefined;
  if (isNamespaceObject) labels = labelsOf(a.object ?? a.oldObject);
  else {
    const ns = store.get("/namespaces", "", a.namespace);
    labels = ns === undefined ? {} : labelsOf(ns.obj);
  }
  return selectorFromObject(sel)(labels ?? {});
}

/** objectSelector: matches when the new or the old object's labels match (an absent object never does). */
export function objectMatches(sel: Json | undefined, a: AdmissionAttributes): boolean {
  if (isEmptySelector(sel)) return true;
  const match = selectorFromObject(sel);
  return [a.object, a.oldObject].some((o) => o !== null && match(labelsOf(o) ?? {}));
}

/** The namespace object of a namespaced request (null for cluster-scoped ones), as CEL's namespaceObject. */
export function namespaceObjectOf(store: Store, a: AdmissionAttributes): JsonObject | null {
  if (a.namespace === "" || (a.def.group === "" && a.def.resource === "namespaces")) return null;
  return store.get("/namespaces", "", a.namespace)?.obj ?? null;
}

/** The AdmissionRequest (admission.k8s.io/v1) of a request, as webhooks and CEL's `request` see it. */
export function admissionRequest(a: AdmissionAttributes, uid: string): JsonObject {
  const resource = { group: a.def.group, version: a.def.version, resource: a.def.resource };
  const user: JsonObject = { username: a.user.name, groups: a.user.groups };
  if (a.user.uid !== undefined) user["uid"] = a.user.uid;
  if (a.user.extra !== undefined) user["extra"] = a.user.extra;
  const req: JsonObject = {
    uid,
    kind: a.kind,
    resource,
    requestKind: a.kind,
    requestResource: resource,
    name: a.name,
    operation: a.operation,
    userInfo: user,
    object: a.object,
    oldObject: a.oldObject,
    dryRun: a.dryRun,
    options: a.options,
  };
  // Always present, "" without a subresource, as kube-apiserver sends it: CEL conditions such as
  // `request.subResource != "status"` must not fail on a plain write.
  req["subResource"] = a.subresource;
  req["requestSubResource"] = a.subresource;
  if (a.namespace !== "") req["namespace"] = a.namespace;
  return req;
}

/** Admission configuration objects are never sent to webhooks or policies (the cluster could not recover). */
export function isExempt(def: ResourceDef): boolean {
  return (
    def.group === "admissionregistration.k8s.io" &&
    [
      "validatingwebhookconfigurations",
      "mutatingwebhookconfigurations",
      "validatingadmissionpolicies",
      "validatingadmissionpolicybindings",
      "mutatingadmissionpolicies",
      "mutatingadmissionpolicybindings",
    ].includes(def.resource)
  );
}
