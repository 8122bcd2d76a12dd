// Reads files of the repository without ever leaving it: walks folders with lstat, resolves every
// symlink with realpath before following it, and checks the size before reading a byte.
import { open, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { isInside, relToRoot } from "./confine.js";
import { RenderErrorCode, renderError, type RenderError } from "./types.js";

export type ReadResult = { ok: true; text: string } | { ok: false; error: RenderError };

/**
 * Reads a file already confined to `root` (a real path), refusing it when larger than `maxBytes`. Reads at
 * most maxBytes+1 bytes even if the file grows meanwhile.
 */
export async function readConfined(root: string, real: string, maxBytes: number): Promise<ReadResult> {
  const rel = relToRoot(root, real);
  if (!isInside(root, real)) {
    return { ok: false, error: renderError(RenderErrorCode.OutsideRepo, `${rel} is outside the repository`) };
  }
  const fh = await open(real, "r").catch(() => undefined);
  if (fh === undefined) {
    return {
      ok: false,
      error: renderError(RenderErrorCode.NotFound, `${rel} cannot be read`, { file: rel }),
    };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      return {
        ok: false,
        error: renderError(RenderErrorCode.BadInput, `${rel} is not a regular file`, { file: rel }),
      };
    }
    if (st.size > maxBytes) {
      return { ok: false, error: tooLarge(rel, st.size, maxBytes) };
    }
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) return { ok: false, error: tooLarge(rel, bytesRead, maxBytes) };
    return { ok: true, text: buf.subarray(0, bytesRead).toString("utf8") };
  } finally {
    await fh.close();
  }
}

function tooLarge(rel: string, size: number, maxBytes: number): RenderError {
  return renderError(
    RenderErrorCode.FileTooLarge,
    `${rel} is ${size} bytes, more than the limit of ${maxBytes}; split it or move it out of the rendered path`,
    { file: rel },
  );
}

export interface WalkResult {
  /** Real paths of the regular files found, sorted by repository-relative path. */
  readonly files: string[];
  readonly errors: RenderError[];
}

/**
 * Lists every regular file below `dir` (a real path inside `root`) that `want` accepts. Symlinks are
 * followed only when their real target stays inside `root`; one that leaves it is an error. `.git` folders
 * are skipped. Folders reached twice through symlinks are walked once.
 */
export async function walk(root: string, dir: string, want: (name: string) => boolean): Promise<WalkResult> {
  const files = new Set<string>();
  const errors: RenderError[] = [];
  const seen = new Set<string>();
  const visit = async (d: string): Promise<void> => {
    if (seen.has(d)) return;
    seen.add(d);
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === ".git") continue;
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) {
        const real = await realpath(p).catch(() => undefined);
        if (real === undefined) {
          if (want(e.name)) {
            errors.push(
              renderError(RenderErrorCode.NotFound, `${relToRoot(root, p)} is a broken symlink; remove it`, {
                file: relToRoot(root, p),
              }),
            );
          }
          continue;
        }
        if (!isInside(root, real)) {
          errors.push(
            renderError(
              RenderErrorCode.OutsideRepo,
              `${relToRoot(root, p)} is a symlink that leaves the repository root; gitward reads nothing ` +
                "outside the repository: replace the link with the file itself",
              { file: relToRoot(root, p) },
            ),
          );
          continue;
        }
        const st = await stat(real).catch(() => undefined);
        if (st?.isDirectory() === true) await visit(real);
        else if (st?.isFile() === true && want(e.name)) files.add(real);
        continue;
      }
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() && want(e.name)) files.add(p);
    }
  };
  await visit(dir);
  const sorted = [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: sorted, errors };
}
