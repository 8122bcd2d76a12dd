// Turns attacker-controlled YAML text into parsed documents the way the yaml library's own parser sees
// them (so `...` ends a document as surely as `---` does), stopping at the document limit, and refuses
// YAML whose meaning would silently change on the way to JSON: keys that collapse into one JSON key,
// YAML 1.1 and its collection tags, and numbers JSON cannot hold (not finite, or integers past 2^53-1).
import {
  Composer,
  isCollection,
  isScalar,
  LineCounter,
  Parser,
  visit,
  type Document,
  type Node as YamlNode,
} from "yaml";
import { RenderErrorCode, renderError, type RenderError } from "./types.js";

export interface Composed {
  /** The documents read, at most `maxDocs` of them. */
  readonly docs: Document.Parsed[];
  readonly lineCounter: LineCounter;
  /** True when the text holds more than `maxDocs` documents: reading stopped there. */
  readonly tooMany: boolean;
}

/**
 * Two keys are one key when toJS would give them the same JSON property name: `1`, `"1"` and `0x1` all
 * become "1"; `null`, `~` and `""` all become "". The yaml library's default compares typed values, so
 * `1` and `"1"` would pass as different keys and the last one would silently win.
 */
function sameJsonKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isScalar(a) || !isScalar(b)) return false;
  const ka = jsonKey(a.value);
  return ka !== undefined && ka === jsonKey(b.value);
}

/** The property name toJS gives a scalar key; undefined for values that are not plain scalars. */
function jsonKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return undefined;
}

// logLevel "error": the library's own warnings (process.emitWarning) would print to the user's terminal;
// what they warn about is refused below as a coded error instead.
// Exported so every reader of outside YAML (config, secrets input) holds keys to the same rule.
export const COMPOSE_OPTIONS = { uniqueKeys: sameJsonKey, prettyErrors: false, logLevel: "error" } as const;

/** Reads documents one by one and stops after `maxDocs`, so a file of a million tiny ones costs little. */
export function composeDocuments(text: string, maxDocs: number): Composed {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer(COMPOSE_OPTIONS);
  const docs: Document.Parsed[] = [];
  for (const token of parser.parse(text)) {
    for (const doc of composer.next(token)) {
      if (docs.length >= maxDocs) return { docs, lineCounter, tooMany: true };
      docs.push(doc);
    }
  }
  for (const doc of composer.end()) {
    if (docs.length >= maxDocs) return { docs, lineCounter, tooMany: true };
    docs.push(doc);
  }
  return { docs, lineCounter, tooMany: false };
}

/** An integer as written in YAML 1.2 (decimal, hex or octal): beyond 2^53-1 it silently loses digits. */
const INTEGER_LITERAL = /^[-+]?(?:[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$/;

/** YAML 1.1 collection tags: toJS turns them into Map/Set objects that JSON (and policy) see as `{}`. */
const REFUSED_TAGS = new Set(["omap", "pairs", "set"].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * Every reason the document must not be used: the yaml library's errors (syntax, duplicate keys) and the
 * silent changes of meaning this module refuses. Each error names `file` and the line.
 */
export function documentProblems(
  doc: Document.Parsed,
  lineCounter: LineCounter,
  file: string,
): RenderError[] {
  const at = (offset: number): number => lineCounter.linePos(offset).line;
  const problems: RenderError[] = doc.errors.map((e) => {
    const line = at(e.pos[0]);
    const dup = e.code === "DUPLICATE_KEY";
    return renderError(
      dup ? RenderErrorCode.DuplicateKey : RenderErrorCode.Syntax,
      dup
        ? `${file}:${line}: duplicate key in a mapping (keys such as 1 and "1", or true and "true", are the same ` +
            "key in JSON); remove one of the two entries"
        : `${file}:${line}: invalid YAML (${e.code}); fix the syntax`,
      { file, line },
    );
  });
  if (problems.length > 0) return problems;
  return meaningProblems(doc).map((p) => unsupported(file, at(p.offset), p.why));
}

/** A change of meaning found in a document: where it starts (offset into the text) and why it is refused. */
export interface MeaningProblem {
  readonly offset: number;
  readonly why: string;
}

/**
 * The silent changes of meaning on the way to JSON (YAML 1.1, collection tags and keys, numbers JSON
 * cannot hold), for a document without syntax errors. Callers add their own file and position format.
 */
export function meaningProblems(doc: Document.Parsed): MeaningProblem[] {
  const problems: MeaningProblem[] = [];
  const push = (offset: number, why: string): void => {
    problems.push({ offset, why });
  };
  if (doc.directives.yaml.explicit && doc.directives.yaml.version === "1.1") {
    push(
      doc.range[0],
      "the %YAML 1.1 directive changes what values mean (yes/no booleans, !!omap, !!set, merge keys); " +
        "remove it: gitward reads YAML 1.2",
    );
    return problems;
  }
  visit(doc, {
    Pair: (_key, pair) => {
      // A mapping or list used as a key becomes its string form in JSON ("[object Object]" or the YAML
      // text): the key the policy sees is not the one written.
      if (isCollection(pair.key)) {
        push(
          pair.key.range?.[0] ?? 0,
          "a mapping key is itself a mapping or list, which JSON cannot hold (an unrendered template?); " +
            "write a plain scalar key",
        );
        return visit.SKIP; // one error for the key, not one more for each collection nested in it
      }
      return undefined;
    },
    Node: (_key, node: YamlNode) => {
      const offset = node.range?.[0] ?? 0;
      if (isCollection(node) && node.tag !== undefined && REFUSED_TAGS.has(node.tag)) {
        push(
          offset,
          `the YAML 1.1 tag !!${node.tag.slice(node.tag.lastIndexOf(":") + 1)} hides its content from JSON ` +
            "and from policy; write a plain mapping or list",
        );
        return visit.SKIP;
      }
      if (isScalar(node) && typeof node.value === "number" && !Number.isFinite(node.value)) {
        const src = node.source ?? String(node.value);
        push(offset, `the number ${src} is not finite and would become null in JSON; write a finite number`);
      }
      if (
        isScalar(node) &&
        typeof node.value === "number" &&
        !Number.isSafeInteger(node.value) &&
        INTEGER_LITERAL.test(node.source ?? "")
      ) {
        push(
          offset,
          `the integer ${node.source ?? ""} is too large to keep exactly (JSON numbers hold 2^53-1 at most); ` +
            "quote it if it is an identifier",
        );
      }
      return undefined;
    },
  });
  return problems;
}

function unsupported(file: string, line: number, why: string): RenderError {
  return renderError(RenderErrorCode.UnsupportedYaml, `${file}:${line}: ${why}`, { file, line });
}
