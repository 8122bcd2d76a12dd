// Catalogs the packages of one image in a registry: resolves the reference (choosing the platform from an
// index), streams its layers into the final filesystem view (layers.ts) and runs the catalogers over it.
// Results are cached by manifest digest, so a second look at the same image reads no layer.
import type { RegistryClient, RepoRef } from "../images/client.js";
import { RegistryError, RegistryErrorCode } from "../images/errors.js";
import type { Descriptor, ImageManifest } from "../images/manifest.js";
import { parseImageReference } from "../images/reference.js";
import type { SbomCache } from "./cache.js";
import { catalogGo, catalogMaven, catalogNpm, catalogPython } from "./catalog/lang.js";
import { catalogApk, catalogDpkg, parseOsRelease, type Bytes } from "./catalog/os.js";
import { lockfileCataloger } from "./catalog/npm-lock.js";
import { catalogRpm } from "./catalog/rpm.js";
import { DEFAULT_LIMITS, SbomError, SbomErrorCode, type SbomLimits } from "./errors.js";
import { buildView, resolve, type LayerSource, type ViewItem } from "./layers.js";
import type { ImageInventory, OsRelease, Package } from "./types.js";

export interface CatalogOptions {
  /** The registry client (with the CLI's --plain-http/--ca/--docker-config applied). */
  readonly client: RegistryClient;
  /** Linux platform to choose from an index (default linux/amd64). */
  readonly platform?: { readonly os: string; readonly architecture: string };
  /** Inventories by manifest digest; a hit reads no layer. */
  readonly cache?: SbomCache;
  /** Bounds on layer bytes, entries, files and jars (defaults in errors.ts). */
  readonly limits?: Partial<SbomLimits>;
}

const DEFAULT_PLATFORM = { os: "linux", architecture: "amd64" } as const;

function pickPlatform(
  where: string,
  manifests: readonly Descriptor[],
  want: { os: string; architecture: string },
): Descriptor {
  const found = manifests.find(
    (m) => m.platform?.os === want.os && m.platform.architecture === want.architecture,
  );
  if (found === undefined) {
    const offered = manifests
      .map((m) => `${m.platform?.os ?? "?"}/${m.platform?.architecture ?? "?"}`)
      .join(", ");
    throw new SbomError(
      SbomErrorCode.NO_PLATFORM,
      `${where}: no ${want.os}/${want.architecture} manifest in the index (it has ${offered || "none"})`,
    );
  }
  return found;
}

/** The image manifest and its digest: the reference's own, or the platform's from an index. */
async function resolveManifest(
  client: RegistryClient,
  repo: RepoRef,
  reference: string,
  pinned: string,
  platform: { os: string; architecture: string },
): Promise<{ digest: string; manifest: ImageManifest }> {
  const top = await client.getManifest(repo, pinned);
  if (top.manifest.kind === "manifest") return { digest: top.digest, manifest: top.manifest };
  const chosen = pickPlatform(reference, top.manifest.manifests, platform);
  const inner = await client.getManifest(repo, chosen.digest);
  if (inner.manifest.kind !== "manifest")
    throw new RegistryError(
      RegistryErrorCode.MALFORMED,
      `${reference}: the index entry ${chosen.digest} is not an image manifest`,
    );
  return { digest: inner.digest, manifest: inner.manifest };
}

function findOs(view: ReadonlyMap<string, ViewItem>, depth: number): OsRelease | undefined {
  for (const p of ["etc/os-release", "usr/lib/os-release"]) {
    const item = resolve(view, p, depth);
    if (item?.kind === "bytes") return parseOsRelease(item.data.toString("utf8"));
  }
  return undefined;
}

/** Every cataloger over the view; packages found at several paths become one with several locations. */
export function catalogView(
  view: ReadonlyMap<string, ViewItem>,
  limits: SbomLimits,
): { os?: OsRelease; packages: Package[] } {
  const os = findOs(view, limits.symlinkDepth);
  const found: Package[] = [];
  for (const [path, item] of view) {
    const loc = { layer: item.layer, path };
    if (item.kind === "go") found.push(...catalogGo(item.info, loc));
    else if (item.kind === "jar") found.push(...catalogMaven(item.maven, loc));
    else if (item.kind === "bytes") found.push(...catalogFile(item, path, os));
  }
  const byPurl = new Map<string, Package>();
  for (const p of found) {
    const seen = byPurl.get(p.purl);
    byPurl.set(p.purl, seen === undefined ? p : { ...seen, locations: [...seen.locations, ...p.locations] });
  }
  const packages = [...byPurl.values()].sort((a, b) => (a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
  return { ...(os === undefined ? {} : { os }), packages };
}

function catalogFile(item: Bytes, path: string, os: OsRelease | undefined): Package[] {
  const loc = { layer: item.layer, path };
  if (path === "var/lib/dpkg/status" || path.startsWith("var/lib/dpkg/status.d/"))
    return catalogDpkg(item, path, os);
  if (path === "lib/apk/db/installed") return catalogApk(item, path, os);
  if (path === "var/lib/rpm/rpmdb.sqlite") return catalogRpm(item, path, os);
  if (path.endsWith("package.json")) return catalogNpm(item.data, loc);
  const lock = lockfileCataloger(path);
  if (lock !== undefined) return lock(item.data, loc);
  if (path.endsWith("/METADATA") || path.endsWith("PKG-INFO") || path.endsWith(".egg-info"))
    return catalogPython(item.data, loc);
  return [];
}

/** The packages of `reference` (a tag or digest reference). */
export async function catalogImage(reference: string, opts: CatalogOptions): Promise<ImageInventory> {
  const parsed = parseImageReference(reference);
  if (!parsed.ok)
    throw new SbomError(SbomErrorCode.MALFORMED, `image reference ${reference}: ${parsed.reason}`);
  const { registry, repository, tag, digest } = parsed.ref;
  const repo = { registry, repository };
  const platform = opts.platform ?? DEFAULT_PLATFORM;
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const pinned = digest ?? tag ?? "latest";
  const cacheKey = (d: string): string =>
    `${registry}/${repository}@${d} ${platform.os}/${platform.architecture}`;
  // A digest names content: a cached inventory for it needs no request at all.
  if (digest !== undefined) {
    const hit = await opts.cache?.get(cacheKey(digest));
    if (hit !== undefined) return { ...hit, reference };
  }
  const client = opts.client.forImage(reference);
  const resolved = await resolveManifest(client, repo, reference, pinned, platform);
  const hit = await opts.cache?.get(cacheKey(resolved.digest));
  if (hit !== undefined) return { ...hit, reference };
  const sources: LayerSource[] = resolved.manifest.layers.map((d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    open: () => client.openBlob(repo, d, limits.layerBytes),
  }));
  const view = await buildView(sources, limits);
  const { os, packages } = catalogView(view, limits);
  const inventory: ImageInventory = {
    reference,
    digest: resolved.digest,
    ...(os === undefined ? {} : { os }),
    layers: resolved.manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
    packages,
  };
  await opts.cache?.set(cacheKey(resolved.digest), inventory);
  if (digest !== undefined && digest !== resolved.digest) await opts.cache?.set(cacheKey(digest), inventory);
  return inventory;
}
