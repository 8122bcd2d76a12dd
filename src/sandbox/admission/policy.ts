// ValidatingAdmissionPolicy + ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1) run with
// CEL as kube-apiserver runs them: matchConstraints and the binding's matchResources, paramKind/paramRef,
// matchConditions, variables, validations (message, messageExpression, reason) and the binding's
// validationActions: Deny refuses, Warn becomes a Warning header, Audit is recorded nowhere else here.
import { ApiError } from "../errors.js";
import { isObject, text, type Json, type JsonObject } from "../fieldset.js";
import { selectorFromObject } from "../selectors.js";
import { metaOf, type Store } from "../store.js";
import type { Catalog } from "../catalog.js";
import { evaluate, matchConditions } from "./cel.js";
import {
  namespaceMatches,
  objectMatches,
  rulesMatch,
  ruleMatches,
  type AdmissionAttributes,
} from "./match.js";

const POLICIES = "admissionregistration.k8s.io/validatingadmissionpolicies";
const BINDINGS = "admissionregistration.k8s.io/validatingadmissionpolicybindings";

export const hasPolicies = (store: Store): boolean => store.table(BINDINGS).size > 0;

const reasonCodes: Record<string, number> = {
  Unauthorized: 401,
  Forbidden: 403,
  Invalid: 422,
  RequestEntityTooLarge: 413,
};

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

/** Whether matchConstraints / matchResources take the request: rules, excluded rules, both selectors. */
function resourcesMatch(store: Store, m: JsonObject, a: AdmissionAttributes): boolean {
  if (!rulesMatch(m["resourceRules"], a, m["matchPolicy"])) return false;
  const equivalent = m["matchPolicy"] !== "Exact";
  if (list(m["excludeResourceRules"]).some((r) => ruleMatches(r, a, equivalent))) return false;
  return namespaceMatches(store, m["namespaceSelector"], a) && objectMatches(m["objectSelector"], a);
}

/** Evaluates every binding that takes the request; resolves with warnings, throws the first denial. */
export function runPolicies(
  store: Store,
  catalog: Catalog,
  a: AdmissionAttributes,
  base: Record<string, unknown>,
): string[] {
  const warnings: string[] = [];
  for (const b of store.list(BINDINGS, undefined)) {
    const bspec = obj(b.obj["spec"]);
    const policy = store.get(POLICIES, "", text(bspec["policyName"]))?.obj;
    if (policy === undefined) continue;
    const pspec = obj(policy["spec"]);
    if (!resourcesMatch(store, obj(pspec["matchConstraints"]), a)) continue;
    if (isObject(bspec["matchResources"]) && !resourcesMatch(store, bspec["matchResources"], a)) continue;
    const policyName = text(metaOf(policy)["name"]);
    const bindingName = text(metaOf(b.obj)["name"]);
    const actions = list(bspec["validationActions"]).map((x) => text(x));
    const prefix = `ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}'`;
    const params = paramsFor(store, catalog, pspec, bspec, a);
    if (params === "missing") {
      // Refused whatever the failurePolicy and validationActions, as kube-apiserver does.
      throw denied(
        a,
        `${prefix} denied request: no params found for policy binding with \`Deny\` parameterNotFoundAction`,
        "Invalid",
      );
    }
    const decisions = params.flatMap((p) => evaluatePolicy(pspec, { ...base, params: p }));
    for (const d of decisions) {
      if (d.failure && pspec["failurePolicy"] === "Ignore") continue;
      if (actions.includes("Deny")) throw denied(a, `${prefix} denied request: ${d.message}`, d.reason);
      if (actions.includes("Warn")) warnings.push(`Validation failed for ${prefix}: ${d.message}`);
    }
  }
  return warnings;
}

/** admission.NewForbidden's message with the validation's reason and its code (Invalid: 422). */
function denied(a: AdmissionAttributes, message: string, reason: string): ApiError {
  const gr = a.def.group === "" ? a.def.resource : `${a.def.resource}.${a.def.group}`;
  const name = a.name !== "" ? a.name : a.object === null ? "" : text(metaOf(a.object)["name"]);
  const full =
    name === "" ? `${gr} is forbidden: ${message}` : `${gr} ${JSON.stringify(name)} is forbidden: ${message}`;
  return new ApiError(reasonCodes[reason] ?? 422, reason, full, {
    ...(name === "" ? {} : { name }),
    group: a.def.group,
    kind: a.def.resource,
    causes: [{ message }],
  });
}

interface Decision {
  message: string;
  reason: string;
  /** An evaluation error (not a failed validation): failurePolicy Ignore drops it. */
  failure: boolean;
}

/** The params objects a binding selects (null when the policy takes none), or "missing" for Deny. */
function paramsFor(
  store: Store,
  catalog: Catalog,
  pspec: JsonObject,
  bspec: JsonObject,
  a: AdmissionAttributes,
): (JsonObject | null)[] | "missing" {
  const kind = pspec["paramKind"];
  const ref = bspec["paramRef"];
  if (!isObject(kind) || !isObject(ref)) return [null];
  const apiVersion = text(kind["apiVersion"]);
  const i = apiVersion.indexOf("/");
  const [group, version] = i < 0 ? ["", apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
  const def = catalog
    .all()
    .find((d) => d.group === group && d.version === version && d.kind === kind["kind"]);
  let found: JsonObject[] = [];
  if (def !== undefined) {
    const ns = !def.namespaced ? "" : typeof ref["namespace"] === "string" ? ref["namespace"] : a.namespace;
    const gr = `${def.group}/${def.resource}`;
    if (typeof ref["name"] === "string") {
      const s = store.get(gr, ns, ref["name"]);
      if (s !== undefined) found = [s.obj];
    } else if (isObject(ref["selector"])) {
      const match = selectorFromObject(ref["selector"]);
      found = store
        .list(gr, def.namespaced ? ns : undefined)
        .map((s) => s.obj)
        .filter((o) => match(obj(metaOf(o)["labels"])));
    }
  }
  if (found.length > 0) return found;
  return ref["parameterNotFoundAction"] === "Allow" ? [] : "missing";
}

/** One policy over one params object: the decisions of its failed validations and evaluation errors. */
function evaluatePolicy(pspec: JsonObject, base: Record<string, unknown>): Decision[] {
  const mc = matchConditions(pspec["matchConditions"], base);
  if (mc.error !== undefined) return [{ message: mc.error, reason: "Invalid", failure: true }];
  if (!mc.matches) return [];
  const variables: Record<string, unknown> = {};
  const vars = { ...base, variables };
  for (const v of list(pspec["variables"])) {
    const r = evaluate(text(obj(v)["expression"]), vars);
    // A variable that fails is an error only where it is used: its value stays unset.
    if (r.ok) variables[text(obj(v)["name"])] = r.value;
  }
  const out: Decision[] = [];
  for (const val of list(pspec["validations"])) {
    const v = obj(val);
    const expression = text(v["expression"]);
    const reason = typeof v["reason"] === "string" ? v["reason"] : "Invalid";
    const r = evaluate(expression, vars);
    if (!r.ok) {
      out.push({
        message: `expression '${expression}' resulted in error: ${r.error}`,
        reason,
        failure: true,
      });
      continue;
    }
    if (r.value === true) continue;
    let message =
      typeof v["message"] === "string" && v["message"] !== ""
        ? v["message"]
        : `failed expression: ${expression}`;
    if (typeof v["messageExpression"] === "string") {
      const m = evaluate(v["messageExpression"], vars);
      if (m.ok && typeof m.value === "string" && m.value.trim() !== "" && !m.value.includes("\n"))
        message = m.value;
    }
    out.push({ message, reason, failure: false });
  }
  return out;
}
