// The render stage's entry point: confines the requested path to the repository, then dispatches to the
// directory, kustomize or helm renderer; a revision that renders no object is refused unless allowed.
// Returns objects with origins or coded errors; never throws for expected failures.
import { stat } from "node:fs/promises";
import { confine, realRoot } from "./confine.js";
import { renderDirectory } from "./directory.js";
import { compileGlobs } from "./glob.js";
import { renderHelm } from "./helm.js";
import { renderKustomize } from "./kustomize.js";
import {
  RENDER_LIMITS,
  RenderErrorCode,
  renderError,
  type RenderLimits,
  type RenderResult,
} from "./types.js";

export type RenderType = "directory" | "kustomize" | "helm";

export interface RenderOptions {
  /** The repository root: nothing outside it is read. */
  readonly repoRoot: string;
  /** The folder to render, relative to repoRoot ("." for the root). */
  readonly path: string;
  readonly type: RenderType;
  /** helm: values files relative to repoRoot. */
  readonly valuesFiles?: readonly string[];
  /** kustomize: allow remote bases (default false). */
  readonly allowRemoteBases?: boolean;
  /** helm: the release name (default: the chart's name, see DEFAULT_RELEASE_NAME) and namespace. */
  readonly releaseName?: string;
  readonly namespace?: string;
  /** directory: globs of the files to read, relative to `path` (default every *.yaml, *.yml, *.json). */
  readonly include?: readonly string[];
  /** directory: globs of files not to read, relative to `path`; they win over include. */
  readonly exclude?: readonly string[];
  /** A revision with no object is an error (EMPTY_RENDER) unless this is true. */
  readonly allowEmpty?: boolean;
  /** Paths of the kubectl and helm binaries (default: `kubectl` and `helm` on PATH; see resolveTools). */
  readonly tools?: { readonly kubectl?: string; readonly helm?: string };
  readonly limits?: Partial<RenderLimits>;
}

export async function render(opts: RenderOptions): Promise<RenderResult> {
  const r = await renderAny(opts);
  if (!r.ok || r.manifests.length > 0 || opts.allowEmpty === true) return r;
  return {
    ok: false,
    errors: [
      renderError(
        RenderErrorCode.EmptyRender,
        `${opts.path} renders no object; applying it would prune everything the application has. Check ` +
          "the path and the include/exclude globs, or set render.allowEmpty (--allow-empty) if that is meant",
        { file: opts.path },
      ),
    ],
  };
}

async function renderAny(opts: RenderOptions): Promise<RenderResult> {
  const limits: RenderLimits = { ...RENDER_LIMITS, ...opts.limits };
  const r = await realRoot(opts.repoRoot);
  if (!r.ok) return { ok: false, errors: [r.error] };
  const c = await confine(r.root, r.root, opts.path);
  if (!c.ok) return { ok: false, errors: [c.error] };
  const st = await stat(c.real);
  if (opts.type !== "directory" && (opts.include ?? opts.exclude) !== undefined) {
    return {
      ok: false,
      errors: [
        renderError(
          RenderErrorCode.BadInput,
          `include/exclude globs select files of the directory renderer; ${opts.type} reads what its own files name`,
        ),
      ],
    };
  }
  switch (opts.type) {
    case "directory": {
      if (!st.isDirectory()) {
        return {
          ok: false,
          errors: [renderError(RenderErrorCode.BadInput, `${c.rel} is not a folder`, { file: c.rel })],
        };
      }
      const include = compileGlobs(opts.include ?? []);
      const exclude = compileGlobs(opts.exclude ?? []);
      if (!include.ok || !exclude.ok) {
        const message = !include.ok
          ? `include: ${include.message}`
          : `exclude: ${exclude.ok ? "" : exclude.message}`;
        return { ok: false, errors: [renderError(RenderErrorCode.BadInput, message)] };
      }
      const all = opts.include === undefined || opts.include.length === 0;
      return renderDirectory(
        r.root,
        c.real,
        limits,
        (rel) => (all || include.match(rel)) && !exclude.match(rel),
      );
    }
    case "kustomize":
      return renderKustomize(
        r.root,
        c.real,
        { kubectl: opts.tools?.kubectl ?? "kubectl", allowRemoteBases: opts.allowRemoteBases ?? false },
        limits,
      );
    case "helm":
      return renderHelm(
        r.root,
        c.real,
        {
          helm: opts.tools?.helm ?? "helm",
          valuesFiles: opts.valuesFiles ?? [],
          ...(opts.releaseName === undefined ? {} : { releaseName: opts.releaseName }),
          namespace: opts.namespace,
        },
        limits,
      );
  }
}
