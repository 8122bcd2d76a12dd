// Validation that answers 422 Invalid before anything is stored: object names, label keys and values,
// and the few rules of built-in kinds that clients depend on (a Deployment's selector must match its
// template). Field causes carry the path, as Kubernetes reports them.
import type { StatusCause } from "./errors.js";
import { isObject, type JsonObject } from "./fieldset.js";
import { selectorFromObject } from "./selectors.js";
import type { ResourceDef } from "./catalog.js";

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Kinds whose names are DNS labels rather than subdomains. */
const labelNamed = new Set(["/Namespace", "/Service"]);
/** Kinds whose names only need to be valid path segments (RBAC allows `system:foo`). */
const pathNamed = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

/** Why a name is not a DNS label (RFC 1123, at most 63 characters), or undefined when it is one. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length > 63 || !dnsLabel.test(name)) {
    return `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

function checkName(def: ResourceDef, name: string): string | undefined {
  if (name === "") return "Required value: name or generateName is required";
  if (pathNamed.has(def.kind) && def.group === "rbac.authorization.k8s.io") {
    if (name === "." || name === ".." || /[/%]/.test(name))
      return `Invalid value: ${JSON.stringify(name)}: may not contain '/' or '%'`;
    return undefined;
  }
  if (labelNamed.has(`${def.group}/${def.kind}`)) return dnsLabelProblem(name);
  if (name.length > 253 || !dnsSubdomain.test(name)) {
    return `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

function checkLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && qualifiedName.test(name);
}

/** kube-apiserver's limit on the values of a ConfigMap or a Secret (core.MaxSecretSize, 1 MiB). */
const MAX_PAYLOAD = 1024 * 1024;

/** The bytes of a ConfigMap's data and binaryData values (decoded), or a Secret's data (decoded). */
function payloadSize(kind: string, obj: JsonObject): number {
  let size = 0;
  const strings = kind === "ConfigMap" ? obj["data"] : undefined;
  if (isObject(strings))
    for (const v of Object.values(strings)) if (typeof v === "string") size += Buffer.byteLength(v);
  const encoded = kind === "ConfigMap" ? obj["binaryData"] : obj["data"];
  if (isObject(encoded))
    for (const v of Object.values(encoded))
      if (typeof v === "string") size += Buffer.from(v, "base64").length;
  return size;
}

export function validate(def: ResourceDef, obj: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const meta = isObject(obj["metadata"]) ? obj["metadata"] : {};
  const name = typeof meta["name"] === "string" ? meta["name"] : "";
  const bad = checkName(def, name);
  if (bad !== undefined) causes.push({ type: "FieldValueInvalid", message: bad, field: "metadata.name" });
  const labels = meta["labels"];
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels))
      causes.push({ type: "FieldValueInvalid", message: "must be a map", field: "metadata.labels" });
    else {
      for (const [k, v] of Object.entries(labels)) {
        if (!checkLabelKey(k)) {
          causes.push({
            type: "FieldValueInvalid",
            message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'`,
            field: "metadata.labels",
          });
        }
        if (typeof v !== "string" || v.length > 63 || !labelValue.test(v)) {
          causes.push({
            type: "FieldValueInvalid",
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
            field: `metadata.labels`,
          });
        }
      }
    }
  }
  const annotations = meta["annotations"];
  if (isObject(annotations)) {
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== "string")
        causes.push({
          type: "FieldValueInvalid",
          message: `annotation ${JSON.stringify(k)} must be a string`,
          field: "metadata.annotations",
        });
    }
  }
  if (def.group === "" && (def.kind === "ConfigMap" || def.kind === "Secret")) {
    const size = payloadSize(def.kind, obj);
    if (size > MAX_PAYLOAD) {
      // As kube-apiserver: the whole object ("[]"), counting the values only.
      causes.push({
        type: "FieldValueTooLong",
        message: `Too long: must have at most ${MAX_PAYLOAD} bytes`,
        field: "[]",
      });
    }
  }
  if (def.group === "apps" && ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(def.kind)) {
    const spec = isObject(obj["spec"]) ? obj["spec"] : {};
    const sel = spec["selector"];
    const template = isObject(spec["template"]) ? spec["template"] : {};
    const tmeta = isObject(template["metadata"]) ? template["metadata"] : {};
    if (!isObject(sel))
      causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.selector" });
    else if (!selectorFromObject(sel)(isObject(tmeta["labels"]) ? tmeta["labels"] : {})) {
      causes.push({
        type: "FieldValueInvalid",
        message: "Invalid value: `selector` does not match template `labels`",
        field: "spec.template.metadata.labels",
      });
    }
    // The pod template's containers are checked in core-validation.ts, as for every workload kind.
  }
  return causes;
}
