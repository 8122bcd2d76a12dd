// Label and field selectors of list and watch requests, in the syntax of the Kubernetes API
// (`app=web,tier!=db,env in (a,b),!legacy`; fields: `metadata.name=x,metadata.namespace!=y`).
import { errors } from "./errors.js";
import { isObject, type Json, type JsonObject } from "./fieldset.js";

type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "!exists"; key: string };

export type Selector = (obj: JsonObject) => boolean;

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function parseLabel(s: string): Requirement[] {
  return splitTerms(s).map((term): Requirement => {
    const set = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (set !== null) {
      const values = (set[3] ?? "")
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
      return { op: set[2] === "in" ? "in" : "notin", key: set[1] ?? "", values };
    }
    const cmp = /^([^\s!=]+)\s*(==|!=|=)\s*([^\s,]*)$/.exec(term);
    if (cmp !== null) return { op: cmp[2] === "!=" ? "!=" : "=", key: cmp[1] ?? "", value: cmp[3] ?? "" };
    const not = /^!\s*([^\s!=()]+)$/.exec(term);
    if (not !== null) return { op: "!exists", key: not[1] ?? "" };
    if (/^[^\s!=()]+$/.test(term)) return { op: "exists", key: term };
    throw errors.badRequest(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
}

function matches(req: Requirement, value: string | undefined): boolean {
  switch (req.op) {
    case "=":
      return value === req.value;
    case "!=":
      return value !== req.value;
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
    case "exists":
      return value !== undefined;
    case "!exists":
      return value === undefined;
  }
}

function metadata(obj: JsonObject): JsonObject {
  const m = obj["metadata"];
  return isObject(m) ? m : {};
}

export function labelSelector(s: string | null): Selector | undefined {
  if (s === null || s.trim() === "") return undefined;
  const reqs = parseLabel(s);
  return (obj) => {
    const labels = metadata(obj)["labels"];
    const l = isObject(labels) ? labels : {};
    return reqs.every((r) => {
      const v = l[r.key];
      return matches(r, typeof v === "string" ? v : undefined);
    });
  };
}

/** The value of a field path such as `metadata.name` or `status.phase`, as a string. */
function fieldValue(obj: JsonObject, path: string): string | undefined {
  let cur: Json | undefined = obj;
  for (const p of path.split(".")) cur = isObject(cur) ? cur[p] : undefined;
  if (cur === undefined || cur === null) return path === "metadata.namespace" ? "" : undefined;
  return typeof cur === "string" ? cur : JSON.stringify(cur);
}

export function fieldSelector(s: string | null): Selector | undefined {
  if (s === null || s.trim() === "") return undefined;
  const reqs = splitTerms(s).map((term) => {
    const cmp = /^([A-Za-z0-9_.-]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (cmp === null) throw errors.badRequest(`invalid field selector: ${JSON.stringify(term)}`);
    return { path: cmp[1] ?? "", neg: cmp[2] === "!=", value: cmp[3] ?? "" };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.neg);
}

export function combine(...selectors: (Selector | undefined)[]): Selector | undefined {
  const present = selectors.filter((s): s is Selector => s !== undefined);
  if (present.length === 0) return undefined;
  return (obj) => present.every((s) => s(obj));
}

/** A label selector object (`matchLabels`, `matchExpressions`) as used by workloads, PDBs and policies. */
export function selectorFromObject(sel: Json | undefined): Selector {
  if (!isObject(sel)) return () => false;
  const reqs: Requirement[] = [];
  const ml = sel["matchLabels"];
  if (isObject(ml))
    for (const [k, v] of Object.entries(ml))
      reqs.push({ op: "=", key: k, value: typeof v === "string" ? v : JSON.stringify(v) });
  const me = sel["matchExpressions"];
  if (Array.isArray(me)) {
    for (const e of me) {
      if (!isObject(e) || typeof e["key"] !== "string") continue;
      const values = Array.isArray(e["values"]) ? e["values"].map(String) : [];
      const op = e["operator"];
      if (op === "In") reqs.push({ op: "in", key: e["key"], values });
      else if (op === "NotIn") reqs.push({ op: "notin", key: e["key"], values });
      else if (op === "Exists") reqs.push({ op: "exists", key: e["key"] });
      else if (op === "DoesNotExist") reqs.push({ op: "!exists", key: e["key"] });
    }
  }
  return (obj) => {
    const labels = isObject(obj) ? obj : {};
    return reqs.every((r) => {
      const v = labels[r.key];
      return matches(r, typeof v === "string" ? v : undefined);
    });
  };
}
