// Reseals every SealedSecret in a YAML file's text, changing only the encryptedData values that move to
// the newest key: comments, order and the other documents stay as they were, so the diff in git shows
// exactly the values that were re-encrypted.
import { LineCounter, parseAllDocuments } from "yaml";
import type { SealingKeyRing } from "./keys.js";
import { resealSecret } from "./reseal.js";
import { isSealedSecretLike } from "./sealed-secret.js";
import { describeObject, fail, SecretsErrorCode, type SecretsResult } from "./types.js";
import { MAX_INPUT_BYTES, secretsYamlOptions, yamlProblem } from "./yaml-input.js";

export interface FileResealOutcome {
  /** The file's new text (identical to the input when nothing changed). */
  text: string;
  objects: { object: string; resealed: string[]; unchanged: string[] }[];
}

export function resealYamlText(
  text: string,
  source: string,
  keys: SealingKeyRing,
  options: { namespace?: string } = {},
): SecretsResult<FileResealOutcome> {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) {
    return fail(SecretsErrorCode.Malformed, `${source}: input is larger than ${MAX_INPUT_BYTES} bytes`);
  }
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, secretsYamlOptions(lineCounter));
  const list = Array.isArray(documents) ? documents : [documents];
  const objects: FileResealOutcome["objects"] = [];
  let changed = false;
  for (const doc of list) {
    const problem = yamlProblem(doc, source, lineCounter);
    if (problem !== undefined) return problem;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 0 });
    } catch {
      return fail(SecretsErrorCode.Malformed, `${source}: YAML aliases are not allowed`);
    }
    if (!isSealedSecretLike(value)) continue;
    const outcome = resealSecret(value as Record<string, unknown>, keys, options);
    if (!outcome.ok) return { ok: false, code: outcome.code, message: `${source}: ${outcome.message}` };
    for (const key of outcome.resealed) {
      doc.setIn(["spec", "encryptedData", key], outcome.sealed.spec.encryptedData[key]);
      changed = true;
    }
    objects.push({
      object: describeObject("SealedSecret", outcome.sealed.metadata),
      resealed: outcome.resealed,
      unchanged: outcome.unchanged,
    });
  }
  return {
    ok: true,
    text: changed ? list.map((doc) => doc.toString({ lineWidth: 0 })).join("") : text,
    objects,
  };
}
