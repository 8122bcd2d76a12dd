// The core validation of built-in kinds that kube-apiserver applies and manifests most often get wrong:
// containers present and named, ports in 1–65535, resource quantities that parse and limits not below
// requests, ConfigMap/Secret key syntax and `immutable`, RBAC rules and role references, and fields that
// cannot change after creation (apps selectors, a binding's roleRef).
// Quantities that do not parse fail decoding (400), as in Kubernetes; the rest are 422 causes.
import { errors, type StatusCause } from "./errors.js";
import { isObject, jsonEqual, type Json, type JsonObject } from "./fieldset.js";
import type { ResourceDef } from "./catalog.js";
import { dnsLabelProblem } from "./validate.js";

const configKey = /^[-._a-zA-Z0-9]+$/;
const portName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Quantity: sign, decimal number, then a binary-SI, decimal-SI or exponent suffix. */
const quantity = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const QUANTITY_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a quantity ("500m", "1Gi", "2e3", 3), or undefined if it does not parse. */
export function parseQuantity(v: Json | undefined): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = quantity.exec(v);
  if (m === null) return undefined;
  const n = Number(`${m[1] ?? ""}${m[2] ?? ""}`);
  const suffix = m[3] ?? "";
  if (suffix === "") return n;
  if (suffix[0] === "e" || suffix[0] === "E") return n * 10 ** Number(suffix.slice(1));
  return n * (suffixes[suffix] ?? NaN);
}

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);

/** Where the pod spec of each workload kind lives. */
const podSpecPaths: Readonly<Record<string, readonly string[]>> = {
  "/Pod": ["spec"],
  "/PodTemplate": ["template", "spec"],
  "/ReplicationController": ["spec", "template", "spec"],
  "apps/Deployment": ["spec", "template", "spec"],
  "apps/StatefulSet": ["spec", "template", "spec"],
  "apps/DaemonSet": ["spec", "template", "spec"],
  "apps/ReplicaSet": ["spec", "template", "spec"],
  "batch/Job": ["spec", "template", "spec"],
  "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

const outOfRange = (field: string, v: Json | undefined): StatusCause => ({
  type: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(v)}: must be between 1 and 65535, inclusive`,
  field,
});

const validPort = (v: Json | undefined): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;

/** Quantities of a map (`field[name]`): each must parse (400, as decoding does) and be ≥ 0. */
function checkQuantities(values: JsonObject, field: string, causes: StatusCause[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, raw] of Object.entries(values)) {
    const q = parseQuantity(raw);
    if (q === undefined) {
      throw errors.badRequest(
        `${field}[${name}]: quantities must match the regular expression '${QUANTITY_RE}'`,
      );
    }
    if (q < 0) {
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(raw)}: must be greater than or equal to 0`,
        field: `${field}[${name}]`,
      });
    }
    out[name] = q;
  }
  return out;
}

/** A container's (or claim's) resources: quantities that parse, and no request above its limit. */
function checkResources(resources: JsonObject, field: string, causes: StatusCause[]): void {
  const limits = checkQuantities(obj(resources["limits"]), `${field}.limits`, causes);
  const requests = checkQuantities(obj(resources["requests"]), `${field}.requests`, causes);
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    if (limit !== undefined && request > limit) {
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(obj(resources["requests"])[name])}: must be less than or equal to ${name} limit of ${JSON.stringify(obj(resources["limits"])[name])}`,
        field: `${field}.requests[${name}]`,
      });
    }
  }
}

/** Jobs run to completion (OnFailure or Never); controllers of long-running pods need Always. */
function checkRestartPolicy(kindKey: string, spec: JsonObject, field: string, causes: StatusCause[]): void {
  const policy = typeof spec["restartPolicy"] === "string" ? spec["restartPolicy"] : "Always";
  const allowed =
    kindKey === "batch/Job" || kindKey === "batch/CronJob"
      ? ["OnFailure", "Never"]
      : kindKey === "/Pod" || kindKey === "/PodTemplate"
        ? ["Always", "OnFailure", "Never"]
        : ["Always"];
  if (!allowed.includes(policy)) {
    causes.push({
      type: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(policy)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      field: `${field}.restartPolicy`,
    });
  }
}

function checkContainer(c: Json, field: string, names: Set<string>, causes: StatusCause[]): void {
  const container = obj(c);
  const name = container["name"];
  const notLabel = typeof name === "string" && name !== "" ? dnsLabelProblem(name) : undefined;
  if (typeof name !== "string" || name === "")
    causes.push({ type: "FieldValueRequired", message: "Required value", field: `${field}.name` });
  else if (notLabel !== undefined)
    causes.push({ type: "FieldValueInvalid", message: notLabel, field: `${field}.name` });
  else if (names.has(name))
    causes.push({
      type: "FieldValueDuplicate",
      message: `Duplicate value: ${JSON.stringify(name)}`,
      field: `${field}.name`,
    });
  else names.add(name);
  list(container["ports"]).forEach((p, j) => {
    const port = obj(p);
    if (!validPort(port["containerPort"]))
      causes.push(outOfRange(`${field}.ports[${j}].containerPort`, port["containerPort"]));
    const host = port["hostPort"];
    if (host !== undefined && host !== 0 && !validPort(host))
      causes.push(outOfRange(`${field}.ports[${j}].hostPort`, host));
  });
  checkResources(obj(container["resources"]), `${field}.resources`, causes);
}

function checkPodSpec(spec: JsonObject, field: string, causes: StatusCause[]): void {
  const containers = spec["containers"];
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ type: "FieldValueRequired", message: "Required value", field: `${field}.containers` });
  }
  const names = new Set<string>();
  for (const key of ["initContainers", "containers", "ephemeralContainers"]) {
    list(spec[key]).forEach((c, i) => {
      checkContainer(c, `${field}.${key}[${i}]`, names, causes);
      const image = obj(c)["image"];
      if (key !== "ephemeralContainers" && (typeof image !== "string" || image === ""))
        causes.push({
          type: "FieldValueRequired",
          message: "Required value",
          field: `${field}.${key}[${i}].image`,
        });
    });
  }
}

function checkService(o: JsonObject, causes: StatusCause[]): void {
  list(obj(o["spec"])["ports"]).forEach((p, i) => {
    const port = obj(p);
    if (!validPort(port["port"])) causes.push(outOfRange(`spec.ports[${i}].port`, port["port"]));
    const target = port["targetPort"];
    if (typeof target === "number" && !validPort(target))
      causes.push(outOfRange(`spec.ports[${i}].targetPort`, target));
    if (typeof target === "string" && (target.length > 15 || !portName.test(target) || !/[a-z]/.test(target)))
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(target)}: must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters`,
        field: `spec.ports[${i}].targetPort`,
      });
    const node = port["nodePort"];
    if (node !== undefined && node !== 0 && !validPort(node))
      causes.push(outOfRange(`spec.ports[${i}].nodePort`, node));
  });
}

function checkKeys(o: JsonObject, causes: StatusCause[]): void {
  const seen = new Set<string>();
  for (const field of ["data", "binaryData", "stringData"]) {
    for (const key of Object.keys(obj(o[field]))) {
      if (key.length > 253 || !configKey.test(key)) {
        causes.push({
          type: "FieldValueInvalid",
          message: `Invalid value: ${JSON.stringify(key)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
          field: `${field}[${key}]`,
        });
      } else if (field === "binaryData" && seen.has(key)) {
        causes.push({
          type: "FieldValueInvalid",
          message: `Invalid value: ${JSON.stringify(key)}: duplicate of key present in data`,
          field: `binaryData[${key}]`,
        });
      }
      seen.add(key);
    }
  }
}

/** ValidatePolicyRule: verbs required; resource rules need groups and resources; URLs only cluster-wide. */
function checkRules(o: JsonObject, namespaced: boolean, causes: StatusCause[]): void {
  const has = (r: JsonObject, f: string): boolean => list(r[f]).length > 0;
  list(o["rules"]).forEach((raw, i) => {
    const r = obj(raw);
    const field = `rules[${i}]`;
    if (!has(r, "verbs"))
      causes.push({
        type: "FieldValueRequired",
        message: "Required value: verbs must contain at least one value",
        field: `${field}.verbs`,
      });
    if (has(r, "nonResourceURLs")) {
      if (namespaced)
        causes.push({
          type: "FieldValueInvalid",
          message: "Invalid value: namespaced rules cannot apply to non-resource URLs",
          field: `${field}.nonResourceURLs`,
        });
      if (has(r, "apiGroups") || has(r, "resources") || has(r, "resourceNames"))
        causes.push({
          type: "FieldValueInvalid",
          message: "Invalid value: rules cannot apply to both regular resources and non-resource URLs",
          field: `${field}.nonResourceURLs`,
        });
      return;
    }
    if (!has(r, "apiGroups"))
      causes.push({
        type: "FieldValueRequired",
        message: "Required value: resource rules must supply at least one api group",
        field: `${field}.apiGroups`,
      });
    if (!has(r, "resources"))
      causes.push({
        type: "FieldValueRequired",
        message: "Required value: resource rules must supply at least one resource",
        field: `${field}.resources`,
      });
  });
}

/** A binding's roleRef: a Role or ClusterRole of rbac.authorization.k8s.io (ClusterRoleBindings: ClusterRole). */
function checkRoleRef(o: JsonObject, clusterBinding: boolean, causes: StatusCause[]): void {
  const ref = obj(o["roleRef"]);
  const kinds = clusterBinding ? ["ClusterRole"] : ["Role", "ClusterRole"];
  if (ref["apiGroup"] !== "rbac.authorization.k8s.io")
    causes.push({
      type: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(ref["apiGroup"] ?? "")}: supported values: "rbac.authorization.k8s.io"`,
      field: "roleRef.apiGroup",
    });
  if (typeof ref["kind"] !== "string" || !kinds.includes(ref["kind"]))
    causes.push({
      type: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(ref["kind"] ?? "")}: supported values: ${kinds.map((k) => JSON.stringify(k)).join(", ")}`,
      field: "roleRef.kind",
    });
  if (typeof ref["name"] !== "string" || ref["name"] === "")
    causes.push({ type: "FieldValueRequired", message: "Required value", field: "roleRef.name" });
}

/** Fields that may not change once the object exists (apps/v1 selectors; data of an immutable ConfigMap). */
function checkUpdate(kindKey: string, old: JsonObject, next: JsonObject, causes: StatusCause[]): void {
  if (
    kindKey === "rbac.authorization.k8s.io/RoleBinding" ||
    kindKey === "rbac.authorization.k8s.io/ClusterRoleBinding"
  ) {
    if (!jsonEqual(old["roleRef"] ?? null, next["roleRef"] ?? null))
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(next["roleRef"] ?? null)}: cannot change roleRef`,
        field: "roleRef",
      });
  }
  if (["apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet"].includes(kindKey)) {
    const was = obj(old["spec"])["selector"];
    const is = obj(next["spec"])["selector"];
    if (!jsonEqual(was ?? null, is ?? null))
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(is ?? null)}: field is immutable`,
        field: "spec.selector",
      });
  }
  if ((kindKey === "/ConfigMap" || kindKey === "/Secret") && old["immutable"] === true) {
    if (next["immutable"] !== true)
      causes.push({
        type: "FieldValueForbidden",
        message: "Forbidden: field is immutable when `immutable` is set",
        field: "immutable",
      });
    for (const field of ["data", "binaryData"]) {
      if (!jsonEqual(old[field] ?? null, next[field] ?? null))
        causes.push({
          type: "FieldValueForbidden",
          message: "Forbidden: field is immutable when `immutable` is set",
          field,
        });
    }
  }
}

/** The causes (422) for a built-in object; throws 400 for a quantity that does not decode. */
export function validateCore(def: ResourceDef, next: JsonObject, old: JsonObject | undefined): StatusCause[] {
  if (def.crd !== undefined) return [];
  const causes: StatusCause[] = [];
  const kindKey = `${def.group}/${def.kind}`;
  const path = podSpecPaths[kindKey];
  if (path !== undefined) {
    let spec: Json | undefined = next;
    for (const p of path) spec = obj(spec)[p];
    checkPodSpec(obj(spec), path.join("."), causes);
    checkRestartPolicy(kindKey, obj(spec), path.join("."), causes);
  }
  if (kindKey === "/ResourceQuota") checkQuantities(obj(obj(next["spec"])["hard"]), "spec.hard", causes);
  if (kindKey === "/LimitRange") {
    list(obj(next["spec"])["limits"]).forEach((l, i) => {
      for (const f of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"])
        checkQuantities(obj(obj(l)[f]), `spec.limits[${i}].${f}`, causes);
    });
  }
  if (kindKey === "/Service") checkService(next, causes);
  if (kindKey === "/ConfigMap" || kindKey === "/Secret") checkKeys(next, causes);
  if (kindKey === "/PersistentVolumeClaim")
    checkResources(obj(obj(next["spec"])["resources"]), "spec.resources", causes);
  if (def.group === "rbac.authorization.k8s.io") {
    if (def.kind === "Role" || def.kind === "ClusterRole") checkRules(next, def.namespaced, causes);
    else checkRoleRef(next, def.kind === "ClusterRoleBinding", causes);
  }
  if (old !== undefined) checkUpdate(kindKey, old, next, causes);
  return causes;
}
