// The `Table` form of get and list answers, which kubectl asks for to print its columns
// (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`). A few kinds get their usual columns.
import { isObject, type Json, type JsonObject } from "./fieldset.js";
import type { ResourceDef } from "./catalog.js";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type = "string", format = "", priority = 0): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});

function get(obj: Json | undefined, path: string): Json | undefined {
  let cur = obj;
  for (const p of path.split(".")) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

const num = (v: Json | undefined): number => (typeof v === "number" ? v : 0);

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

function kindColumns(def: ResourceDef): { columns: Column[]; cells: (o: JsonObject) => Json[] } {
  switch (`${def.group}/${def.kind}`) {
    case "apps/Deployment":
      return {
        columns: [col("Ready"), col("Up-to-date", "integer"), col("Available", "integer")],
        cells: (o) => [
          `${num(get(o, "status.readyReplicas"))}/${num(get(o, "spec.replicas") ?? 1)}`,
          num(get(o, "status.updatedReplicas")),
          num(get(o, "status.availableReplicas")),
        ],
      };
    case "/Namespace":
      return { columns: [col("Status")], cells: (o) => [get(o, "status.phase") ?? "Active"] };
    case "/ConfigMap":
      return {
        columns: [col("Data", "integer")],
        cells: (o) => [
          Object.keys(asObject(o["data"])).length + Object.keys(asObject(o["binaryData"])).length,
        ],
      };
    case "/Secret":
      return {
        columns: [col("Type"), col("Data", "integer")],
        cells: (o) => [o["type"] ?? "Opaque", Object.keys(asObject(o["data"])).length],
      };
    case "batch/Job":
      return {
        columns: [col("Status"), col("Completions")],
        cells: (o) => [
          num(get(o, "status.succeeded")) > 0 ? "Complete" : "Running",
          `${num(get(o, "status.succeeded"))}/${num(get(o, "spec.completions") ?? 1)}`,
        ],
      };
    default:
      return { columns: [], cells: () => [] };
  }
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
  const k = kindColumns(def);
  const columns = [col("Name", "string", "name"), ...k.columns, col("Age")];
  const now = Date.now();
  const rows = objects.map((o) => {
    const meta = asObject(o["metadata"]);
    const row: JsonObject = {
      cells: [meta["name"] ?? "", ...k.cells(o), age(meta["creationTimestamp"], now)],
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
