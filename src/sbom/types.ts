// What an image contains, as the SBOM catalogers find it and the vulnerability matcher reads it. The one
// shared shape between src/sbom (layers → packages) and src/vuln (packages × advisories → findings).

/** Package ecosystems gitward catalogs; the names are the purl types. */
export type Ecosystem = "deb" | "apk" | "rpm" | "npm" | "pypi" | "golang" | "maven";

/** Where a package was found: the layer that last wrote its record, and the record's path in the image. */
export interface PackageLocation {
  /** Digest of the (compressed) layer blob, as in the image manifest. */
  readonly layer: string;
  /** Path inside the final filesystem view, without a leading slash (e.g. "var/lib/dpkg/status"). */
  readonly path: string;
}

export interface Package {
  readonly ecosystem: Ecosystem;
  /** Binary package name (dpkg Package, apk P, rpm Name, npm name with scope, PyPI name as written). */
  readonly name: string;
  /** Installed version, exactly as the package database records it (dpkg "1:2.3-4", apk "1.2.3-r0"). */
  readonly version: string;
  /** Source package (Debian Source, Alpine origin, RPM source rpm), which distribution advisories name. */
  readonly source?: { readonly name: string; readonly version?: string };
  /** Package URL (purl spec), with distro qualifiers for OS packages. */
  readonly purl: string;
  readonly licenses?: readonly string[];
  readonly locations: readonly PackageLocation[];
}

/** The operating system of the image, from etc/os-release (absent for scratch/distroless-static). */
export interface OsRelease {
  /** ID, e.g. "debian", "alpine", "ubuntu". */
  readonly id: string;
  /** VERSION_ID, e.g. "12", "3.20.3". */
  readonly versionId?: string;
  readonly prettyName?: string;
}

export interface ImageInventory {
  /** The reference as given, and the manifest digest it resolved to (one platform's image manifest). */
  readonly reference: string;
  readonly digest: string;
  readonly os?: OsRelease;
  readonly layers: readonly { readonly digest: string; readonly mediaType: string; readonly size: number }[];
  readonly packages: readonly Package[];
}
