// RBAC privilege-escalation prevention, as kube-apiserver's RBAC storage does it: a (Cluster)Role may only
// grant permissions its writer already holds (in the role's namespace) unless the writer may `escalate`
// it, and a (Cluster)RoleBinding may only bind a role whose permissions the writer holds unless the writer
// may `bind` that role. Every write path (create, update, patch, server-side apply, dry-run) passes here.
import { errors } from "./errors.js";
import { isObject, jsonEqual, text, type Json, type JsonObject } from "./fieldset.js";
import { authorize, RBAC, rulesFor, rulesOf, strings, type UserInfo } from "./rbac.js";
import type { Store } from "./store.js";
import type { ResourceDef } from "./catalog.js";
import { metaOf } from "./store.js";

const MASTERS = "system:masters";

/** One atomic permission: a verb on one group/resource/name, or on one non-resource URL. */
interface Atom {
  verb: string;
  group?: string;
  resource?: string;
  name?: string;
  url?: string;
}

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

export interface RbacWrite {
  def: ResourceDef;
  /** The namespace of the request ("" for cluster-scoped kinds). */
  namespace: string;
  /** The name on the request URL: "" for a POST to the collection, as RequestInfo has it. */
  requestName: string;
  old: JsonObject | undefined;
  next: JsonObject;
  user: UserInfo;
}

function toRule(v: Json): Rule {
  const o = isObject(v) ? v : {};
  return {
    verbs: strings(o["verbs"]),
    apiGroups: strings(o["apiGroups"]),
    resources: strings(o["resources"]),
    resourceNames: strings(o["resourceNames"]),
    nonResourceURLs: strings(o["nonResourceURLs"]),
  };
}

/** BreakdownRule: one atom per verb × group × resource (× name), and per verb × non-resource URL. */
function breakdown(rule: Rule): Atom[] {
  const out: Atom[] = [];
  for (const group of rule.apiGroups)
    for (const resource of rule.resources)
      for (const verb of rule.verbs) {
        if (rule.resourceNames.length === 0) out.push({ verb, group, resource });
        else for (const name of rule.resourceNames) out.push({ verb, group, resource, name });
      }
  for (const url of rule.nonResourceURLs) for (const verb of rule.verbs) out.push({ verb, url });
  return out;
}

/** ruleCovers: the owner rule grants the atom (`*` verbs and groups, `*` and `*`-slash-subresource resources, URL prefixes). */
function covers(owner: Rule, atom: Atom): boolean {
  if (!owner.verbs.includes("*") && !owner.verbs.includes(atom.verb)) return false;
  if (atom.url !== undefined) {
    return owner.nonResourceURLs.some(
      (u) => u === atom.url || (u.endsWith("*") && atom.url?.startsWith(u.replace(/\*+$/, "")) === true),
    );
  }
  const group = atom.group ?? "";
  if (!owner.apiGroups.includes("*") && !owner.apiGroups.includes(group)) return false;
  const resource = atom.resource ?? "";
  const slash = resource.indexOf("/");
  const resourceOk =
    owner.resources.includes("*") ||
    owner.resources.includes(resource) ||
    (slash >= 0 && owner.resources.includes(`*${resource.slice(slash)}`));
  if (!resourceOk) return false;
  if (owner.resourceNames.length === 0) return true;
  return atom.name !== undefined && owner.resourceNames.includes(atom.name);
}

/** Kubernetes' CompactString form of a missing permission, e.g. {APIGroups:[""], Resources:["secrets"], Verbs:["get"]}. */
function describeMissing(missing: Atom[]): string[] {
  // As CompactRules: atoms that differ only by verb are shown as one rule.
  const byKey = new Map<string, { atom: Atom; verbs: string[] }>();
  for (const a of missing) {
    const key = JSON.stringify([a.group, a.resource, a.name, a.url]);
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { atom: a, verbs: [a.verb] });
    else if (!entry.verbs.includes(a.verb)) entry.verbs.push(a.verb);
  }
  const q = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(" ")}]`;
  const lines = [...byKey.values()].map(({ atom, verbs }) => {
    const parts: string[] = [];
    if (atom.group !== undefined) parts.push(`APIGroups:${q([atom.group])}`);
    if (atom.resource !== undefined) parts.push(`Resources:${q([atom.resource])}`);
    if (atom.url !== undefined) parts.push(`NonResourceURLs:${q([atom.url])}`);
    if (atom.name !== undefined) parts.push(`ResourceNames:${q([atom.name])}`);
    parts.push(`Verbs:${q(verbs)}`);
    return `{${parts.join(", ")}}`;
  });
  return [...new Set(lines)].sort();
}

/** ConfirmNoEscalation: the permissions in `rules` the user does not hold in `namespace` (empty: none). */
function missingRights(store: Store, user: UserInfo, namespace: string, rules: Json[]): Atom[] {
  const owner = rulesFor(store, user, namespace).map(toRule);
  const missing: Atom[] = [];
  for (const rule of rules)
    for (const atom of breakdown(toRule(rule))) if (!owner.some((o) => covers(o, atom))) missing.push(atom);
  return missing;
}

const FULL_AUTHORITY: Json[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];

/** IsOnlyMutatingGCFields: an update that touches only ownerReferences and finalizers is never an escalation. */
function onlyGcFields(old: JsonObject | undefined, next: JsonObject): boolean {
  if (old === undefined) return false;
  const strip = (o: JsonObject): JsonObject => {
    const copy = { ...o, metadata: { ...metaOf(o) } };
    for (const f of ["ownerReferences", "finalizers", "managedFields", "resourceVersion", "generation"])
      Reflect.deleteProperty(copy.metadata, f);
    return copy;
  };
  return jsonEqual(strip(old), strip(next));
}

/** Refuses (403 Forbidden, 404 for a binding to a missing role without `bind`) an RBAC write that escalates. */
export function confirmNoEscalation(store: Store, w: RbacWrite): void {
  const { def, user } = w;
  if (def.group !== RBAC) return;
  if (user.groups.includes(MASTERS)) return;
  if (onlyGcFields(w.old, w.next)) return;
  const name = text(metaOf(w.next)["name"]);
  const what = { group: def.group, resource: def.resource, name };
  const ns = def.namespaced ? w.namespace : "";
  const allowedTo = (verb: string, resource: string, resourceName: string, apiGroup: string): boolean => {
    const attrs = { verb, resourceRequest: true, apiGroup, resource, name: resourceName };
    return authorize(store, user, ns === "" ? attrs : { ...attrs, namespace: ns }).allowed;
  };
  const refuse = (missing: Atom[], extra = ""): never => {
    const groups = `[${user.groups.map((g) => JSON.stringify(g)).join(" ")}]`;
    throw errors.forbiddenMessage(
      `${def.resource}.${RBAC} ${JSON.stringify(name)} is forbidden: ${extra === "" ? `user ${JSON.stringify(user.name)} (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n${describeMissing(missing).join("\n")}` : extra}`,
      what,
    );
  };

  switch (def.kind) {
    case "Role":
    case "ClusterRole": {
      // RoleEscalationAuthorized: the `escalate` verb on this kind, checked with the name on the URL.
      if (allowedTo("escalate", def.resource, w.requestName, def.group)) return;
      if (def.kind === "ClusterRole" && w.next["aggregationRule"] != null) {
        // An aggregation rule can gather anything, so setting one needs * on *.*.
        if (missingRights(store, user, "", FULL_AUTHORITY).length > 0)
          refuse([], "must have cluster-admin privileges to use the aggregationRule");
      }
      const missing = missingRights(store, user, ns, rulesOf(w.next));
      if (missing.length > 0) refuse(missing);
      return;
    }
    case "RoleBinding":
    case "ClusterRoleBinding": {
      const ref = isObject(w.next["roleRef"]) ? w.next["roleRef"] : {};
      const refKind = ref["kind"];
      const refName = text(ref["name"] ?? "");
      const refResource = refKind === "ClusterRole" ? "clusterroles" : refKind === "Role" ? "roles" : "";
      // BindingAuthorized: `bind` on the referenced role, in the binding's namespace.
      if (refResource !== "" && allowedTo("bind", refResource, refName, text(ref["apiGroup"] ?? ""))) return;
      // GetRoleReferenceRules: the role must exist for its rules to be compared.
      const role =
        refKind === "ClusterRole"
          ? store.get(`${RBAC}/clusterroles`, "", refName)
          : refKind === "Role" && ns !== ""
            ? store.get(`${RBAC}/roles`, ns, refName)
            : undefined;
      if (role === undefined) {
        if (refResource === "")
          refuse([], `unsupported role reference kind: ${JSON.stringify(text(refKind ?? ""))}`);
        throw errors.notFound({ group: RBAC, resource: refResource, name: refName });
      }
      const missing = missingRights(store, user, ns, rulesOf(role.obj));
      if (missing.length > 0) refuse(missing);
      return;
    }
  }
}
