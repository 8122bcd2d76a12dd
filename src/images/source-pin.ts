// Pins image tags to digests in the YAML source of a config repository (`gitward images pin`): finds where
// each tag-only image the revision renders to is written (an `image:` value, or a kustomization `images:`
// entry), resolves every tag in the registry first, and only then edits the text in place, touching
// nothing but the image value (or adding `digest:` to the kustomize entry), so comments and layout stay.
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Scalar,
  type YAMLMap,
} from "yaml";
import type { RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import { parseImageReference, type ImageReference } from "./reference.js";

/** One place in a source file that sets an image the revision renders to. */
export interface ImageSite {
  /** Repository-relative path. */
  readonly file: string;
  readonly line: number;
  /** The image the revision renders to from here (what is resolved). */
  readonly image: string;
  readonly edit: SiteEdit;
}

type SiteEdit =
  | { readonly kind: "value"; readonly start: number; readonly end: number; readonly quote: "" | '"' | "'" }
  | { readonly kind: "kustomize"; readonly at: number; readonly text: (digest: string) => string };

export interface SourceFile {
  /** Repository-relative path. */
  readonly file: string;
  readonly text: string;
}

export interface PinEdit {
  readonly file: string;
  readonly line: number;
  readonly image: string;
  readonly digest: string;
  /** What the site now says: `image@digest`, or the kustomize entry's new `digest:`. */
  readonly pinned: string;
}

export interface PinProblem {
  readonly file: string;
  readonly line: number;
  readonly image: string;
  readonly code: string;
  readonly message: string;
}

export interface PinPlan {
  readonly edits: PinEdit[];
  readonly problems: PinProblem[];
  /** The new text of every file that changes (nothing when there are problems). */
  readonly files: Map<string, { before: string; after: string }>;
}

const KUSTOMIZATION = /(^|\/)(kustomization\.ya?ml|Kustomization)$/;

/** Tag-only images: what `pin` resolves. An image already holding a digest is left as written. */
export function needsPin(image: string): boolean {
  return !image.includes("@");
}

function sameRepository(a: ImageReference, b: ImageReference): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

function scalarString(node: unknown): Scalar<string> | undefined {
  return isScalar(node) && typeof node.value === "string" ? (node as Scalar<string>) : undefined;
}

/** The `image:` values (in any mapping) that name one of `wanted`, with their exact text ranges. */
function valueSites(
  src: SourceFile,
  wanted: ReadonlySet<string>,
  lc: LineCounter,
  docs: ReturnType<typeof parseAllDocuments>,
): ImageSite[] {
  const out: ImageSite[] = [];
  for (const doc of docs) {
    visit(doc, {
      Pair(_, pair) {
        const key = scalarString(pair.key);
        const value = scalarString(pair.value);
        if (key?.value !== "image" || value === undefined || !wanted.has(value.value)) return;
        const range = value.range;
        if (range === undefined || range === null) return;
        const quote =
          value.type === "QUOTE_DOUBLE"
            ? '"'
            : value.type === "QUOTE_SINGLE"
              ? "'"
              : value.type === "PLAIN"
                ? ""
                : undefined;
        // Block scalars for an image are legal YAML but never seen; they are left for a person to edit.
        if (quote === undefined) return;
        out.push({
          file: src.file,
          line: lc.linePos(range[0]).line,
          image: value.value,
          edit: { kind: "value", start: range[0], end: range[1], quote },
        });
      },
    });
  }
  return out;
}

/** What a kustomization `images:` entry makes of the images it matches, when it has no digest yet. */
function kustomizeSites(
  src: SourceFile,
  wanted: readonly { image: string; ref: ImageReference }[],
  lc: LineCounter,
  docs: ReturnType<typeof parseAllDocuments>,
): ImageSite[] {
  const out: ImageSite[] = [];
  for (const doc of docs) {
    const images = isMap(doc.contents) ? doc.contents.get("images", true) : undefined;
    if (!isSeq(images)) continue;
    for (const item of images.items) {
      if (!isMap(item) || item.has("digest")) continue;
      const entry = item;
      const name = entry.get("newName") ?? entry.get("name");
      const newTag = entry.get("newTag");
      if (typeof name !== "string") continue;
      const parsed = parseImageReference(name);
      if (!parsed.ok) continue;
      for (const w of wanted) {
        if (!sameRepository(parsed.ref, w.ref)) continue;
        if (typeof newTag === "string" && newTag !== (w.ref.tag ?? "latest")) continue;
        const site = insertion(src.text, entry, lc);
        if (site === undefined) continue;
        out.push({ file: src.file, line: site.line, image: w.image, edit: site.edit });
      }
    }
  }
  return out;
}

/** Where `digest: ...` goes in a kustomize entry: a new line after its last pair, at its keys' indentation. */
function insertion(
  text: string,
  entry: YAMLMap,
  lc: LineCounter,
): { line: number; edit: SiteEdit } | undefined {
  const last = entry.items[entry.items.length - 1];
  const first = entry.items[0];
  const firstKey = first?.key as { range?: [number, number, number] | null } | undefined;
  const lastValue = last?.value as { range?: [number, number, number] | null } | undefined;
  const lastKey = last?.key as { range?: [number, number, number] | null } | undefined;
  const end = lastValue?.range?.[1] ?? lastKey?.range?.[1];
  const start = firstKey?.range?.[0];
  if (end === undefined || start === undefined) return undefined;
  const line = lc.linePos(start).line;
  if (entry.flow === true) {
    return { line, edit: { kind: "kustomize", at: end, text: (d) => `, digest: ${d}` } };
  }
  const indent = " ".repeat(lc.linePos(start).col - 1);
  const eol = text.indexOf("\n", end);
  const at = eol < 0 ? text.length : text[eol - 1] === "\r" ? eol - 1 : eol;
  return { line, edit: { kind: "kustomize", at, text: (d) => `\n${indent}digest: ${d}` } };
}

/** Every site in `files` that sets one of the tag-only `images` (as the revision renders them). */
export function findSites(files: readonly SourceFile[], images: readonly string[]): ImageSite[] {
  const wanted = new Set(images.filter(needsPin));
  const refs = [...wanted].flatMap((image) => {
    const p = parseImageReference(image);
    return p.ok ? [{ image, ref: p.ref }] : [];
  });
  const out: ImageSite[] = [];
  for (const src of files) {
    const lc = new LineCounter();
    // The files were parsed by the render already; one that fails here simply has no sites.
    const docs = parseAllDocuments(src.text, { lineCounter: lc, uniqueKeys: false });
    if (!Array.isArray(docs)) continue;
    out.push(...valueSites(src, wanted, lc, docs));
    if (KUSTOMIZATION.test(src.file)) out.push(...kustomizeSites(src, refs, lc, docs));
  }
  return out;
}

/** Resolves each distinct image of `sites` to its digest; an image that does not resolve is a problem. */
async function resolveAll(
  client: RegistryClient,
  sites: readonly ImageSite[],
): Promise<{ digests: Map<string, string>; problems: PinProblem[] }> {
  const digests = new Map<string, string>();
  const problems: PinProblem[] = [];
  for (const image of [...new Set(sites.map((s) => s.image))]) {
    const parsed = parseImageReference(image);
    let failure: { code: string; message: string } | undefined;
    if (!parsed.ok)
      failure = { code: "BAD_REFERENCE", message: `${image} is not an image reference: ${parsed.reason}` };
    else {
      try {
        const fetched = await client.getManifest(parsed.ref, parsed.ref.tag ?? "latest");
        digests.set(image, fetched.digest);
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        failure = { code: err.code, message: err.message };
      }
    }
    if (failure === undefined) continue;
    for (const s of sites.filter((x) => x.image === image)) {
      problems.push({ file: s.file, line: s.line, image, ...failure });
    }
  }
  return { digests, problems };
}

function applyEdits(text: string, edits: readonly { site: ImageSite; digest: string }[]): string {
  let out = text;
  const at = (e: SiteEdit): number => (e.kind === "value" ? e.start : e.at);
  for (const { site, digest } of [...edits].sort((a, b) => at(b.site.edit) - at(a.site.edit))) {
    const e = site.edit;
    if (e.kind === "value") {
      out = `${out.slice(0, e.start)}${e.quote}${site.image}@${digest}${e.quote}${out.slice(e.end)}`;
    } else {
      out = `${out.slice(0, e.at)}${e.text(digest)}${out.slice(e.at)}`;
    }
  }
  return out;
}

/**
 * Plans the pinning of `images` (as rendered) in `files`: every tag resolved first; any image that does
 * not resolve, or that no file sets, is a problem and then no file changes at all.
 */
export async function planPins(opts: {
  readonly client: RegistryClient;
  readonly files: readonly SourceFile[];
  /** The rendered images, each with the origin of an object that uses it (for "not found" messages). */
  readonly images: readonly { image: string; file: string; line: number }[];
}): Promise<PinPlan> {
  const sites = findSites(
    opts.files,
    opts.images.map((i) => i.image),
  );
  const problems: PinProblem[] = [];
  const located = new Set(sites.map((s) => s.image));
  for (const i of opts.images) {
    if (!needsPin(i.image) || located.has(i.image)) continue;
    located.add(i.image);
    problems.push({
      ...i,
      code: "NOT_IN_SOURCE",
      message: `${i.image} is used by the object at ${i.file}:${i.line} but no file under the path sets it as an image: value or kustomize images: entry; pin it by hand`,
    });
  }
  const resolved = await resolveAll(opts.client, sites);
  problems.push(...resolved.problems);
  const files = new Map<string, { before: string; after: string }>();
  if (problems.length > 0) return { edits: [], problems, files };
  const edits: PinEdit[] = [];
  for (const src of opts.files) {
    const here = sites
      .filter((s) => s.file === src.file)
      .map((site) => ({ site, digest: resolved.digests.get(site.image) ?? "" }));
    if (here.length === 0) continue;
    files.set(src.file, { before: src.text, after: applyEdits(src.text, here) });
    for (const { site, digest } of here) {
      edits.push({
        file: site.file,
        line: site.line,
        image: site.image,
        digest,
        pinned: site.edit.kind === "value" ? `${site.image}@${digest}` : digest,
      });
    }
  }
  return { edits, problems, files };
}
