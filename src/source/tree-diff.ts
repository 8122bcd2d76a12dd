// Lists the paths a commit changes against its first parent by comparing tree objects read through the
// ObjectReader. Done in-process because `git diff-tree --stdin` output cannot be split unambiguously
// when a file name looks like a commit id, and one child process per commit would be slow. Each path is
// handed to a visitor as it is found, so a check can stop the walk early; trees and the number of
// changed paths are bounded by SourceLimits (TreeTooLargeError beyond them).
import type { SourceLimits } from "./limits.js";
import { ObjectTooLargeError, type ObjectReader } from "./objects.js";

interface TreeEntry {
  /** The name's bytes (a view into the tree object; decoded only for a changed path). */
  name: Buffer;
  /** The mode's file type bits, canonical as git reads them ("040000" is a folder too). */
  kind: number;
  mode: number;
  oid: Buffer;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const SLASH = 0x2f;

/** A tree object, or the diff as a whole, is over a limit; `message` names it and the limit. */
export class TreeTooLargeError extends Error {
  override readonly name = "TreeTooLargeError";
}

export type DiffLimits = Pick<SourceLimits, "maxTreeBytes" | "maxTreeEntries" | "maxChangedPaths">;

export interface DiffOptions {
  limits: DiffLimits;
  /** Called once per changed path as it is found; returning false stops the walk. */
  visit?: (path: string) => boolean;
}

export interface ChangedPaths {
  /** The changed paths found, sorted (all of them unless the visitor stopped the walk). */
  paths: string[];
  /** True when the visitor stopped the walk before every path was found. */
  stopped: boolean;
}

/**
 * git's order of tree entries: by name bytes, a folder's name compared as if it ended in "/" (so the
 * same name as file and as folder are two different keys).
 */
function compareEntries(x: TreeEntry, y: TreeEntry): number {
  const n = Math.min(x.name.length, y.name.length);
  const c = Buffer.compare(x.name.subarray(0, n), y.name.subarray(0, n));
  if (c !== 0) return c;
  const next = (e: TreeEntry) => (e.name.length > n ? (e.name[n] ?? 0) : e.kind === S_IFDIR ? SLASH : 0);
  return next(x) - next(y);
}

/**
 * The entries of a tree object, parsed as they are asked for (a walk that stops early parses no more),
 * defensively: it is attacker-controlled. Exact lengths, bounded entries, and git's strict order, which
 * the side-by-side walk relies on to pair entries of two trees.
 */
function* entriesOf(oid: string, data: Buffer, limits: DiffLimits): Generator<TreeEntry, void, undefined> {
  const hashBytes = oid.length / 2;
  let pos = 0;
  let count = 0;
  let previous: TreeEntry | undefined;
  while (pos < data.length) {
    if (++count > limits.maxTreeEntries)
      throw new TreeTooLargeError(
        `tree ${oid.slice(0, 12)} has more than ${limits.maxTreeEntries} entries (maxTreeEntries)`,
      );
    const sp = data.indexOf(0x20, pos);
    const nul = sp < 0 ? -1 : data.indexOf(0, sp + 1);
    const mode = sp < 0 ? NaN : Number.parseInt(data.subarray(pos, sp).toString("latin1"), 8);
    if (nul < 0 || nul + 1 + hashBytes > data.length || !Number.isSafeInteger(mode) || nul === sp + 1)
      throw new Error(`malformed tree object ${oid.slice(0, 12)}`);
    const entry: TreeEntry = {
      name: data.subarray(sp + 1, nul),
      kind: mode & S_IFMT,
      mode,
      oid: data.subarray(nul + 1, nul + 1 + hashBytes),
    };
    if (previous !== undefined && compareEntries(previous, entry) >= 0)
      throw new Error(`malformed tree object ${oid.slice(0, 12)}: entries out of order or repeated`);
    previous = entry;
    pos = nul + 1 + hashBytes;
    yield entry;
  }
}

function nextEntry(entries: Generator<TreeEntry, void, undefined> | undefined): TreeEntry | undefined {
  const r = entries?.next();
  return r === undefined || r.done === true ? undefined : r.value;
}

class Walk {
  readonly out: string[] = [];
  stopped = false;

  constructor(
    private readonly reader: ObjectReader,
    private readonly opts: DiffOptions,
  ) {}

  async readTree(oid: string): Promise<Generator<TreeEntry, void, undefined>> {
    let data: Buffer;
    try {
      data = await this.reader.readTyped(oid, "tree", this.opts.limits.maxTreeBytes);
    } catch (err) {
      if (err instanceof ObjectTooLargeError)
        throw new TreeTooLargeError(`${err.message} per folder (maxTreeBytes)`);
      throw err;
    }
    return entriesOf(oid, data, this.opts.limits);
  }

  /** Records a changed path; false once the walk is to stop. */
  found(prefix: string, e: TreeEntry): boolean {
    if (this.stopped) return false;
    if (this.out.length >= this.opts.limits.maxChangedPaths)
      throw new TreeTooLargeError(
        `the commit changes more than ${this.opts.limits.maxChangedPaths} paths (maxChangedPaths)`,
      );
    const p = prefix + e.name.toString("utf8");
    this.out.push(p);
    if (this.opts.visit !== undefined && !this.opts.visit(p)) this.stopped = true;
    return !this.stopped;
  }

  /** One side's entry (the other side has none, or one of another kind): every path under it. */
  private one(e: TreeEntry, prefix: string, work: Promise<void>[]): boolean {
    if (e.kind !== S_IFDIR) return this.found(prefix, e);
    work.push(this.diff(undefined, e.oid.toString("hex"), `${prefix}${e.name.toString("utf8")}/`));
    return true;
  }

  /**
   * Walks two trees side by side in git's order (`a` undefined: everything under `b` is new; `b`
   * undefined: everything under `a` went away). A name that is a file on one side and a folder on the
   * other comes up twice, once per kind: the file's path and the folder's paths are all changed.
   */
  async diff(a: string | undefined, b: string | undefined, prefix: string): Promise<void> {
    if (a === b || this.stopped) return;
    const [ia, ib] = await Promise.all([
      a === undefined ? undefined : this.readTree(a),
      b === undefined ? undefined : this.readTree(b),
    ]);
    const work: Promise<void>[] = [];
    let ea = nextEntry(ia);
    let eb = nextEntry(ib);
    // Synchronous: no sibling walk can stop this one in between; found() tells when to stop.
    while (ea !== undefined || eb !== undefined) {
      const c = ea === undefined ? 1 : eb === undefined ? -1 : compareEntries(ea, eb);
      const only = c < 0 ? ea : c > 0 ? eb : undefined;
      let go = true;
      if (only !== undefined) go = this.one(only, prefix, work);
      else if (ea !== undefined && eb !== undefined && (ea.mode !== eb.mode || !ea.oid.equals(eb.oid))) {
        // The same name and kind, changed: a folder is compared entry by entry, anything else is a path.
        if (ea.kind === S_IFDIR)
          work.push(
            this.diff(
              ea.oid.toString("hex"),
              eb.oid.toString("hex"),
              `${prefix}${eb.name.toString("utf8")}/`,
            ),
          );
        else go = this.found(prefix, eb);
      }
      if (!go) break;
      if (c <= 0) ea = nextEntry(ia);
      if (c >= 0) eb = nextEntry(ib);
    }
    await Promise.all(work);
  }
}
/** Paths that differ between two trees (`from` undefined: every path of `to`); see DiffOptions. */
export async function changedPaths(
  reader: ObjectReader,
  from: string | undefined,
  to: string,
  opts: DiffOptions,
): Promise<ChangedPaths> {
  const walk = new Walk(reader, opts);
  await walk.diff(from, to, "");
  return { paths: [...new Set(walk.out)].sort(), stopped: walk.stopped };
}
