// Parses attacker-controlled YAML/JSON text into Kubernetes objects with their file:line origin, under the
// limits of RENDER_LIMITS: document count and the silent changes of meaning compose.ts refuses, alias
// expansion (the `yaml` library's maxAliasCount), and a document that is not a Kubernetes object is an
// error naming file and line.
import { isMap } from "yaml";
import { composeDocuments, documentProblems } from "./compose.js";
import { recordPositions } from "./positions.js";
import { RenderErrorCode, renderError, type Manifest, type RenderError, type RenderLimits } from "./types.js";
import { isRecord } from "../json/record.js";
export { isRecord } from "../json/record.js";

export interface ParseResult {
  readonly manifests: Manifest[];
  readonly errors: RenderError[];
}

/** Parses one file's text. `file` is repository-relative and is only used for origins and messages. */
export function parseManifests(text: string, file: string, limits: RenderLimits): ParseResult {
  const errors: RenderError[] = [];
  const manifests: Manifest[] = [];
  const { docs, lineCounter, tooMany } = composeDocuments(text, limits.maxDocumentsPerFile);
  if (tooMany) {
    errors.push(
      renderError(
        RenderErrorCode.TooManyDocuments,
        `${file}: more than ${limits.maxDocumentsPerFile} YAML documents; split the file`,
        { file },
      ),
    );
    return { manifests, errors };
  }
  for (const doc of docs) {
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    const problems = documentProblems(doc, lineCounter, file);
    if (problems.length > 0) {
      for (const p of problems) errors.push(p);
      continue;
    }
    if (doc.contents === null) continue; // an empty document, e.g. a trailing `---`
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      // The yaml library throws a ReferenceError when alias expansion passes maxAliasCount.
      const msg = err instanceof Error ? err.message : "";
      const alias = /alias/i.test(msg);
      errors.push(
        renderError(
          alias ? RenderErrorCode.AliasLimit : RenderErrorCode.Syntax,
          alias
            ? `${file}:${line}: YAML aliases expand past the limit of ${limits.maxAliasCount} (alias bomb); remove the aliases`
            : `${file}:${line}: the document cannot be converted to data; fix the YAML`,
          { file, line },
        ),
      );
      continue;
    }
    if (value === null || value === undefined) continue; // only comments, or an empty document
    if (!isMap(doc.contents) || !isRecord(value)) {
      errors.push(
        renderError(
          RenderErrorCode.NotAnObject,
          `${file}:${line}: the document is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata.name)`,
          { file, line },
        ),
      );
      continue;
    }
    recordPositions(value, file, doc, doc.contents, lineCounter);
    pushObject(value, file, line, manifests, errors);
  }
  return { manifests, errors };
}

function pushObject(
  value: Record<string, unknown>,
  file: string,
  line: number,
  manifests: Manifest[],
  errors: RenderError[],
): void {
  const { apiVersion, kind, metadata } = value;
  // A `v1/List` is how kubectl writes many objects to one JSON document; its items are objects of their own.
  if (kind === "List" && Array.isArray(value["items"])) {
    for (const item of value["items"] as unknown[]) {
      if (isRecord(item)) pushObject(item, file, line, manifests, errors);
      else errors.push(notAnObject(file, line, "a List item is not a mapping"));
    }
    return;
  }
  const name = isRecord(metadata) ? metadata["name"] : undefined;
  const missing = [
    typeof apiVersion === "string" && apiVersion !== "" ? undefined : "apiVersion",
    typeof kind === "string" && kind !== "" ? undefined : "kind",
    typeof name === "string" && name !== "" ? undefined : "metadata.name",
  ].filter((m) => m !== undefined);
  if (
    missing.length > 0 ||
    typeof apiVersion !== "string" ||
    typeof kind !== "string" ||
    typeof name !== "string"
  ) {
    const generateName = isRecord(metadata) ? metadata["generateName"] : undefined;
    if (missing.length === 1 && typeof generateName === "string" && typeof kind === "string") {
      errors.push(
        renderError(
          RenderErrorCode.GenerateName,
          `${file}:${line}: ${kind} ${generateName}* has metadata.generateName and no metadata.name; gitward ` +
            "applies and prunes objects by name, and a generated name would make a new object on every " +
            "reconcile: give it a fixed metadata.name",
          { file, line },
        ),
      );
      return;
    }
    errors.push(notAnObject(file, line, `missing ${missing.join(", ")}`));
    return;
  }
  const ns = isRecord(metadata) ? metadata["namespace"] : undefined;
  manifests.push({
    apiVersion,
    kind,
    name,
    ...(typeof ns === "string" && ns !== "" ? { namespace: ns } : {}),
    object: value,
    origin: { file, line },
  });
}

function notAnObject(file: string, line: number, why: string): RenderError {
  return renderError(
    RenderErrorCode.NotAnObject,
    `${file}:${line}: the document is not a Kubernetes object (${why}); every document needs apiVersion, kind and metadata.name`,
    { file, line },
  );
}

/**
 * Parses one YAML document of configuration (a kustomization, Chart.yaml) under the same limits, without
 * asking it to be a Kubernetes object. Returns the data or one coded error.
 */
export function parseYamlData(
  text: string,
  file: string,
  limits: RenderLimits,
): { ok: true; value: unknown } | { ok: false; error: RenderError } {
  // Only the first document is configuration; reading stops there.
  const { docs, lineCounter } = composeDocuments(text, 1);
  const doc = docs[0];
  if (doc === undefined) return { ok: true, value: null };
  const problem = documentProblems(doc, lineCounter, file)[0];
  if (problem !== undefined) return { ok: false, error: problem };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: limits.maxAliasCount }) as unknown };
  } catch {
    return {
      ok: false,
      error: renderError(
        RenderErrorCode.AliasLimit,
        `${file}: YAML aliases expand past the limit of ${limits.maxAliasCount} (alias bomb); remove the aliases`,
        { file },
      ),
    };
  }
}
