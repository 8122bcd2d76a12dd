// Lists the paths a commit changes against its first parent by comparing tree objects read through the
// ObjectReader. Done in-process because `git diff-tree --stdin` output cannot be split unambiguously
// when a file name looks like a commit id, and one child process per commit would be slow.
import type { ObjectReader } from "./objects.js";

interface TreeEntry {
  mode: string;
  oid: string;
}

const TREE_MODE = "40000";

function parseTree(data: Buffer, hashBytes: number): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 1 + hashBytes > data.length) throw new Error("malformed tree object");
    const mode = data.subarray(pos, sp).toString("latin1");
    const name = data.subarray(sp + 1, nul).toString("utf8");
    const oid = data.subarray(nul + 1, nul + 1 + hashBytes).toString("hex");
    entries.set(name, { mode, oid });
    pos = nul + 1 + hashBytes;
  }
  return entries;
}

async function readTree(reader: ObjectReader, oid: string): Promise<Map<string, TreeEntry>> {
  return parseTree(await reader.readTyped(oid, "tree"), oid.length / 2);
}

/** Every file path under a tree (used for a folder that was added or removed as a whole). */
async function allPaths(reader: ObjectReader, oid: string, prefix: string, out: string[]): Promise<void> {
  const tree = await readTree(reader, oid);
  const subtrees: Promise<void>[] = [];
  for (const [name, e] of tree) {
    if (e.mode === TREE_MODE) subtrees.push(allPaths(reader, e.oid, `${prefix}${name}/`, out));
    else out.push(prefix + name);
  }
  await Promise.all(subtrees);
}

async function diffTrees(
  reader: ObjectReader,
  a: string | undefined,
  b: string | undefined,
  prefix: string,
  out: string[],
): Promise<void> {
  if (a === b) return;
  if (a === undefined) return b === undefined ? undefined : allPaths(reader, b, prefix, out);
  if (b === undefined) return allPaths(reader, a, prefix, out);
  const [ta, tb] = await Promise.all([readTree(reader, a), readTree(reader, b)]);
  const work: Promise<void>[] = [];
  for (const name of new Set([...ta.keys(), ...tb.keys()])) {
    const ea = ta.get(name);
    const eb = tb.get(name);
    if (ea !== undefined && eb !== undefined && ea.mode === eb.mode && ea.oid === eb.oid) continue;
    const aTree = ea?.mode === TREE_MODE ? ea.oid : undefined;
    const bTree = eb?.mode === TREE_MODE ? eb.oid : undefined;
    if (aTree !== undefined || bTree !== undefined)
      work.push(diffTrees(reader, aTree, bTree, `${prefix}${name}/`, out));
    // A file (or symlink, or submodule) on either side that changed, appeared or went away.
    const aFile = ea !== undefined && ea.mode !== TREE_MODE;
    const bFile = eb !== undefined && eb.mode !== TREE_MODE;
    if (aFile || bFile) out.push(prefix + name);
  }
  await Promise.all(work);
}

/** Paths that differ between two trees (`from` undefined: every path of `to`), sorted. */
export async function changedPaths(
  reader: ObjectReader,
  from: string | undefined,
  to: string,
): Promise<string[]> {
  const out: string[] = [];
  await diffTrees(reader, from, to, "", out);
  return [...new Set(out)].sort();
}
