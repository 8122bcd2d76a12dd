// Remembers where in its source text each parsed object's fields were written, so a finding can name the
// line of the offending field (spec.template.spec.containers[0].securityContext.privileged), not just the
// line where the object starts. Kept beside the objects (a WeakMap keyed by the parsed value) so that the
// Manifest type and every renderer stay as they are; the YAML nodes are walked only when a finding asks.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

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

/** Drops what is known of `value`'s positions: its text was a tool's output, not a repository file. */
export function forgetPositions(value: object): void {
  sources.delete(value);
}

/** Splits a JSON pointer (RFC 6901) into its unescaped segments. */
function segments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
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

/**
 * The 1-based line where the field at `pointer` of `value` is written in `file`, or of its deepest written
 * ancestor when the field itself is absent (a missing allowPrivilegeEscalation points at the container's
 * securityContext). Undefined when the object's source positions are not known for `file` (kustomize and
 * helm output carry the origin of a base file or template instead).
 */
export function lineOfField(value: object, file: string, pointer: string): number | undefined {
  const src = sources.get(value);
  if (src?.file !== file) return undefined;
  let node: Node = src.node;
  let at: Node = node;
  for (const seg of segments(pointer)) {
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
