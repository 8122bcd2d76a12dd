// Builds OCI images from real files for SBOM and vulnerability tests: layers are tars written with
// tar-stream (any path, whiteouts, symlinks, hostile names), compressed with gzip or zstd, assembled with a
// config and manifest, then pushed to the test registry or written as an OCI image layout (for trivy).
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import tar from "tar-stream";
import { pushBlob, pushManifest } from "./oci-push.js";
import type { TestRegistry } from "./registry.js";

export interface LayerEntry {
  /** Path in the image as written into the tar ("etc/os-release"; hostile tests may write "../x"). */
  path: string;
  /** File content; a host file is read with `hostFile`. */
  data?: Buffer | string;
  hostFile?: string;
  type?: "file" | "directory" | "symlink" | "link";
  /** Symlink or hardlink target. */
  linkname?: string;
  mode?: number;
}

export interface LayerSpec {
  entries: LayerEntry[];
  compression?: "gzip" | "zstd" | "none";
}

export interface BuiltLayer {
  mediaType: string;
  bytes: Buffer;
  digest: string;
  /** sha256 of the uncompressed tar (the config's diff_id). */
  diffId: string;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: Buffer;
  manifest: Buffer;
  /** sha256 of the manifest bytes. */
  digest: string;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** An uncompressed tar of `entries`, in order. */
export async function tarOf(entries: readonly LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.hostFile !== undefined ? await readFile(e.hostFile) : Buffer.from(e.data ?? "");
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => {
        if (err) reject(err);
        else resolve();
      };
      const header = {
        name: e.path,
        type,
        mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
        mtime: new Date(0),
        ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      };
      if (type === "file") pack.entry({ ...header, size: data.length }, data, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const MEDIA = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
} as const;

/** A layer from a tar that is already built (bombs are generated as tars by the tests). */
export function layerOf(raw: Buffer, compression: LayerSpec["compression"] = "gzip"): BuiltLayer {
  const bytes = compression === "gzip" ? gzipSync(raw) : compression === "zstd" ? zstdCompressSync(raw) : raw;
  return { mediaType: MEDIA[compression], bytes, digest: sha256(bytes), diffId: sha256(raw) };
}

export async function buildLayer(spec: LayerSpec): Promise<BuiltLayer> {
  return layerOf(await tarOf(spec.entries), spec.compression ?? "gzip");
}

/** Config and manifest over built layers (linux/amd64). */
export function assemble(layers: BuiltLayer[]): BuiltImage {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: "2026-01-01T00:00:00Z", created_by: "gitward test" })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
    }),
  );
  return { layers, config, manifest, digest: sha256(manifest) };
}

export async function buildImage(specs: LayerSpec[]): Promise<BuiltImage> {
  return assemble(await Promise.all(specs.map(buildLayer)));
}

/** Pushes every blob and the manifest as `repo:tag`; returns the manifest digest. */
export async function pushImage(
  registry: TestRegistry,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<string> {
  for (const l of image.layers) await pushBlob(registry, repo, l.bytes);
  await pushBlob(registry, repo, image.config);
  await pushManifest(registry, repo, tag, image.manifest, "application/vnd.oci.image.manifest.v1+json");
  return image.digest;
}

/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256/*) that trivy, skopeo and umoci read. */
export async function writeOciLayout(dir: string, image: BuiltImage, tag = "latest"): Promise<void> {
  const blobs = path.join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = (bytes: Buffer): Promise<void> => writeFile(path.join(blobs, sha256(bytes).slice(7)), bytes);
  for (const l of image.layers) await put(l.bytes);
  await put(image.config);
  await put(image.manifest);
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: image.digest,
          size: image.manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
}
