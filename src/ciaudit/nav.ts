// Small readers over the yaml package's nodes, so rules can walk a workflow and still say where each value
// is written. CI files are untrusted input: every reader accepts any node and returns undefined for a shape
// it does not expect, never throws.
import { isMap, isPair, isScalar, isSeq, type Node, type Pair } from "yaml";
import type { CiFile, Position } from "./types.js";

export type YNode = Node | null | undefined;

export function pos(file: CiFile, node: YNode | Pair): Position {
  const target = isPair(node) ? (node.key as YNode) : node;
  const offset = target?.range?.[0] ?? 0;
  const { line, col } = file.lineCounter.linePos(offset);
  return { line, column: col };
}

/** The value of `key` in a mapping. */
export function get(node: YNode, key: string): YNode {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.value as YNode;
  }
  return undefined;
}

/** The pair for `key` in a mapping (for the position of the key itself). */
export function pairOf(node: YNode, key: string): Pair | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair;
  }
  return undefined;
}

export function entries(node: YNode): { key: string; pair: Pair; value: YNode }[] {
  if (!isMap(node)) return [];
  const out: { key: string; pair: Pair; value: YNode }[] = [];
  for (const pair of node.items) {
    if (isScalar(pair.key)) out.push({ key: String(pair.key.value), pair: pair, value: pair.value as YNode });
  }
  return out;
}

export function items(node: YNode): YNode[] {
  return isSeq(node) ? (node.items as YNode[]) : [];
}

/** A scalar's value as text (numbers and booleans too); undefined for anything else. */
export function str(node: YNode): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  const v = node.value;
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}

/** A scalar or a list of scalars, as the strings with their nodes (`runs-on: x` or `runs-on: [x, y]`). */
export function strings(node: YNode): { value: string; node: YNode }[] {
  const one = str(node);
  if (one !== undefined) return [{ value: one, node }];
  return items(node).flatMap((n) => {
    const s = str(n);
    return s === undefined ? [] : [{ value: s, node: n }];
  });
}

/**
 * Where `needle` starts inside a scalar's source text: the line of the offending command in a multi-line
 * `run: |` block rather than the line of `run:`. Falls back to the scalar's start when the text is folded
 * or escaped so that the needle is not found verbatim.
 */
export function posIn(file: CiFile, node: YNode, needle: string): Position {
  const range = node?.range;
  if (range !== undefined && range !== null && needle.length > 0) {
    const at = file.text.slice(range[0], range[1]).indexOf(needle);
    if (at >= 0) {
      const { line, col } = file.lineCounter.linePos(range[0] + at);
      return { line, column: col };
    }
  }
  return pos(file, node);
}
