// The image's SBOM (CycloneDX 1.6 JSON, built with @cyclonedx/cyclonedx-library) and its SLSA v1
// provenance predicate. Both are derived from the build's inputs only (no clock, no random serial
// number), so the same inputs give the same documents, like the image itself.
import * as CDX from "@cyclonedx/cyclonedx-library";

export interface NpmPackage {
  /** "commander" or "@scope/name" */
  name: string;
  version: string;
  /** sha512 SRI from the lockfile ("sha512-base64"), when npm recorded one. */
  integrity?: string;
  license?: string;
}

export interface SbomInput {
  image: { name: string; version: string };
  /** The moment the build stands for (SOURCE_DATE_EPOCH), the BOM's timestamp. */
  date: Date;
  npm: readonly NpmPackage[];
  node: { version: string; sha256: string };
  debian: readonly { name: string; version: string }[];
}

export function npmPurl(name: string, version: string): string {
  const slash = name.indexOf("/");
  const scoped = name.startsWith("@") && slash > 0;
  const ns = scoped ? `${encodeURIComponent(name.slice(0, slash))}/` : "";
  return `pkg:npm/${ns}${scoped ? name.slice(slash + 1) : name}@${encodeURIComponent(version)}`;
}

/** Packages as npm installed them: the `packages` of node_modules/.package-lock.json (hidden lockfile). */
export function npmPackagesOf(hiddenLock: string): NpmPackage[] {
  const lock = JSON.parse(hiddenLock) as { packages?: Record<string, Record<string, unknown>> };
  const found = new Map<string, NpmPackage>();
  for (const [where, p] of Object.entries(lock.packages ?? {})) {
    if (!where.startsWith("node_modules/") || typeof p["version"] !== "string") continue;
    const name = where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length);
    const pkg: NpmPackage = { name, version: p["version"] };
    if (typeof p["integrity"] === "string") pkg.integrity = p["integrity"];
    if (typeof p["license"] === "string") pkg.license = p["license"];
    found.set(`${name}@${pkg.version}`, pkg);
  }
  return [...found.values()];
}

export function cycloneDx(input: SbomInput): string {
  const { ComponentType } = CDX.Enums;
  const bom = new CDX.Models.Bom();
  bom.metadata.timestamp = input.date;
  bom.metadata.component = new CDX.Models.Component(ComponentType.Container, input.image.name, {
    version: input.image.version,
    bomRef: "image",
  });
  const node = new CDX.Models.Component(ComponentType.Platform, "node", {
    version: input.node.version,
    purl: `pkg:generic/node@${input.node.version}?download_url=https://nodejs.org/dist`,
    bomRef: "runtime:node",
  });
  node.hashes.set(CDX.Enums.HashAlgorithm["SHA-256"], input.node.sha256);
  bom.components.add(node);
  for (const p of input.npm) {
    const purl = npmPurl(p.name, p.version);
    const c = new CDX.Models.Component(ComponentType.Library, p.name, {
      version: p.version,
      purl,
      bomRef: purl,
    });
    const sri = p.integrity === undefined ? undefined : /^sha512-(.+)$/.exec(p.integrity)?.[1];
    if (sri !== undefined)
      c.hashes.set(CDX.Enums.HashAlgorithm["SHA-512"], Buffer.from(sri, "base64").toString("hex"));
    if (p.license !== undefined) c.licenses.add(new CDX.Models.SpdxLicense(p.license));
    bom.components.add(c);
  }
  for (const d of input.debian) {
    const purl = `pkg:deb/debian/${d.name}@${encodeURIComponent(d.version)}?arch=amd64`;
    bom.components.add(
      new CDX.Models.Component(ComponentType.Library, d.name, { version: d.version, purl, bomRef: purl }),
    );
  }
  const serializer = new CDX.Serialize.JsonSerializer(
    new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6),
  );
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

export interface ProvenanceInput {
  source: { uri: string; commit: string; dirty: boolean };
  sourceDateEpoch: number;
  tag: string;
  lockfileSha256: string;
  node: { version: string; sha256: string };
}

/** An in-toto SLSA provenance v1 predicate (https://slsa.dev/provenance/v1) for a local build. */
export function slsaProvenance(input: ProvenanceInput): Record<string, unknown> {
  return {
    buildDefinition: {
      buildType: "https://gitward.dev/image-build/v1",
      externalParameters: {
        source: { uri: input.source.uri, digest: { gitCommit: input.source.commit } },
        tag: input.tag,
      },
      internalParameters: { sourceDateEpoch: input.sourceDateEpoch, workingTreeDirty: input.source.dirty },
      resolvedDependencies: [
        { uri: `git+${input.source.uri}@${input.source.commit}`, digest: { gitCommit: input.source.commit } },
        { name: "package-lock.json", digest: { sha256: input.lockfileSha256 } },
        { name: `node@${input.node.version}`, digest: { sha256: input.node.sha256 } },
      ],
    },
    runDetails: { builder: { id: "https://gitward.dev/builders/scripts/build-image" } },
  };
}
