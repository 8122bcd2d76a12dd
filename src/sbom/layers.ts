// Layers → the final filesystem view, kept only where catalogers look: each layer streams through a
// decompressor and a tar parser with byte, ratio and entry bounds; whiteouts (`.wh.NAME`, `.wh..wh..opq`)
// of a layer remove what lower layers wrote. Nothing is written to disk; only wanted files stay in memory.
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
// The namespace import, not a named one: on a Node without zstd a named import fails while the CLI is
// still linking, before its Node-version check can say so in one line.
import * as zlib from "node:zlib";
const { createGunzip } = zlib;
import tar, { type Header } from "tar-stream";
import { RegistryError } from "../images/errors.js";
import { SbomError, SbomErrorCode, type SbomLimits } from "./errors.js";
import { GoBuildInfoScanner, type GoBuildInfo } from "./goscan.js";
import { readJar, type MavenCoordinates } from "./jar.js";
import { wantFile, wantsBytes } from "./select.js";

/** What the view keeps for one path; `layer` is the digest of the layer that wrote it. */
export type ViewItem =
  | { readonly kind: "bytes"; readonly layer: string; readonly data: Buffer }
  | { readonly kind: "go"; readonly layer: string; readonly info: GoBuildInfo }
  | { readonly kind: "jar"; readonly layer: string; readonly maven: readonly MavenCoordinates[] }
  | { readonly kind: "symlink"; readonly layer: string; readonly target: string };

export interface LayerSource {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** The compressed blob, already bounded by its descriptor and digest-checked at its end. */
  open(): Promise<Readable>;
}

/** Running totals across the layers of one image, for the image-wide bounds. */
interface ImageTotals {
  uncompressed: number;
  entries: number;
}

function decompressor(layer: LayerSource): Transform | undefined {
  const t = layer.mediaType;
  if (/\.tar\+gzip$|\.tar\.gzip$|diff\.tar\.gzip$/.test(t)) return createGunzip({ chunkSize: 256 * 1024 });
  if (/\.tar\+zstd$|diff\.tar\.zstd$/.test(t)) return zlib.createZstdDecompress({ chunkSize: 256 * 1024 });
  if (/\.tar$|rootfs\.diff\.tar$/.test(t)) return undefined;
  throw new SbomError(
    SbomErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `layer ${layer.digest}: media type ${t} is not a tar, tar+gzip or tar+zstd layer`,
  );
}

/** Counts bytes on both sides of the decompressor and stops at the bounds. */
function meters(layer: LayerSource, limits: SbomLimits, totals: ImageTotals): [Transform, Transform] {
  let compressed = 0;
  let uncompressed = 0;
  const input = new Transform({
    transform(chunk: Buffer, _e, done) {
      compressed += chunk.length;
      done(null, chunk);
    },
  });
  const output = new Transform({
    transform(chunk: Buffer, _e, done) {
      uncompressed += chunk.length;
      totals.uncompressed += chunk.length;
      if (uncompressed > limits.layerUncompressedBytes) {
        done(tooLarge(layer, `more than ${limits.layerUncompressedBytes} uncompressed bytes`));
      } else if (totals.uncompressed > limits.imageUncompressedBytes) {
        done(
          tooLarge(
            layer,
            `the image's layers hold more than ${limits.imageUncompressedBytes} uncompressed bytes`,
          ),
        );
      } else if (uncompressed > limits.ratioAfterBytes && uncompressed > compressed * limits.maxRatio) {
        done(
          new SbomError(
            SbomErrorCode.DECOMPRESSION_RATIO,
            `layer ${layer.digest}: ${compressed} compressed bytes inflated to over ${uncompressed} ` +
              `(more than ${limits.maxRatio}:1); refused as a decompression bomb`,
          ),
        );
      } else done(null, chunk);
    },
  });
  return [input, output];
}

function tooLarge(layer: LayerSource, what: string): SbomError {
  return new SbomError(
    SbomErrorCode.UNCOMPRESSED_TOO_LARGE,
    `layer ${layer.digest}: ${what}; refused as a tar bomb (raise the bound only for an image you trust)`,
  );
}

/** A tar path as a clean relative path; absolute paths and `..` components are refused. */
export function cleanPath(name: string, layer: string): string {
  if (name.startsWith("/")) {
    throw new SbomError(SbomErrorCode.UNSAFE_PATH, `layer ${layer}: entry "${name}" has an absolute path`);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new SbomError(SbomErrorCode.UNSAFE_PATH, `layer ${layer}: entry "${name}" climbs out with ".."`);
  }
  return parts.join("/");
}

/** A tar entry's body (a streamx Readable): iterated for its chunks, destroyed to stop early. */
type EntryStream = AsyncIterable<unknown> & { destroy(err?: Error): void };

async function collect(stream: EntryStream, bound: number, what: () => SbomError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const raw of stream) {
    const chunk = raw as Buffer;
    size += chunk.length;
    if (size > bound) {
      stream.destroy();
      throw what();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function drain(stream: EntryStream, each?: (chunk: Buffer) => void): Promise<void> {
  for await (const chunk of stream) each?.(chunk as Buffer);
}

/** What one layer changes: paths it writes (null: overwritten by something not kept) and what it removes. */
interface LayerChanges {
  readonly writes: Map<string, ViewItem | null>;
  readonly whiteouts: string[];
  readonly opaque: string[];
}

async function readEntry(
  layer: LayerSource,
  header: Header,
  stream: EntryStream,
  view: ReadonlyMap<string, ViewItem>,
  changes: LayerChanges,
  limits: SbomLimits,
): Promise<void> {
  const path = cleanPath(header.name, layer.digest);
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  const dir = slash < 0 ? "" : path.slice(0, slash);
  const overwritten = (): void => {
    if (view.has(path)) changes.writes.set(path, null);
  };
  if (base === ".wh..wh..opq") {
    changes.opaque.push(dir);
    return drain(stream);
  }
  if (base.startsWith(".wh.")) {
    changes.whiteouts.push(dir === "" ? base.slice(4) : `${dir}/${base.slice(4)}`);
    return drain(stream);
  }
  const type = header.type;
  if (type === "symlink") {
    if (wantsBytes(path))
      changes.writes.set(path, { kind: "symlink", layer: layer.digest, target: header.linkname });
    else overwritten();
    return drain(stream);
  }
  if (type === "link") {
    const target = cleanPath(header.linkname, layer.digest);
    const source = changes.writes.get(target) ?? view.get(target);
    if (source != null && wantFile(path, header.mode, header.size) !== undefined) {
      changes.writes.set(path, { ...source, layer: layer.digest });
    } else overwritten();
    return drain(stream);
  }
  if (type !== "file" && type !== "contiguous-file") {
    overwritten();
    return drain(stream);
  }
  const want = wantFile(path, header.mode, header.size);
  const where = `layer ${layer.digest}: ${path}`;
  if (want === "bytes") {
    const data = await collect(
      stream,
      limits.fileBytes,
      () => new SbomError(SbomErrorCode.UNCOMPRESSED_TOO_LARGE, `${where} is over ${limits.fileBytes} bytes`),
    );
    changes.writes.set(path, { kind: "bytes", layer: layer.digest, data });
  } else if (want === "jar") {
    const data = await collect(
      stream,
      limits.jarBytes,
      () => new SbomError(SbomErrorCode.ZIP_BOMB, `${where} is over ${limits.jarBytes} bytes`),
    );
    changes.writes.set(path, { kind: "jar", layer: layer.digest, maven: readJar(data, where, limits) });
  } else if (want === "go") {
    const scanner = new GoBuildInfoScanner();
    await drain(stream, (c) => {
      scanner.push(c);
    });
    const info = scanner.result();
    if (info === undefined) overwritten();
    else changes.writes.set(path, { kind: "go", layer: layer.digest, info });
  } else {
    overwritten();
    await drain(stream);
  }
}

function under(path: string, dir: string): boolean {
  return dir === "" || path.startsWith(`${dir}/`);
}

/** Applies one layer's changes to the view below it: whiteouts and opaque dirs first, then its writes. */
function apply(view: Map<string, ViewItem>, changes: LayerChanges): void {
  if (changes.whiteouts.length > 0 || changes.opaque.length > 0)
    for (const key of [...view.keys()]) {
      if (
        changes.whiteouts.some((w) => key === w || under(key, w)) ||
        changes.opaque.some((o) => under(key, o))
      )
        view.delete(key);
    }
  for (const [path, item] of changes.writes) {
    if (item === null) view.delete(path);
    else view.set(path, item);
  }
}

async function readLayer(
  layer: LayerSource,
  view: Map<string, ViewItem>,
  limits: SbomLimits,
  totals: ImageTotals,
): Promise<void> {
  if (layer.size > limits.layerBytes) {
    throw new SbomError(
      SbomErrorCode.LAYER_TOO_LARGE,
      `layer ${layer.digest} declares ${layer.size} bytes, over the bound of ${limits.layerBytes}`,
    );
  }
  const unpack = decompressor(layer);
  const [input, output] = meters(layer, limits, totals);
  const changes: LayerChanges = { writes: new Map(), whiteouts: [], opaque: [] };
  const extract = tar.extract();
  let entries = 0;
  extract.on("entry", (header: Header, stream: EntryStream, next: (err?: Error | null) => void) => {
    entries++;
    totals.entries++;
    let failure: SbomError | undefined;
    if (entries > limits.layerEntries)
      failure = new SbomError(
        SbomErrorCode.TOO_MANY_ENTRIES,
        `layer ${layer.digest}: more than ${limits.layerEntries} entries`,
      );
    else if (totals.entries > limits.imageEntries)
      failure = new SbomError(
        SbomErrorCode.TOO_MANY_ENTRIES,
        `layer ${layer.digest}: the image holds more than ${limits.imageEntries} entries`,
      );
    if (failure !== undefined) {
      extract.destroy(failure);
      return;
    }
    readEntry(layer, header, stream, view, changes, limits).then(
      () => {
        next();
      },
      (err: unknown) => {
        extract.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
  const blob = await layer.open();
  try {
    await pipeline(
      unpack === undefined ? [blob, input, output, extract] : [blob, input, unpack, output, extract],
    );
  } catch (err) {
    if (err instanceof SbomError) throw err;
    if (err instanceof RegistryError) throw err;
    throw new SbomError(
      SbomErrorCode.MALFORMED,
      `layer ${layer.digest}: cannot be read as a ${unpack === undefined ? "" : "compressed "}tar (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  apply(view, changes);
}

/** Reads the layers bottom to top into the final view of the files catalogers want. */
export async function buildView(
  layers: readonly LayerSource[],
  limits: SbomLimits,
): Promise<Map<string, ViewItem>> {
  const view = new Map<string, ViewItem>();
  const totals: ImageTotals = { uncompressed: 0, entries: 0 };
  for (const layer of layers) await readLayer(layer, view, limits, totals);
  return view;
}

/** Follows symlinks of the view (relative to the link's folder, absolute from the image root) to an item. */
export function resolve(
  view: ReadonlyMap<string, ViewItem>,
  path: string,
  depth: number,
): ViewItem | undefined {
  let current = path;
  for (let hop = 0; hop <= depth; hop++) {
    const item = view.get(current);
    if (item?.kind !== "symlink") return item;
    const dir = current.includes("/") ? current.slice(0, current.lastIndexOf("/")) : "";
    const joined = item.target.startsWith("/") ? item.target : `${dir}/${item.target}`;
    const parts: string[] = [];
    // Inside the image: ".." stops at its root, as in a chroot.
    for (const p of joined.split("/")) {
      if (p === "" || p === ".") continue;
      if (p === "..") parts.pop();
      else parts.push(p);
    }
    current = parts.join("/");
  }
  throw new SbomError(
    SbomErrorCode.SYMLINK_LOOP,
    `${path}: more than ${depth} symlinks to follow (a symlink loop); the image cannot be cataloged`,
  );
}
