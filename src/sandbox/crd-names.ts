// What the CRD controller does with a CustomResourceDefinition: checks its names and versions, writes
// its status (NamesAccepted, Established) and finds the resources a CRD serves.
import type { Catalog, ResourceDef } from "./catalog.js";
import { errors, type StatusCause } from "./errors.js";
import { isObject, jsonEqual, text, type JsonObject } from "./fieldset.js";
import { metaOf } from "./store.js";
import { now } from "./object-rules.js";

export function acceptCrd(crd: JsonObject, old: JsonObject | undefined): void {
  const spec = isObject(crd["spec"]) ? crd["spec"] : {};
  const names = isObject(spec["names"]) ? spec["names"] : {};
  const group = spec["group"];
  const causes: StatusCause[] = [];
  if (typeof group !== "string" || group === "")
    causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.group" });
  if (typeof names["plural"] !== "string")
    causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.names.plural" });
  if (typeof names["kind"] !== "string")
    causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.names.kind" });
  const name = text(metaOf(crd)["name"]);
  if (causes.length === 0 && name !== `${text(names["plural"])}.${text(group)}`) {
    causes.push({
      type: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group`,
      field: "metadata.name",
    });
  }
  const versions = Array.isArray(spec["versions"]) ? spec["versions"] : [];
  if (versions.length === 0)
    causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.versions" });
  if (causes.length > 0)
    throw errors.invalid(
      "CustomResourceDefinition",
      { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name },
      causes,
    );
  const storage = versions.find((v) => isObject(v) && v["storage"] === true);
  // As the CRD controller: a condition's lastTransitionTime moves only when it transitions, so an apply
  // that changes nothing stores nothing (same resourceVersion) once the names were accepted.
  const oldStatus = old !== undefined && isObject(old["status"]) ? old["status"] : undefined;
  const oldConditions = Array.isArray(oldStatus?.["conditions"]) ? oldStatus["conditions"] : [];
  const since = isObject(oldConditions[0]) ? oldConditions[0]["lastTransitionTime"] : undefined;
  const t =
    typeof since === "string" && jsonEqual(oldStatus?.["acceptedNames"] ?? null, names) ? since : now();
  crd["status"] = {
    acceptedNames: names,
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        lastTransitionTime: t,
        reason: "NoConflicts",
        message: "no conflicts found",
      },
      {
        type: "Established",
        status: "True",
        lastTransitionTime: t,
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      },
    ],
    storedVersions: isObject(storage) && typeof storage["name"] === "string" ? [storage["name"]] : [],
  };
}

export function defsOfCrd(catalog: Catalog, crdName: string): ResourceDef[] {
  return catalog.all().filter((d) => d.crd === crdName);
}
