// The contract of the render stage: the Kubernetes objects a revision renders to, each with the file and
// line it came from, or the coded errors that stopped rendering. Expected failures are values, never throws.

/** Where an object was written: a path relative to the repository root and a 1-based line. */
export interface Origin {
  readonly file: string;
  readonly line: number;
}

/** One rendered Kubernetes object. `object` is plain JSON data (parsed YAML), never trusted. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly object: Readonly<Record<string, unknown>>;
  readonly origin: Origin;
}

export const RenderErrorCode = {
  /** A path (argument, symlink, kustomization entry, values file) leaves the repository root. */
  OutsideRepo: "OUTSIDE_REPO",
  /** A path the caller named does not exist or cannot be read. */
  NotFound: "NOT_FOUND",
  /** A file is larger than the limit. */
  FileTooLarge: "FILE_TOO_LARGE",
  /** A file holds more YAML documents than the limit, or the revision more objects. */
  TooManyDocuments: "TOO_MANY_DOCUMENTS",
  /** YAML aliases expand past the limit (alias bomb). */
  AliasLimit: "ALIAS_LIMIT",
  /** A mapping repeats a key. */
  DuplicateKey: "DUPLICATE_KEY",
  /** YAML or JSON that does not parse. */
  Syntax: "SYNTAX",
  /** A document that is not a Kubernetes object (no apiVersion, kind or metadata.name). */
  NotAnObject: "NOT_AN_OBJECT",
  /** kustomize refers to a remote base and remote bases are not allowed. */
  RemoteBase: "REMOTE_BASE",
  /** kustomize or helm failed. */
  ToolFailed: "TOOL_FAILED",
  /** The revision renders no object at all (allowed only with allowEmpty / --allow-empty). */
  EmptyRender: "EMPTY_RENDER",
  /** A helm hook gitward does not run (pre-install, post-upgrade...): the chart is refused, not half-applied. */
  HelmHookUnsupported: "HELM_HOOK_UNSUPPORTED",
  /** An object has metadata.generateName and no name: it cannot be applied by name or pruned. */
  GenerateName: "GENERATE_NAME",
  /** The options themselves are wrong (unknown render type, missing Chart.yaml...). */
  BadInput: "BAD_INPUT",
} as const;
export type RenderErrorCode = (typeof RenderErrorCode)[keyof typeof RenderErrorCode];

export interface RenderError {
  readonly code: RenderErrorCode;
  /** What failed and what to do; names the file (relative to the repository) and line where known. */
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
}

export type RenderResult =
  | { readonly ok: true; readonly manifests: readonly Manifest[] }
  | { readonly ok: false; readonly errors: readonly RenderError[] };

/** Limits on attacker-controlled input; the defaults sit in one place (RENDER_LIMITS). */
export interface RenderLimits {
  /** Largest file read, in bytes. */
  readonly maxFileBytes: number;
  /** Most YAML documents in one file. */
  readonly maxDocumentsPerFile: number;
  /** Most objects in one rendered revision. */
  readonly maxObjects: number;
  /** The `yaml` library's maxAliasCount: how many alias nodes may be resolved per document. */
  readonly maxAliasCount: number;
  /** Largest output kustomize or helm may write, in bytes. */
  readonly maxToolOutputBytes: number;
  /** How long kustomize or helm may run, in milliseconds. */
  readonly toolTimeoutMs: number;
}

export const RENDER_LIMITS: RenderLimits = {
  maxFileBytes: 4 * 1024 * 1024,
  maxDocumentsPerFile: 5_000,
  maxObjects: 50_000,
  maxAliasCount: 100,
  maxToolOutputBytes: 64 * 1024 * 1024,
  toolTimeoutMs: 60_000,
};

export function renderError(
  code: RenderErrorCode,
  message: string,
  where?: { file?: string | undefined; line?: number | undefined },
): RenderError {
  return {
    code,
    message,
    ...(where?.file === undefined ? {} : { file: where.file }),
    ...(where?.line === undefined ? {} : { line: where.line }),
  };
}
