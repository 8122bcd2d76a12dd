// Assembles gitward's image from a staged /app folder: three layers (runtime, production node_modules,
// the app itself, so an app-only change re-pushes only the small last layer), a config with the non-root
// user and the entrypoint, and an OCI layout. Pure function of its inputs: see oci-layout.ts for why.
import { rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { OciLayoutWriter, type BuiltLayer, type LayerEntry } from "./oci-layout.js";
import { NODE_PATH, NONROOT_UID, runtimeEntries, treeEntries, type HostBinary } from "./rootfs.js";

export const ENTRYPOINT = [NODE_PATH, "/app/dist/src/cli/main.js"] as const;

export interface BuildOptions {
  /** The OCI layout folder to write (emptied first). */
  out: string;
  tag: string;
  /** SOURCE_DATE_EPOCH: every mtime and the config's `created`. */
  epoch: number;
  /** The staged app folder that becomes /app (package.json, dist/src, node_modules, build-info.json). */
  app: string;
  /** The node binary (absent only in tests that do not run the image). */
  node?: string;
  binaries: readonly HostBinary[];
  labels: Readonly<Record<string, string>>;
}

export interface BuildResult {
  digest: string;
  layers: { name: string; digest: string; size: number; files: number }[];
}

/** Files in node_modules that the runtime never reads and npm writes differently per run or host. */
function skipInDeps(rel: string): boolean {
  const base = path.posix.basename(rel);
  return base === ".bin" || rel === ".package-lock.json";
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  await rm(o.out, { recursive: true, force: true });
  const writer = new OciLayoutWriter(o.out);
  await writer.init();
  const mtime = new Date(o.epoch * 1000);
  const deps = path.join(o.app, "node_modules");
  const parts: [string, LayerEntry[]][] = [
    ["runtime", runtimeEntries({ ...(o.node === undefined ? {} : { node: o.node }), binaries: o.binaries })],
    ["dependencies", existsSync(deps) ? await treeEntries(deps, "/app/node_modules", skipInDeps) : []],
    ["app", await treeEntries(o.app, "/app", (rel) => rel === "node_modules")],
  ];
  const built: [string, BuiltLayer][] = [];
  for (const [name, entries] of parts) {
    if (entries.length > 0) built.push([name, await writer.layer(entries, mtime)]);
  }
  const created = mtime.toISOString();
  const config = {
    created,
    architecture: "amd64",
    os: "linux",
    config: {
      User: `${NONROOT_UID}:${NONROOT_UID}`,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production", "HOME=/home/nonroot", "TMPDIR=/tmp"],
      Entrypoint: [...ENTRYPOINT],
      WorkingDir: "/app",
      Labels: { ...o.labels, "org.opencontainers.image.created": created },
    },
    // No `created` per step: history says what each layer is, the build's one date is above.
    history: built.map(([name]) => ({ created_by: `scripts/build-image.ts: ${name}` })),
  };
  const manifest = await writer.image({
    layers: built.map(([, l]) => l),
    config,
    tag: o.tag,
    annotations: { ...o.labels, "org.opencontainers.image.created": created },
  });
  return {
    digest: manifest.digest,
    layers: built.map(([name, l]) => ({
      name,
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      files: l.files,
    })),
  };
}
