// Validates one configuration object (already parsed from YAML or read from the cluster) against the
// schema of its kind, then the rules a schema cannot express (regexes compile, paths stay inside the
// repository, no credentials in URLs...). Returns problems as values; load.ts turns them into a ConfigError.
import { Value } from "@sinclair/typebox/value";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import type { TSchema } from "@sinclair/typebox";
import { ConfigErrorCode, type ConfigProblem } from "./errors.js";
import { intervalProblem } from "./duration.js";
import { compileGlob } from "../match/glob.js";
import { compileUntrustedRegex } from "../match/regex.js";
import { QUERY_CREDENTIAL_HINT, redactUrl, urlCredentialKind } from "../source/url.js";
import { EXPECTED_KEY, KIND_SCHEMAS, type AlertSink, type Application, type TrustPolicy } from "./schema.js";
import { pointerSegments } from "../json/pointer.js";
import { isRecord } from "../json/record.js";

/** A path into the object: property names and array indexes. */
export type ValuePath = readonly (string | number)[];

/**
 * Names the place of a path for messages: "file:line:column" for YAML, "Application ns/name spec.x" for
 * objects read from the cluster. `at: "key"` points at the key of a mapping entry rather than its value.
 */
export type Locator = (path: ValuePath, at: "key" | "value") => string;

export type ConfigObject =
  | { kind: "TrustPolicy"; object: TrustPolicy }
  | { kind: "Application"; object: Application }
  | { kind: "AlertSink"; object: AlertSink };

export type ValidationResult =
  { ok: true; value: ConfigObject } | { ok: false; problems: [ConfigProblem, ...ConfigProblem[]] };

const KINDS = Object.keys(KIND_SCHEMAS);

/** Validates `value` as a TrustPolicy or Application and fills in the defaults. */
export function validateObject(value: unknown, locate: Locator): ValidationResult {
  const problem = (code: ConfigProblem["code"], path: ValuePath, message: string, at: "key" | "value") => ({
    code,
    where: locate(path, at),
    message,
  });
  if (!isRecord(value)) {
    return {
      ok: false,
      problems: [
        problem(
          ConfigErrorCode.Schema,
          [],
          "expected a mapping with apiVersion, kind, metadata and spec",
          "value",
        ),
      ],
    };
  }
  const kind = value["kind"];
  if (kind !== "TrustPolicy" && kind !== "Application" && kind !== "AlertSink") {
    const message =
      kind === undefined
        ? `missing field "kind"; expected one of: ${KINDS.join(", ")}`
        : `unknown kind ${JSON.stringify(kind)}; expected one of: ${KINDS.join(", ")}`;
    return {
      ok: false,
      problems: [problem(ConfigErrorCode.Schema, kind === undefined ? [] : ["kind"], message, "value")],
    };
  }
  const schema = KIND_SCHEMAS[kind];
  const schemaProblems = schemaErrors(schema, value).map((e) => describeError(e, locate));
  if (schemaProblems.length > 0) return { ok: false, problems: schemaProblems as [ConfigProblem] };

  // Value.Default fills the schema defaults (DEFAULTS in schema.ts) into a copy.
  const withDefaults: unknown = Value.Default(schema, Value.Clone(value));
  let checked: { problems: ConfigProblem[]; value: ConfigObject };
  switch (kind) {
    case "TrustPolicy": {
      const object = withDefaults as TrustPolicy;
      checked = { problems: checkTrustPolicy(object, locate), value: { kind, object } };
      break;
    }
    case "Application": {
      const object = withDefaults as Application;
      checked = { problems: checkApplication(object, locate), value: { kind, object } };
      break;
    }
    case "AlertSink":
      // The schema says it all: the URL and secret are references, resolved where they are used.
      checked = { problems: [], value: { kind, object: withDefaults as AlertSink } };
      break;
  }
  const [first, ...rest] = checked.problems;
  if (first !== undefined) return { ok: false, problems: [first, ...rest] };
  return { ok: true, value: checked.value };
}

/** Schema errors, one per path (a missing field also fails its type check: report it once). */
function schemaErrors(schema: TSchema, value: unknown): ValueError[] {
  const seen = new Set<string>();
  const out: ValueError[] = [];
  for (const error of Value.Errors(schema, value)) {
    if ([...seen].some((p) => error.path === p || error.path.startsWith(p + "/"))) continue;
    seen.add(error.path);
    out.push(error);
    if (out.length >= 50) break;
  }
  return out;
}

function pointerToPath(pointer: string): (string | number)[] {
  return pointerSegments(pointer).map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** What a schema wants, in words. */
export function describeSchema(schema: unknown): string {
  if (!isRecord(schema)) return "a value";
  const phrase = schema[EXPECTED_KEY];
  if (typeof phrase === "string") return phrase;
  if ("const" in schema) return JSON.stringify(schema["const"]);
  const anyOf = schema["anyOf"];
  if (Array.isArray(anyOf)) {
    if (anyOf.every((s) => isRecord(s) && "const" in s)) {
      return `one of: ${anyOf.map((s) => JSON.stringify((s as Record<string, unknown>)["const"])).join(", ")}`;
    }
    return anyOf.map(describeSchema).join(" or ");
  }
  switch (schema["type"]) {
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "integer":
      return typeof schema["minimum"] === "number"
        ? `a whole number of at least ${schema["minimum"]}`
        : "a whole number";
    case "number":
      return "a number";
    case "array":
      return `a list of ${describeSchema(schema["items"]).replace(/^an? /, "")}s`.replace(/ss$/, "s");
    case "object": {
      const props = isRecord(schema["properties"]) ? Object.keys(schema["properties"]) : [];
      return props.length > 0 ? `a mapping with fields: ${props.join(", ")}` : "a mapping";
    }
    default:
      return "a value";
  }
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    // Echo at most a short prefix, redacted first: a malformed URL may still carry a token, and cutting
    // before redacting could cut the "@" that tells where the token ends.
    const masked = redactUrl(value);
    return `the string ${JSON.stringify(masked.length > 60 ? masked.slice(0, 57) + "..." : masked)}`;
  }
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value;
}

function describeError(error: ValueError, locate: Locator): ConfigProblem {
  const path = pointerToPath(error.path);
  const field = path.at(-1);
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const props = isRecord(error.schema["properties"]) ? Object.keys(error.schema["properties"]) : [];
      return {
        code: ConfigErrorCode.Schema,
        where: locate(path, "key"),
        message: `unknown field ${JSON.stringify(field)}; expected one of: ${props.join(", ")}`,
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return {
        code: ConfigErrorCode.Schema,
        where: locate(path.slice(0, -1), "value"),
        message: `missing required field ${JSON.stringify(field)} (${describeSchema(error.schema)})`,
      };
    case ValueErrorType.ArrayMinItems:
      return {
        code: ConfigErrorCode.Schema,
        where: locate(path, "value"),
        message: `${JSON.stringify(field)} needs at least ${String(error.schema["minItems"])} item(s)`,
      };
    case ValueErrorType.StringMinLength:
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringMaxLength:
      return {
        code: ConfigErrorCode.Schema,
        where: locate(path, "value"),
        message: `${describeValue(error.value)} is not valid for ${JSON.stringify(field)}: expected ${describeSchema(error.schema)}`,
      };
    default: {
      // A string where a mapping belongs is often a secret written inline where a reference was
      // expected (url: "https://hooks.../TOKEN"): say what it is, not what it says.
      const got =
        typeof error.value === "string" && expectsMapping(error.schema)
          ? "a string"
          : describeValue(error.value);
      return {
        code: ConfigErrorCode.Schema,
        where: locate(path, "value"),
        message: `${JSON.stringify(field ?? "document")}: expected ${describeSchema(error.schema)}, got ${got}`,
      };
    }
  }
}

function expectsMapping(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  const anyOf = schema["anyOf"];
  if (Array.isArray(anyOf)) return anyOf.some(expectsMapping);
  return schema["type"] === "object";
}

/** Rules for TrustPolicy beyond the schema. */
function checkTrustPolicy(tp: TrustPolicy, locate: Locator): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (
    code: ConfigProblem["code"],
    path: ValuePath,
    message: string,
    at: "key" | "value" = "value",
  ) => problems.push({ code, where: locate(path, at), message });

  if (tp.metadata.namespace !== undefined) {
    add(
      ConfigErrorCode.Invalid,
      ["metadata", "namespace"],
      "TrustPolicy is cluster-scoped: remove metadata.namespace",
      "key",
    );
  }
  // A TrustPolicy for images only has no commits section; an Application that names it is refused in
  // load.ts (crossDocumentProblems), and the reconcile treats a missing section as "no signer at all".
  const commits = tp.spec.commits;
  if (commits !== undefined) {
    // Patterns from the policy run on text from outside (commit messages, paths, ref names): they must
    // compile for the linear-time engines gitward runs them in, so a refused one fails at load, not later.
    if (commits.message !== undefined) {
      const c = compileUntrustedRegex(commits.message, "spec.commits.message");
      if (!c.ok)
        add(ConfigErrorCode.Invalid, ["spec", "commits", "message"], `the pattern ${c.error.message}`);
    }
    const globAt = (glob: string, path: ValuePath) => {
      const c = compileGlob(glob, path.join("."));
      if (!c.ok) add(ConfigErrorCode.Invalid, path, c.error.message);
    };
    for (const [i, s] of commits.signers.entries())
      for (const [k, p] of s.paths.entries()) globAt(p, ["spec", "commits", "signers", i, "paths", k]);
    for (const [k, r] of (commits.expectedRefs ?? []).entries())
      globAt(r, ["spec", "commits", "expectedRefs", k]);
    duplicateNames(
      commits.signers.map((s) => s.name),
      ["spec", "commits", "signers"],
      "commit signer",
      add,
    );
    commits.signers.forEach((signer, i) => {
      if ((signer.ssh?.length ?? 0) + (signer.openpgp?.length ?? 0) === 0) {
        add(
          ConfigErrorCode.Invalid,
          ["spec", "commits", "signers", i],
          `commit signer ${JSON.stringify(signer.name)} has no key: add an ssh or openpgp public key`,
        );
      }
    });
  }
  const images = tp.spec.images;
  if (images !== undefined) {
    const signers = images.signers ?? [];
    duplicateNames(
      signers.map((s) => s.name),
      ["spec", "images", "signers"],
      "image signer",
      add,
    );
    signers.forEach((signer, i) => {
      if ((signer.cosign === undefined) === (signer.keyless === undefined)) {
        add(
          ConfigErrorCode.Invalid,
          ["spec", "images", "signers", i],
          `image signer ${JSON.stringify(signer.name)} needs exactly one of "cosign" (a public key) or "keyless"`,
        );
      }
    });
    const threshold = images.threshold ?? 1;
    if (signers.length > 0 && threshold > signers.length) {
      add(
        ConfigErrorCode.Invalid,
        ["spec", "images", "threshold"],
        `threshold ${threshold} is more than the ${signers.length} image signer(s) listed: it could never be met`,
      );
    }
    (images.vulnerabilities?.ignore ?? []).forEach((ig, i) => {
      // Date.parse rolls 2027-02-30 over to March: the day must come back unchanged to be real.
      const day = ig.expires?.slice(0, 10);
      const parsed = day === undefined ? Number.NaN : Date.parse(`${day}T00:00:00Z`);
      const real = !Number.isNaN(parsed) && new Date(parsed).toISOString().slice(0, 10) === day;
      if (ig.expires !== undefined && (!real || Number.isNaN(Date.parse(ig.expires)))) {
        add(
          ConfigErrorCode.Invalid,
          ["spec", "images", "vulnerabilities", "ignore", i, "expires"],
          `expires ${JSON.stringify(ig.expires)} is not a real date`,
        );
      }
    });
    (images.registryOptions ?? []).forEach((opt, i) => {
      if (opt.plainHTTP === true && !isLoopbackHost(opt.host)) {
        add(
          ConfigErrorCode.Invalid,
          ["spec", "images", "registryOptions", i, "plainHTTP"],
          `plain HTTP is allowed for loopback registries only, not ${JSON.stringify(opt.host)}: use TLS (and "ca")`,
        );
      }
    });
  }
  return problems;
}

/** Rules for Application beyond the schema. */
function checkApplication(app: Application, locate: Locator): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (code: ConfigProblem["code"], path: ValuePath, message: string) =>
    problems.push({ code, where: locate(path, "value"), message });
  const spec = app.spec;
  const { source, render } = spec;

  const credentials = urlCredentialProblem(source.url);
  if (credentials !== undefined) add(ConfigErrorCode.Invalid, ["spec", "source", "url"], credentials);
  if (source.path !== undefined) {
    const bad = repoPathProblem(source.path);
    if (bad !== undefined) add(ConfigErrorCode.Invalid, ["spec", "source", "path"], bad);
  }
  (render.valuesFiles ?? []).forEach((file, i) => {
    const bad = repoPathProblem(file);
    if (bad !== undefined) add(ConfigErrorCode.Invalid, ["spec", "render", "valuesFiles", i], bad);
  });
  for (const field of ["include", "exclude"] as const) {
    if (render[field] !== undefined && render.type !== "directory") {
      add(
        ConfigErrorCode.Invalid,
        ["spec", "render", field],
        `render.${field} selects files of the directory renderer; ${render.type} reads what its own files name`,
      );
    }
  }
  if (render.releaseName !== undefined && render.type !== "helm") {
    add(
      ConfigErrorCode.Invalid,
      ["spec", "render", "releaseName"],
      "render.releaseName is for render type helm",
    );
  }
  if (spec.interval !== undefined) {
    const bad = intervalProblem(spec.interval);
    if (bad !== undefined) add(ConfigErrorCode.Invalid, ["spec", "interval"], bad);
  }
  return problems;
}

function duplicateNames(
  names: readonly string[],
  listPath: ValuePath,
  what: string,
  add: (code: ConfigProblem["code"], path: ValuePath, message: string) => void,
): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name)) {
      add(
        ConfigErrorCode.DuplicateName,
        [...listPath, i, "name"],
        `${what} ${JSON.stringify(name)} is listed twice`,
      );
    }
    seen.add(name);
  });
}

function isLoopbackHost(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:[0-9]+$/, "");
  return name === "localhost" || name === "::1" || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(name);
}

/**
 * Credentials belong in `secretRef`, never in the URL, which shows up in status, logs and audit records.
 * A user name is fine for ssh ("git@"), but for http(s) a user name is how tokens are usually passed.
 */
const CREDENTIALS_IN_URL =
  "the URL contains credentials: remove them and put them in a Secret named by source.secretRef";

function urlCredentialProblem(url: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    // scp-like "git@host:path" has no password field; "user:secret@host:path" is a password all the same.
    return redactUrl(url) === url ? undefined : CREDENTIALS_IN_URL;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a valid URL: ${redactUrl(url)}`;
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  const credentials = urlCredentialKind(parsed, scheme !== "https" && scheme !== "http");
  if (credentials === "user-info") return CREDENTIALS_IN_URL;
  if (credentials === "query") return `${CREDENTIALS_IN_URL}${QUERY_CREDENTIAL_HINT}`;
  if (credentials === "ambiguous") {
    return `${CREDENTIALS_IN_URL} (an "@" after the host; write %40 if it belongs to the path)`;
  }
  if (!["https", "http", "ssh", "git", "file"].includes(scheme)) {
    return `unsupported URL scheme "${scheme}": use https, ssh, git or file`;
  }
  return undefined;
}

/** Paths inside the repository must stay inside it (ARCHITECTURE.md invariant 3). */
function repoPathProblem(p: string): string | undefined {
  if (p.startsWith("/") || /^[a-zA-Z]:[\\/]/.test(p)) {
    return `${JSON.stringify(p)} is absolute: give a path relative to the repository root`;
  }
  if (p.includes("\\")) return `${JSON.stringify(p)} contains a backslash: use "/" between folders`;
  if (p.split("/").includes("..")) {
    return `${JSON.stringify(p)} leaves the repository ("..") : give a path inside it`;
  }
  return undefined;
}

/** A locator for objects read from the cluster or built in code: "Application ns/name at spec.x". */
export function objectLocator(label: string): Locator {
  return (path) => {
    if (path.length === 0) return label;
    const text = path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
    return `${label} at ${text}`;
  };
}
