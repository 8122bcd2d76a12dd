// Defaults and validation of admissionregistration.k8s.io/v1 objects as kube-apiserver applies them when
// they are written: webhooks get failurePolicy Fail, matchPolicy Equivalent, timeoutSeconds 10, empty
// selectors and scope "*"; v1 accepts only sideEffects None/NoneOnDryRun; CEL must compile.
import type { ResourceDef } from "../catalog.js";
import type { StatusCause } from "../errors.js";
import { isObject, text, type Json, type JsonObject } from "../fieldset.js";
import { compile } from "./cel.js";

const GROUP = "admissionregistration.k8s.io";

/** Fills in the defaults and answers the causes of an invalid object ([] when it is valid or not ours). */
export function admissionConfigCauses(def: ResourceDef, obj: JsonObject): StatusCause[] {
  if (def.group !== GROUP) return [];
  switch (def.kind) {
    case "ValidatingWebhookConfiguration":
      return webhookConfig(obj);
    case "ValidatingAdmissionPolicy":
      return policy(obj);
    case "ValidatingAdmissionPolicyBinding":
      return binding(obj);
    default:
      return [];
  }
}

const required = (field: string): StatusCause => ({
  type: "FieldValueRequired",
  message: "Required value",
  field,
});
const invalid = (field: string, value: Json | undefined, why: string): StatusCause => ({
  type: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value ?? null)}: ${why}`,
  field,
});
const unsupported = (field: string, value: Json | undefined, allowed: string[]): StatusCause => ({
  type: "FieldValueNotSupported",
  message: `Unsupported value: ${JSON.stringify(value ?? null)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
  field,
});

function oneOf(
  out: StatusCause[],
  o: JsonObject,
  key: string,
  field: string,
  allowed: string[],
  dflt?: string,
): void {
  if (o[key] === undefined && dflt !== undefined) o[key] = dflt;
  if (o[key] === undefined) out.push(required(`${field}.${key}`));
  else if (!allowed.includes(text(o[key]))) out.push(unsupported(`${field}.${key}`, o[key], allowed));
}

function celList(out: StatusCause[], v: Json | undefined, field: string, named: boolean): void {
  const names = new Set<string>();
  (Array.isArray(v) ? v : []).forEach((c, i) => {
    const f = `${field}[${i}]`;
    const e = isObject(c) ? c["expression"] : undefined;
    if (named) {
      const n = isObject(c) ? c["name"] : undefined;
      if (typeof n !== "string" || n === "") out.push(required(`${f}.name`));
      else if (names.has(n))
        out.push({
          type: "FieldValueDuplicate",
          message: `Duplicate value: ${JSON.stringify(n)}`,
          field: `${f}.name`,
        });
      else names.add(n);
    }
    if (typeof e !== "string" || e === "") out.push(required(`${f}.expression`));
    else {
      const p = compile(e);
      if (typeof p === "string") out.push(invalid(`${f}.expression`, e, `compilation failed: ${p}`));
    }
  });
}

function rules(out: StatusCause[], v: Json | undefined, field: string): void {
  (Array.isArray(v) ? v : []).forEach((r, i) => {
    if (!isObject(r)) return;
    r["scope"] ??= "*";
    oneOf(out, r, "scope", `${field}[${i}]`, ["*", "Cluster", "Namespaced"]);
    for (const k of ["operations", "apiGroups", "apiVersions", "resources"]) {
      if (!Array.isArray(r[k]) || r[k].length === 0) out.push(required(`${field}[${i}].${k}`));
    }
  });
}

function webhookConfig(obj: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const names = new Set<string>();
  (Array.isArray(obj["webhooks"]) ? obj["webhooks"] : []).forEach((w, i) => {
    const f = `webhooks[${i}]`;
    if (!isObject(w)) return;
    const name = w["name"];
    if (typeof name !== "string" || name.split(".").length < 3)
      out.push(
        invalid(`${f}.name`, name, "should be a domain with at least three segments separated by dots"),
      );
    else if (names.has(name))
      out.push({
        type: "FieldValueDuplicate",
        message: `Duplicate value: ${JSON.stringify(name)}`,
        field: `${f}.name`,
      });
    else names.add(name);
    oneOf(out, w, "failurePolicy", f, ["Fail", "Ignore"], "Fail");
    oneOf(out, w, "matchPolicy", f, ["Exact", "Equivalent"], "Equivalent");
    oneOf(out, w, "sideEffects", f, ["None", "NoneOnDryRun"]);
    w["namespaceSelector"] ??= {};
    w["objectSelector"] ??= {};
    w["timeoutSeconds"] ??= 10;
    const t = w["timeoutSeconds"];
    if (typeof t !== "number" || t < 1 || t > 30)
      out.push(invalid(`${f}.timeoutSeconds`, t, "the timeout value must be between 1 and 30 seconds"));
    const versions = Array.isArray(w["admissionReviewVersions"]) ? w["admissionReviewVersions"] : [];
    if (versions.length === 0) out.push(required(`${f}.admissionReviewVersions`));
    else if (!versions.includes("v1") && !versions.includes("v1beta1"))
      out.push(invalid(`${f}.admissionReviewVersions`, versions, "must include at least one of v1, v1beta1"));
    const cc = isObject(w["clientConfig"]) ? w["clientConfig"] : undefined;
    const hasUrl = cc !== undefined && cc["url"] !== undefined;
    const hasSvc = cc !== undefined && cc["service"] !== undefined;
    if (hasUrl === hasSvc) out.push(required(`${f}.clientConfig`));
    else if (hasUrl) {
      let ok: boolean;
      try {
        ok = new URL(text(cc["url"])).protocol === "https:";
      } catch {
        ok = false;
      }
      if (!ok)
        out.push(invalid(`${f}.clientConfig.url`, cc["url"], "'https' is the only allowed URL scheme"));
    } else if (cc !== undefined && isObject(cc["service"])) {
      const s = cc["service"];
      s["port"] ??= 443;
      if (typeof s["name"] !== "string") out.push(required(`${f}.clientConfig.service.name`));
      if (typeof s["namespace"] !== "string") out.push(required(`${f}.clientConfig.service.namespace`));
    }
    rules(out, w["rules"], `${f}.rules`);
    celList(out, w["matchConditions"], `${f}.matchConditions`, true);
  });
  return out;
}

function policy(obj: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = isObject(obj["spec"]) ? obj["spec"] : undefined;
  if (spec === undefined) return [required("spec")];
  oneOf(out, spec, "failurePolicy", "spec", ["Fail", "Ignore"], "Fail");
  const mc = spec["matchConstraints"];
  if (!isObject(mc) || !Array.isArray(mc["resourceRules"]))
    out.push(required("spec.matchConstraints.resourceRules"));
  else {
    oneOf(out, mc, "matchPolicy", "spec.matchConstraints", ["Exact", "Equivalent"], "Equivalent");
    mc["namespaceSelector"] ??= {};
    mc["objectSelector"] ??= {};
    rules(out, mc["resourceRules"], "spec.matchConstraints.resourceRules");
  }
  const vals = spec["validations"];
  if ((!Array.isArray(vals) || vals.length === 0) && !Array.isArray(spec["auditAnnotations"]))
    out.push(required("spec.validations"));
  celList(out, vals, "spec.validations", false);
  celList(out, spec["variables"], "spec.variables", true);
  celList(out, spec["matchConditions"], "spec.matchConditions", true);
  (Array.isArray(vals) ? vals : []).forEach((v, i) => {
    const me = isObject(v) ? v["messageExpression"] : undefined;
    if (typeof me === "string" && typeof compile(me) === "string")
      out.push(invalid(`spec.validations[${i}].messageExpression`, me, "compilation failed"));
  });
  return out;
}

function binding(obj: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = isObject(obj["spec"]) ? obj["spec"] : undefined;
  if (spec === undefined) return [required("spec")];
  if (typeof spec["policyName"] !== "string" || spec["policyName"] === "")
    out.push(required("spec.policyName"));
  const actions = Array.isArray(spec["validationActions"])
    ? spec["validationActions"].map((a) => text(a))
    : [];
  if (actions.length === 0) out.push(required("spec.validationActions"));
  actions.forEach((a, i) => {
    if (!["Deny", "Warn", "Audit"].includes(a))
      out.push(unsupported(`spec.validationActions[${i}]`, a, ["Audit", "Deny", "Warn"]));
  });
  if (new Set(actions).size !== actions.length)
    out.push(invalid("spec.validationActions", actions, "must not contain duplicates"));
  if (actions.includes("Deny") && actions.includes("Warn"))
    out.push(
      invalid(
        "spec.validationActions",
        actions,
        "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
      ),
    );
  const ref = spec["paramRef"];
  if (isObject(ref)) {
    if ((ref["name"] === undefined) === (ref["selector"] === undefined))
      out.push(required("spec.paramRef.name"));
    oneOf(out, ref, "parameterNotFoundAction", "spec.paramRef", ["Allow", "Deny"], "Deny");
  }
  return out;
}
