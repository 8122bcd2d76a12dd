// Reads YAML or JSON documents that may hold secret values (a Secret to seal, a key file). Parser errors
// are reduced to their code and position, because the yaml library quotes the offending source line in
// its messages and that line may be a plaintext value or a private key.
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { COMPOSE_OPTIONS, meaningProblems } from "../render/compose.js";
import { fail, SecretsErrorCode, type SecretsFailure, type SecretsResult } from "./types.js";

/** Input larger than this is refused before parsing: no Secret or key file comes near it. */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/**
 * The rules of repository YAML (src/render/compose.ts): keys that become one JSON key (1 and "1") are
 * duplicates, so a Secret cannot carry two values for one key of which only the last is sealed.
 */
export function secretsYamlOptions(lineCounter: LineCounter) {
  return { ...COMPOSE_OPTIONS, strict: true, lineCounter } as const;
}

export function parseDocuments(text: string, source: string): SecretsResult<{ documents: unknown[] }> {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) {
    return fail(SecretsErrorCode.Malformed, `${source}: input is larger than ${MAX_INPUT_BYTES} bytes`);
  }
  // Aliases are refused outright (maxAliasCount 0): a Secret has no use for them, and it closes alias bombs.
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, secretsYamlOptions(lineCounter));
  const documents: unknown[] = [];
  for (const doc of Array.isArray(parsed) ? parsed : [parsed]) {
    const problem = yamlProblem(doc, source, lineCounter);
    if (problem !== undefined) return problem;
    if (doc.contents === null) continue;
    try {
      documents.push(doc.toJS({ maxAliasCount: 0 }));
    } catch {
      return fail(SecretsErrorCode.Malformed, `${source}: YAML aliases are not allowed in secrets input`);
    }
  }
  return { ok: true, documents };
}

/**
 * The first syntax error of a parsed document, as position and code only (never the library's message),
 * or else the first silent change of meaning (YAML 1.1, !!set, .nan...) that compose.ts refuses.
 */
export function yamlProblem(
  doc: Document.Parsed,
  source: string,
  lineCounter: LineCounter,
): SecretsFailure | undefined {
  const at = (offset: number): string => `${source}:${lineCounter.linePos(offset).line}`;
  const problem = doc.errors[0];
  if (problem === undefined) {
    const meaning = meaningProblems(doc)[0];
    if (meaning === undefined) return undefined;
    // The reason names the construct (tag, directive) and quotes at most a number's own source text
    // (.nan, a 20-digit integer), never a string value of the Secret.
    return fail(SecretsErrorCode.Malformed, `${at(meaning.offset)}: ${meaning.why}`);
  }
  const where = at(problem.pos[0]);
  const why = problem.code === "DUPLICATE_KEY" ? ' (keys such as 1 and "1" are one key in JSON)' : "";
  return fail(SecretsErrorCode.Malformed, `${where}: not valid YAML (${problem.code})${why}; fix the syntax`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A map of string to string, or undefined when `value` is anything else. */
export function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") return undefined;
    out[key] = entry;
  }
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u;

/** Strict standard base64 (as Go's StdEncoding): Buffer.from would silently skip bad characters. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/gu, "");
  return BASE64.test(compact) ? Buffer.from(compact, "base64") : undefined;
}
