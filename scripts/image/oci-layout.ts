// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) byte for byte reproducibly: the
// layer tars are written here with tar-stream rather than by `umoci repack`, because umoci 0.4 stamps
// the current time into the config's `created` and history and takes owners and mtimes from the disk.
// Here every entry has a fixed owner, mode class and mtime (SOURCE_DATE_EPOCH), entries are sorted, and
// gzip runs with a fixed level and a zero header mtime, so identical inputs give an identical digest.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { pack as tarPack } from "tar-stream";

export type LayerEntry =
  | { type: "dir"; path: string; mode?: number; uid?: number }
  | { type: "file"; path: string; mode?: number; from: string }
  | { type: "file"; path: string; mode?: number; content: Buffer }
  | { type: "symlink"; path: string; target: string };

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface BuiltLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
  files: number;
}

const sha256 = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The entries in tar order: sorted by path (bytewise), each parent directory before its children. */
function ordered(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const p = normalise(e.path);
    if (byPath.has(p)) throw new Error(`image layer: ${p} is listed twice`);
    byPath.set(p, { ...e, path: p });
    // Every parent directory gets its own entry, so unpackers never invent one with their own mode.
    for (let d = path.posix.dirname(p); d !== "." && d !== "/"; d = path.posix.dirname(d)) {
      if (!byPath.has(d)) byPath.set(d, { type: "dir", path: d });
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function normalise(p: string): string {
  const n = path.posix.normalize(p).replace(/^\/+/, "").replace(/\/+$/, "");
  if (n === "" || n === "." || n.startsWith("../")) throw new Error(`image layer: bad path ${p}`);
  return n;
}

/** Files are 0644 or, when any execute bit is set, 0755: the source's umask and owner never leak in. */
function fileMode(mode: number | undefined): number {
  return mode === undefined || (mode & 0o111) === 0 ? 0o644 : 0o755;
}

async function tarOf(entries: readonly LayerEntry[], mtime: Date): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  const add = (header: Parameters<typeof pack.entry>[0], body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => {
        if (err) reject(err);
        else resolve();
      };
      if (body === undefined) pack.entry(header, done);
      else pack.entry(header, body, done);
    });
  // Owned by root unless said otherwise: the non-root user can read the app but never change it.
  const base = { mtime, uid: 0, gid: 0, uname: "", gname: "" };
  for (const e of ordered(entries)) {
    switch (e.type) {
      case "dir":
        await add({
          ...base,
          name: `${e.path}/`,
          type: "directory",
          mode: e.mode ?? 0o755,
          uid: e.uid ?? 0,
          gid: e.uid ?? 0,
        });
        break;
      case "symlink":
        await add({ ...base, name: e.path, type: "symlink", linkname: e.target, mode: 0o777 });
        break;
      case "file": {
        const body = "content" in e ? e.content : await readFile(e.from);
        await add({ ...base, name: e.path, type: "file", mode: fileMode(e.mode), size: body.length }, body);
        break;
      }
    }
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export class OciLayoutWriter {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(path.join(this.dir, "blobs", "sha256"), { recursive: true });
    await writeFile(path.join(this.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  }

  /** Stores a blob under its digest (written to a temporary name first, so a crash leaves no torn blob). */
  async blob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256(bytes);
    const file = path.join(this.dir, "blobs", "sha256", digest.slice("sha256:".length));
    await writeFile(`${file}.tmp`, bytes);
    await rename(`${file}.tmp`, file);
    return { mediaType, digest, size: bytes.length };
  }

  async layer(entries: readonly LayerEntry[], mtime: Date): Promise<BuiltLayer> {
    const tar = await tarOf(entries, mtime);
    // Level 6 and node's gzip header (mtime 0, OS unix): the same bytes for the same tar with this zlib.
    const gz = gzipSync(tar, { level: 6 });
    const descriptor = await this.blob(gz, "application/vnd.oci.image.layer.v1.tar+gzip");
    return { descriptor, diffId: sha256(tar), files: ordered(entries).length };
  }

  /** Writes config, manifest and index.json (one manifest, named `tag`); returns the manifest descriptor. */
  async image(opts: {
    layers: readonly BuiltLayer[];
    config: Record<string, unknown>;
    tag: string;
    annotations: Record<string, string>;
  }): Promise<Descriptor> {
    const config = {
      ...opts.config,
      rootfs: { type: "layers", diff_ids: opts.layers.map((l) => l.diffId) },
    };
    const configDesc = await this.blob(json(config), "application/vnd.oci.image.config.v1+json");
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: configDesc,
      layers: opts.layers.map((l) => l.descriptor),
      annotations: opts.annotations,
    };
    const manifestDesc = await this.blob(json(manifest), "application/vnd.oci.image.manifest.v1+json");
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ ...manifestDesc, annotations: { "org.opencontainers.image.ref.name": opts.tag } }],
    };
    await writeFile(path.join(this.dir, "index.json"), json(index));
    return manifestDesc;
  }
}

/** JSON with the keys in the order written here (objects are built in a fixed order above). */
function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
