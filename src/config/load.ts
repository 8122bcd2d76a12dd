// Reads gitward.yaml and trust policy files: multi-document YAML parsed with positions (eemeli/yaml), each
// document validated by validate.ts, cross-document rules checked (names unique, Applications name an
// existing TrustPolicy). Every problem becomes a ConfigError naming file:line:column and what is expected.
import { readFile, stat } from "node:fs/promises";
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node as YamlNode,
} from "yaml";
import { COMPOSE_OPTIONS, meaningProblems } from "../render/compose.js";
import { decodeUtf8 } from "../render/files.js";
import { ConfigError, ConfigErrorCode, type ConfigProblem } from "./errors.js";
import type { AlertSink, Application, TrustPolicy } from "./schema.js";
import { objectLocator, validateObject, type Locator, type ValuePath } from "./validate.js";

export interface ConfigSet {
  trustPolicies: TrustPolicy[];
  applications: Application[];
  alertSinks: AlertSink[];
}

export interface ParseOptions {
  /** Largest file accepted, in bytes (default 4 MiB): bigger input is refused before parsing. */
  maxBytes?: number;
  /** Most alias expansions allowed while building values (default 100); more is an alias bomb. */
  maxAliasCount?: number;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_ALIASES = 100;

/** Parses and validates the text of a gitward.yaml; throws ConfigError on any problem. */
export function parseConfig(text: string, fileName: string, options: ParseOptions = {}): ConfigSet {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (Buffer.byteLength(text) > maxBytes) {
    throw new ConfigError(`file is larger than ${maxBytes} bytes; refusing to parse it`, fileName, {
      code: ConfigErrorCode.Unreadable,
    });
  }
  const lineCounter = new LineCounter();
  // The same key rule as repository YAML (src/render/compose.ts): keys that become one JSON key, such as
  // 1 and "1", are duplicates, so a TrustPolicy cannot hide a key behind a look-alike.
  const parsed = parseAllDocuments(text, { ...COMPOSE_OPTIONS, lineCounter, strict: true, merge: false });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };
  // An empty stream (no documents at all) is an empty configuration.
  const docs = Array.isArray(parsed) ? parsed : [];

  const problems: ConfigProblem[] = [];
  const result: ConfigSet = { trustPolicies: [], applications: [], alertSinks: [] };
  const origins = new Map<object, Locator>();
  // Names of TrustPolicy documents that failed validation: references to them are not reported again.
  const invalidPolicies = new Set<string>();
  // After a YAML error a whole document is unknown, so missing references would only be noise.
  let unreadableDocument = false;

  for (const doc of docs) {
    const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => ({
      code: ConfigErrorCode.Yaml,
      where: where(e.pos[0]),
      message: yamlMessage(e.code, e.message),
    }));
    if (yamlProblems.length === 0) {
      // YAML 1.1, !!omap/!!pairs/!!set, collection keys, numbers JSON cannot hold: refused, not changed.
      for (const p of meaningProblems(doc)) {
        yamlProblems.push({ code: ConfigErrorCode.Yaml, where: where(p.offset), message: p.why });
      }
    }
    if (yamlProblems.length > 0) {
      problems.push(...yamlProblems);
      unreadableDocument = true;
      continue;
    }
    // An empty document, e.g. after a trailing "---", holds a null scalar: nothing to configure.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: options.maxAliasCount ?? DEFAULT_MAX_ALIASES });
    } catch (err) {
      const offset = doc.contents.range[0];
      const why = err instanceof Error ? err.message : String(err);
      problems.push({
        code: ConfigErrorCode.Yaml,
        where: where(offset),
        message: `too many alias expansions (${why}); aliases are limited to guard against alias bombs`,
      });
      continue;
    }
    const locate: Locator = (path, at) => where(offsetOf(doc, path, at));
    const checked = validateObject(value, locate);
    if (!checked.ok) {
      problems.push(...checked.problems);
      const name = policyName(value);
      if (name !== undefined) invalidPolicies.add(name);
      continue;
    }
    origins.set(checked.value.object, locate);
    switch (checked.value.kind) {
      case "TrustPolicy":
        result.trustPolicies.push(checked.value.object);
        break;
      case "Application":
        result.applications.push(checked.value.object);
        break;
      case "AlertSink":
        result.alertSinks.push(checked.value.object);
        break;
    }
  }

  problems.push(...crossDocumentProblems(result, origins, invalidPolicies, unreadableDocument));
  const [first, ...rest] = problems.sort((a, b) => sortKey(a.where) - sortKey(b.where));
  if (first !== undefined) throw ConfigError.fromProblems([first, ...rest]);
  return result;
}

/** Reads and validates gitward.yaml (TrustPolicy and Application documents). */
export async function loadConfig(path: string, options: ParseOptions = {}): Promise<ConfigSet> {
  return parseConfig(await readConfigFile(path, options), path, options);
}

/** Reads the one TrustPolicy of a file (a gitward.yaml with Applications and AlertSinks too is fine). */
export async function loadTrustPolicy(path: string, options: ParseOptions = {}): Promise<TrustPolicy> {
  return parseTrustPolicy(await readConfigFile(path, options), path, options);
}

/**
 * The one TrustPolicy in text that may hold other gitward documents (so `--trust gitward.yaml` works);
 * those are still validated, since a broken file should not half-work. None or several is an error:
 * picking one of two would let document order decide who is trusted.
 */
export function parseTrustPolicy(text: string, fileName: string, options: ParseOptions = {}): TrustPolicy {
  const set = parseConfig(text, fileName, options);
  const [policy, ...others] = set.trustPolicies;
  if (policy === undefined || others.length > 0) {
    const names = set.trustPolicies.map((tp) => tp.metadata.name).join(", ");
    throw new ConfigError(
      `expected exactly one TrustPolicy document, found ${set.trustPolicies.length}` +
        (names === "" ? "" : ` (${names}); keep one per file, or pass the file that holds the one to use`),
      fileName,
      { code: ConfigErrorCode.Schema },
    );
  }
  return policy;
}

/** Validates an object read from the cluster (a CRD instance); `label` names it in errors. */
export function validateClusterObject(value: unknown, label: string): TrustPolicy | Application | AlertSink {
  const checked = validateObject(stripServerFields(value), objectLocator(label));
  if (!checked.ok) throw ConfigError.fromProblems(checked.problems);
  return checked.value.object;
}

/** Fields the API server adds to every object (status, uid, managedFields...) are not configuration. */
function stripServerFields(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const { status: _status, ...rest } = value as Record<string, unknown>;
  const meta = rest["metadata"];
  if (typeof meta === "object" && meta !== null && !Array.isArray(meta)) {
    const m = meta as Record<string, unknown>;
    const kept: Record<string, unknown> = {};
    for (const key of ["name", "namespace", "labels", "annotations"]) {
      if (m[key] !== undefined) kept[key] = m[key];
    }
    rest["metadata"] = kept;
  }
  return rest;
}

async function readConfigFile(path: string, options: ParseOptions): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error("not a regular file");
    if (info.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    bytes = await readFile(path);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^[A-Z]+: /, "") : String(err);
    throw new ConfigError(`cannot read the configuration file: ${why}`, path, {
      code: ConfigErrorCode.Unreadable,
    });
  }
  return strictUtf8Text(bytes, path);
}

/** Strictly: a lenient decoder would turn bytes that are not UTF-8 into U+FFFD unseen. */
function strictUtf8Text(bytes: Buffer, path: string): string {
  const decoded = decodeUtf8(bytes);
  if (decoded.ok) return decoded.text;
  throw new ConfigError("the file is not valid UTF-8; save it as UTF-8", `${path}:${decoded.line}`, {
    code: ConfigErrorCode.Unreadable,
  });
}

/**
 * Reads a file of the configuration side that is not YAML config (a custom policy file) as strict UTF-8:
 * a ConfigError UNREADABLE naming the file, or its line when a byte sequence is not UTF-8.
 */
export async function readConfigText(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(`cannot read the ${what} (${typeof code === "string" ? code : "error"})`, path, {
      code: ConfigErrorCode.Unreadable,
    });
  }
  return strictUtf8Text(bytes, path);
}

function policyName(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { kind, metadata } = value as { kind?: unknown; metadata?: { name?: unknown } };
  return kind === "TrustPolicy" && typeof metadata?.name === "string" ? metadata.name : undefined;
}

function crossDocumentProblems(
  set: ConfigSet,
  origins: Map<object, Locator>,
  invalidPolicies: ReadonlySet<string>,
  skipReferences: boolean,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const locate = (obj: object, path: ValuePath, at: "key" | "value" = "value"): string =>
    (origins.get(obj) ?? objectLocator("config"))(path, at);

  // Names are unique per kind: TrustPolicy is cluster-scoped, the others per namespace.
  const kinds: [string, readonly { metadata: { name: string; namespace?: string } }[]][] = [
    ["TrustPolicy", set.trustPolicies],
    ["Application", set.applications],
    ["AlertSink", set.alertSinks],
  ];
  for (const [kind, objects] of kinds) {
    const seen = new Set<string>();
    for (const obj of objects) {
      const id =
        obj.metadata.namespace === undefined
          ? JSON.stringify(obj.metadata.name)
          : `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (seen.has(id)) {
        problems.push({
          code: ConfigErrorCode.DuplicateName,
          where: locate(obj, ["metadata", "name"]),
          message: `${kind} ${id} is defined twice`,
        });
      }
      seen.add(id);
    }
  }
  const policies = set.trustPolicies.map((tp) => tp.metadata.name);
  for (const app of set.applications) {
    const ref = app.spec.trustPolicy;
    const named = set.trustPolicies.find((tp) => tp.metadata.name === ref);
    if (named !== undefined && named.spec.commits === undefined) {
      problems.push({
        code: ConfigErrorCode.UnknownReference,
        where: locate(app, ["spec", "trustPolicy"]),
        message:
          `Application ${app.metadata.namespace}/${app.metadata.name} names TrustPolicy ` +
          `${JSON.stringify(ref)}, which has no spec.commits: add the commit signers to it, or name ` +
          "a TrustPolicy that has them (a policy with only images verifies images only)",
      });
    }
    if (!skipReferences && !policies.includes(ref) && !invalidPolicies.has(ref)) {
      problems.push({
        code: ConfigErrorCode.UnknownReference,
        where: locate(app, ["spec", "trustPolicy"]),
        message:
          `Application ${app.metadata.namespace}/${app.metadata.name} names TrustPolicy ` +
          `${JSON.stringify(ref)}, which is not defined; ` +
          (policies.length > 0 ? `defined: ${policies.join(", ")}` : "add a TrustPolicy document"),
      });
    }
  }
  return problems;
}

function yamlMessage(code: string, message: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key: each key may appear only once in a mapping";
    default:
      return `YAML ${code.toLowerCase().replace(/_/g, " ")}: ${message}`;
  }
}

/** Where a path points in the YAML document: the key of the last step, or its value. */
function offsetOf(doc: Document.Parsed, path: ValuePath, at: "key" | "value"): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, step] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step),
      );
      if (pair === undefined) return offset;
      if (at === "key" && i === path.length - 1) return rangeStart(pair.key) ?? offset;
      next = pair.value;
      offset = rangeStart(next) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof step === "number") {
      next = node.items[step];
      offset = rangeStart(next) ?? offset;
    } else {
      return offset;
    }
    node = next;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== "object" || node === null) return undefined;
  const range = (node as Partial<YamlNode>).range;
  return range?.[0];
}

/** Sort key for problems: locators produce "file:line:col", so order by line and column. */
function sortKey(where: string): number {
  const m = /:([0-9]+):([0-9]+)$/.exec(where);
  return m === null ? Number.MAX_SAFE_INTEGER : Number(m[1]) * 100_000 + Number(m[2]);
}
