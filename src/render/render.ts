// The render stage's entry point: confines the requested path to the repository, then dispatches to the
// directory, kustomize or helm renderer. Returns objects with origins or coded errors; never throws for
// expected failures.
import { stat } from "node:fs/promises";
import { confine, realRoot } from "./confine.js";
import { renderDirectory } from "./directory.js";
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
  /** helm: release name and namespace. */
  readonly releaseName?: string;
  readonly namespace?: string;
  /** Paths of the kubectl and helm binaries (default: `kubectl` and `helm` on PATH). */
  readonly tools?: { readonly kubectl?: string; readonly helm?: string };
  readonly limits?: Partial<RenderLimits>;
}

export async function render(opts: RenderOptions): Promise<RenderResult> {
  const limits: RenderLimits = { ...RENDER_LIMITS, ...opts.limits };
  const r = await realRoot(opts.repoRoot);
  if (!r.ok) return { ok: false, errors: [r.error] };
  const c = await confine(r.root, r.root, opts.path);
  if (!c.ok) return { ok: false, errors: [c.error] };
  const st = await stat(c.real);
  switch (opts.type) {
    case "directory": {
      if (!st.isDirectory()) {
        return {
          ok: false,
          errors: [renderError(RenderErrorCode.BadInput, `${c.rel} is not a folder`, { file: c.rel })],
        };
      }
      return renderDirectory(r.root, c.real, limits);
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
          releaseName: opts.releaseName ?? "release",
          namespace: opts.namespace,
        },
        limits,
      );
  }
}
