// The `Table` form of get and list answers, which kubectl asks for to print its columns
// (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`). The columns are in printers.ts.
import { isObject, type Json, type JsonObject } from "./fieldset.js";
import type { ResourceDef } from "./catalog.js";
import { builtinPrinter, col, customPrinter } from "./printers.js";

/** kubectl's short ages: 45s, 3m12s, 5h, 2d3h. */
export function age(created: Json | undefined, now = Date.now()): string {
  if (typeof created !== "string") return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

function asObject(v: Json | undefined): JsonObject {
  return isObject(v) ? v : {};
}

export type IncludeObject = "None" | "Metadata" | "Object";

export function toTable(
  def: ResourceDef,
  objects: readonly JsonObject[],
  resourceVersion: string,
  include: IncludeObject,
  extraMeta: JsonObject = {},
): JsonObject {
  const k =
    def.crd === undefined ? builtinPrinter(`${def.group}/${def.kind}`) : customPrinter(def.printerColumns);
  const columns = [col("Name", "string", "name"), ...k.columns];
  const now = Date.now();
  const ageOf = (created: Json | undefined): string => age(created, now);
  const rows = objects.map((o) => {
    const meta = asObject(o["metadata"]);
    const row: JsonObject = {
      cells: [meta["name"] ?? "", ...k.cells(o, ageOf)],
    };
    if (include === "Object") row["object"] = o;
    else if (include === "Metadata") {
      row["object"] = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: meta };
    }
    return row;
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion, ...extraMeta },
    columnDefinitions: columns as unknown as Json,
    rows,
  };
}
