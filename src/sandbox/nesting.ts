// The nesting limit of request bodies, checked before a body is parsed (JSON, YAML) or right after
// (protobuf, YAML block nesting), so a hostile body is never stored to break every later list, watch and
// snapshot that must serialise it. The checks are iterative and stop at the first level too deep.
import { Lexer } from "yaml";
import { errors } from "./errors.js";
import type { Json } from "./fieldset.js";

/**
 * kube-apiserver refuses JSON nested deeper than 10000 levels (Go's encoding/json maxNestingDepth, kept
 * by sigs.k8s.io/json; yaml.v3 has the same). The sandbox is stricter: V8's JSON.stringify overflows its
 * stack near 5000 levels of arrays, and the sandbox serialises every stored object, so it refuses bodies
 * deeper than 2000 levels. No real manifest comes near either.
 */
export const KUBE_MAX_NESTING = 10000;
export const MAX_NESTING = 2000;

const tooDeep = (where: string): Error =>
  errors.badRequest(
    `the request body is nested too deeply: exceeded max depth of ${MAX_NESTING} nested objects and arrays ${where} (kube-apiserver's own limit is ${KUBE_MAX_NESTING})`,
  );

/**
 * Scans JSON text before it is parsed: the depth of `{`/`[` outside strings. Malformed text is left to
 * the parser; only depth is judged here.
 */
export function checkJsonTextNesting(body: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > MAX_NESTING) throw tooDeep(`(at byte offset ${i})`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** Scans YAML tokens before the document is composed: the depth of flow collections (`[`, `{`). */
export function checkYamlTextNesting(body: string): void {
  let depth = 0;
  for (const token of new Lexer().lex(body)) {
    if (token === "[" || token === "{") {
      depth++;
      if (depth > MAX_NESTING) throw tooDeep("(in a YAML flow collection)");
    } else if (token === "]" || token === "}") depth--;
  }
}

/** Checks a parsed value (from YAML or protobuf) with an explicit stack. */
export function checkValueNesting(value: Json): void {
  const stack: [Json, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== "object") continue;
    if (depth > MAX_NESTING) throw tooDeep("(in the decoded document)");
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
}
