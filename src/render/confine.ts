// Repository confinement (ARCHITECTURE.md invariant 3): every path rendering reads is resolved with
// realpath and must stay below the repository root, so symlinks, `..` and absolute paths cannot reach
// outside it. Argo CD has had CVEs of each class; the checks here run before any byte is read.
import { realpath } from "node:fs/promises";
import path from "node:path";
import { RenderErrorCode, renderError, type RenderError } from "./types.js";

export type Confined =
  | { readonly ok: true; readonly real: string; readonly rel: string }
  | { readonly ok: false; readonly error: RenderError };

/** True when `p` (absolute, already resolved) is `root` or below it. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The repository root as a real path, or an error when it does not exist. */
export async function realRoot(
  repoRoot: string,
): Promise<{ ok: true; root: string } | { ok: false; error: RenderError }> {
  try {
    return { ok: true, root: await realpath(repoRoot) };
  } catch {
    return {
      ok: false,
      error: renderError(
        RenderErrorCode.NotFound,
        `repository root ${repoRoot} does not exist or cannot be read`,
      ),
    };
  }
}

/** A repository-relative display form of an absolute path below the root. */
export function relToRoot(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  return rel === "" ? "." : rel.split(path.sep).join("/");
}

/**
 * Resolves `target`, written in the file `referrer` (or given by the caller when `referrer` is undefined),
 * relative to `baseDir`. Absolute targets are refused outright; the lexical result and then the real path
 * (after every symlink) must both lie inside `root`. A missing target is NOT_FOUND.
 */
export async function confine(
  root: string,
  baseDir: string,
  target: string,
  referrer?: { file: string; line?: number },
): Promise<Confined> {
  const where = { file: referrer?.file, line: referrer?.line };
  const by =
    referrer === undefined
      ? ""
      : ` (named in ${referrer.file}${referrer.line === undefined ? "" : `:${referrer.line}`})`;
  if (path.isAbsolute(target) || /^[A-Za-z]:[\\/]/.test(target)) {
    return {
      ok: false,
      error: renderError(
        RenderErrorCode.OutsideRepo,
        `absolute path "${target}"${by} is not allowed: use a path relative to the repository`,
        where,
      ),
    };
  }
  const lexical = path.resolve(baseDir, target);
  if (!isInside(root, lexical)) {
    return {
      ok: false,
      error: renderError(
        RenderErrorCode.OutsideRepo,
        `path "${target}"${by} leaves the repository root: keep every rendered file inside the repository`,
        where,
      ),
    };
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return {
      ok: false,
      error: renderError(RenderErrorCode.NotFound, `path "${target}"${by} does not exist`, where),
    };
  }
  if (!isInside(root, real)) {
    return {
      ok: false,
      error: renderError(
        RenderErrorCode.OutsideRepo,
        `path "${relToRoot(root, lexical)}"${by} is a symlink that leaves the repository root: ` +
          "replace it with a file inside the repository",
        { file: referrer?.file ?? relToRoot(root, lexical), line: referrer?.line },
      ),
    };
  }
  return { ok: true, real, rel: relToRoot(root, real) };
}
