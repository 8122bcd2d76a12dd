// Remembers where in its source text each parsed object's fields were written, so a finding can name the
// line of the offending field (spec.template.spec.containers[0].securityContext.privileged), not just the
// line where the object starts. Kept beside the objects (a WeakMap keyed by the parsed value) so that the
// Manifest type and every renderer stay as they are; the YAML nodes are walked only when a finding asks.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import { pointerSegments } from "../json/pointer.js";

interface Source {
  /** The repository-relative file the text came from; a lookup for another file answers nothing. */
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly node: Node;
  readonly lineCounter: LineCounter;
}

const sources = new WeakMap<object, Source>();

/**
 * Records that `value` (the plain data of a parsed object) was read from `node` of `doc`. Called by the
 * parser for each object it yields, with the node that object was converted from.
 */
export function recordPositions(
  value: object,
  file: string,
  doc: Document.Parsed,
  node: unknown,
  lineCounter: LineCounter,
): void {
  if (!isMap(node)) return;
  sources.set(value, { file, doc, node, lineCounter });
  // A v1 List's items become objects of their own (parse.ts); each is found through its own node.
  const items = (value as Record<string, unknown>)["items"];
  const seq = node.get("items", true);
  if (Array.isArray(items) && isSeq(seq)) {
    items.forEach((item: unknown, i) => {
      if (typeof item === "object" && item !== null)
        recordPositions(item, file, doc, seq.items[i], lineCounter);
    });
  }
}

/** Output objects of kustomize, each with the repository object it was built from (kustomize.ts). */
const links = new WeakMap<object, object>();

/**
 * Says that `value` is a tool's output (kustomize), whose own text has no repository lines, built from
 * `source`, a parsed repository object. Its fields are then found in `source`'s file, but only where the
 * value there is still the value kustomize wrote (a patch that changed a field has no line in the base).
 */
export function linkPositions(value: object, source: object | undefined): void {
  sources.delete(value);
  if (source === undefined) links.delete(value);
  else links.set(value, source);
}

function child(node: Node, seg: string): Node | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key: unknown = pair.key;
      const name = isScalar(key) ? String(key.value) : key;
      // The key's node is where the field is written; a value-less key (`privileged:`) still has one.
      if (name === seg) return (pair.value ?? pair.key) as Node | undefined;
    }
    return undefined;
  }
  if (isSeq(node)) {
    const i = Number(seg);
    const item: unknown = Number.isInteger(i) ? node.items[i] : undefined;
    return item as Node | undefined;
  }
  return undefined;
}

function keyNode(node: Node, seg: string): Node | undefined {
  if (!isMap(node)) return undefined;
  const pair = node.items.find((p) => {
    const key: unknown = p.key;
    return (isScalar(key) ? String(key.value) : key) === seg;
  });
  return pair?.key as Node | undefined;
}

/** The value at `segs` of plain data, and how many segments of it exist. */
function walk(v: unknown, segs: readonly string[]): { depth: number; value: unknown } {
  let cur = v;
  let depth = 0;
  for (const k of segs) {
    const next: unknown = Array.isArray(cur)
      ? cur[Number(k)]
      : typeof cur === "object" && cur !== null
        ? (cur as Record<string, unknown>)[k]
        : undefined;
    if (next === undefined) break;
    cur = next;
    depth++;
  }
  return { depth, value: cur };
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && same(ra[k], rb[k]));
}

/**
 * The 1-based line where the field at `pointer` of `value` is written in `file`, or of its deepest written
 * ancestor when the field itself is absent (a missing allowPrivilegeEscalation points at the container's
 * securityContext). Undefined when the object's source positions are not known for `file`: helm output
 * (template origin), and kustomize output whose field differs from the base file's (changed by a patch).
 */
export function lineOfField(value: object, file: string, pointer: string): number | undefined {
  const linked = links.get(value);
  if (linked !== undefined) {
    // Point into the base file only at what the base file itself says.
    const segs = pointerSegments(pointer);
    const out = walk(value, segs);
    const base = walk(linked, segs.slice(0, out.depth));
    if (base.depth !== out.depth || !same(base.value, out.value)) return undefined;
    return lineIn(linked, file, segs.slice(0, out.depth));
  }
  return lineIn(value, file, pointerSegments(pointer));
}

function lineIn(value: object, file: string, segs: readonly string[]): number | undefined {
  const src = sources.get(value);
  if (src?.file !== file) return undefined;
  let node: Node = src.node;
  let at: Node = node;
  for (const seg of segs) {
    // Aliases are followed (their expansion was bounded when the document was converted).
    const next = child(node, seg);
    const resolved = isAlias(next) ? (next.resolve(src.doc) as Node | undefined) : next;
    if (resolved === undefined || next === undefined) break;
    // A scalar's line is its key's line; a block mapping or sequence also starts on the line after its key,
    // and the key is what a reader looks for.
    at = keyNode(node, seg) ?? next;
    node = resolved;
  }
  const offset = at.range?.[0];
  return offset === undefined ? undefined : src.lineCounter.linePos(offset).line;
}
