// Reads files of the repository without ever leaving it: walks folders with lstat, resolves every
// symlink with realpath before following it, and checks the size before reading a byte.
import { constants } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { isInside, relToRoot } from "./confine.js";
import { RenderErrorCode, renderError, type RenderError } from "./types.js";

export type ReadResult = { ok: true; text: string } | { ok: false; error: RenderError };
export type BytesResult = { ok: true; bytes: Buffer } | { ok: false; error: RenderError };

function notRegular(rel: string): RenderError {
  return renderError(
    RenderErrorCode.NotRegularFile,
    `${rel} is not a regular file (a FIFO, socket, device or folder); gitward reads only regular files: ` +
      "replace it with a file",
    { file: rel },
  );
}

/**
 * Reads the bytes of a file already confined to `root` (a real path), refusing it when it is not a regular
 * file or is larger than `maxBytes`. The type is checked with lstat before the file is opened, and the open
 * is non-blocking and does not follow a symlink swapped in meanwhile, so a FIFO can never block the read;
 * fstat checks again what was actually opened. Reads at most maxBytes+1 bytes even if the file grows.
 */
export async function readConfinedBytes(root: string, real: string, maxBytes: number): Promise<BytesResult> {
  const rel = relToRoot(root, real);
  if (!isInside(root, real)) {
    return { ok: false, error: renderError(RenderErrorCode.OutsideRepo, `${rel} is outside the repository`) };
  }
  const cannotRead = (): BytesResult => ({
    ok: false,
    error: renderError(RenderErrorCode.NotFound, `${rel} cannot be read`, { file: rel }),
  });
  const before = await lstat(real).catch(() => undefined);
  if (before === undefined) return cannotRead();
  if (!before.isFile()) return { ok: false, error: notRegular(rel) };
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
  const fh = await open(real, flags).catch(() => undefined);
  if (fh === undefined) return cannotRead();
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { ok: false, error: notRegular(rel) };
    if (st.size > maxBytes) {
      return { ok: false, error: tooLarge(rel, st.size, maxBytes) };
    }
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) return { ok: false, error: tooLarge(rel, bytesRead, maxBytes) };
    return { ok: true, bytes: buf.subarray(0, bytesRead) };
  } finally {
    await fh.close();
  }
}

/**
 * Reads a file as text, invalid UTF-8 replaced by U+FFFD. For scanners that look at every file; what is
 * parsed into objects must use readConfinedUtf8 instead.
 */
export async function readConfined(root: string, real: string, maxBytes: number): Promise<ReadResult> {
  const read = await readConfinedBytes(root, real, maxBytes);
  return read.ok ? { ok: true, text: read.bytes.toString("utf8") } : read;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a file as text and refuses it, naming the line, when it is not valid UTF-8: a lenient decoder would
 * silently change those bytes into U+FFFD, so what policy checks would differ from what is in git.
 */
export async function readConfinedUtf8(root: string, real: string, maxBytes: number): Promise<ReadResult> {
  const read = await readConfinedBytes(root, real, maxBytes);
  if (!read.ok) return read;
  const decoded = decodeUtf8(read.bytes);
  if (decoded.ok) return decoded;
  const rel = relToRoot(root, real);
  const { line } = decoded;
  return {
    ok: false,
    error: renderError(
      RenderErrorCode.BadEncoding,
      `${rel}:${line}: the file is not valid UTF-8; save it as UTF-8`,
      { file: rel, line },
    ),
  };
}

/**
 * Decodes UTF-8 strictly, or names the 1-based line of the first bad byte sequence. Shared by every reader
 * of outside text that becomes objects (repository files, gitward.yaml, secrets input).
 */
export function decodeUtf8(bytes: Uint8Array): { ok: true; text: string } | { ok: false; line: number } {
  try {
    return { ok: true, text: strictUtf8.decode(bytes) };
  } catch {
    return {
      ok: false,
      line: firstInvalidLine(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    };
  }
}

/** The 1-based line of the first byte sequence that is not UTF-8 (a real U+FFFD in the text is skipped). */
function firstInvalidLine(bytes: Buffer): number {
  const lossy = bytes.toString("utf8");
  const realReplacement = Buffer.from("\uFFFD", "utf8");
  for (let i = lossy.indexOf("\uFFFD"); i >= 0; i = lossy.indexOf("\uFFFD", i + 1)) {
    const prefix = lossy.slice(0, i);
    const offset = Buffer.byteLength(prefix, "utf8");
    if (!bytes.subarray(offset, offset + 3).equals(realReplacement)) return prefix.split("\n").length;
  }
  return 1;
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
  /** True when more than `maxFiles` files were found: the walk stopped there and `files` is partial. */
  readonly tooMany: boolean;
}

/**
 * Lists every regular file below `dir` (a real path inside `root`) that `want` accepts, stopping once more
 * than `maxFiles` are found. Symlinks are followed only when their real target stays inside `root`; one
 * that leaves it is an error, and so is a wanted name that is a FIFO, socket or device. `.git` folders are
 * skipped. Folders reached twice through symlinks are walked once.
 */
export async function walk(
  root: string,
  dir: string,
  want: (name: string) => boolean,
  maxFiles = Number.POSITIVE_INFINITY,
): Promise<WalkResult> {
  const files = new Set<string>();
  const errors: RenderError[] = [];
  const seen = new Set<string>();
  const full = (): boolean => files.size > maxFiles;
  const visit = async (d: string): Promise<void> => {
    if (seen.has(d) || full()) return;
    seen.add(d);
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (full()) return;
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
        else if (st !== undefined && want(e.name)) errors.push(notRegular(relToRoot(root, p)));
        continue;
      }
      if (e.isDirectory()) await visit(p);
      else if (e.isFile() && want(e.name)) files.add(p);
      else if (want(e.name)) errors.push(notRegular(relToRoot(root, p)));
    }
  };
  await visit(dir);
  const sorted = [...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: sorted, errors, tooMany: full() };
}

/**
 * Walks like `walk`, then holds the files to the limits before a byte of them is read: more than
 * `maxFiles` files, or more than `maxTotalBytes` in them together (summed from lstat), is TOO_MANY_FILES.
 * `what` names the folder in the message.
 */
export async function walkWithinLimits(
  root: string,
  dir: string,
  want: (name: string) => boolean,
  limits: { readonly maxFiles: number; readonly maxTotalBytes: number },
): Promise<WalkResult> {
  const found = await walk(root, dir, want, limits.maxFiles);
  const rel = relToRoot(root, dir);
  const refuse = (why: string): WalkResult => ({
    files: [],
    tooMany: true,
    errors: [
      ...found.errors,
      renderError(RenderErrorCode.TooManyFiles, `${rel} holds ${why}; split the application`, { file: rel }),
    ],
  });
  if (found.tooMany) return refuse(`more than ${limits.maxFiles} files to render`);
  let total = 0;
  for (const f of found.files) {
    total += (await lstat(f).catch(() => undefined))?.size ?? 0;
    if (total > limits.maxTotalBytes) {
      return refuse(`more than ${limits.maxTotalBytes} bytes in the files to render`);
    }
  }
  return found;
}
