// Where a package's advisories are filed in OSV: the ecosystem (with the distribution release for OS
// packages) and the name as that ecosystem writes it. Distribution advisories name source packages, so a
// Debian binary package is looked up by its Source and an Alpine one by its origin, as trivy does.
import type { Ecosystem, ImageInventory, Package } from "../sbom/types.js";

/** The index key of one OSV ecosystem + package name. */
export function indexKey(ecosystem: string, name: string): string {
  return `${ecosystem}|${name}`;
}

/** PEP 503: lowercase, runs of "-", "_" and "." as one "-". */
export function normalizePypi(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/gu, "-");
}

/**
 * The OSV ecosystem as the index keeps it: Ubuntu's ":LTS" dropped ("Ubuntu:22.04:LTS" → "Ubuntu:22.04");
 * undefined for ecosystems gitward does not match (they are counted at import as skipped).
 */
export function normalizeEcosystem(osv: string): string | undefined {
  const [family, ...rest] = osv.split(":");
  switch (family) {
    case "Debian":
    case "Alpine":
    case "AlmaLinux":
    case "Rocky Linux":
      return rest.length > 0 ? `${family}:${rest.join(":")}` : family;
    case "Ubuntu":
      if (rest[0] === "Pro") return undefined;
      return `Ubuntu:${rest.filter((r) => r !== "LTS").join(":")}`;
    case "npm":
    case "PyPI":
    case "Go":
    case "Maven":
      return rest.length === 0 ? family : undefined;
    default:
      return undefined;
  }
}

/** The package name as the index keeps it (PyPI normalised; others exactly as OSV writes them). */
export function normalizeName(ecosystem: string, name: string): string {
  return ecosystem === "PyPI" ? normalizePypi(name) : name;
}

/** The OSV family of each gitward ecosystem ("Debian" covers Debian and, by os-release, Ubuntu). */
export interface Lookup {
  /** Exact ecosystem, or a family prefix ("Debian:") when the release is unknown. */
  readonly ecosystem: string;
  readonly exact: boolean;
  readonly name: string;
  /** The version compared with the advisory's (Debian: the source version when the record gives one). */
  readonly version: string;
}

function major(v: string | undefined): string | undefined {
  return v?.split(".")[0];
}

function majorMinor(v: string | undefined): string | undefined {
  const [a, b] = v?.split(".") ?? [];
  return a === undefined || b === undefined ? undefined : `${a}.${b}`;
}

/** The distro qualifier of a purl ("pkg:deb/debian/curl@1?distro=debian-12" → "debian-12"). */
function purlDistro(purl: string): string | undefined {
  const q = purl.split("?")[1]?.split("#")[0];
  for (const kv of q?.split("&") ?? []) {
    const [k, v] = kv.split("=");
    if (k === "distro" && v !== undefined) return decodeURIComponent(v);
  }
  return undefined;
}

/** Maven "group:artifact" from pkg:maven/group/artifact@v, else the name as given. */
function mavenName(p: Package): string {
  const m = /^pkg:maven\/([^/@?#]+)\/([^/@?#]+)/u.exec(p.purl);
  if (m?.[1] !== undefined && m[2] !== undefined)
    return `${decodeURIComponent(m[1])}:${decodeURIComponent(m[2])}`;
  return p.name;
}

/** The distribution and release of an OS package: from os-release, else from its purl's distro. */
function distro(p: Package, inv: Pick<ImageInventory, "os">): { id?: string; version?: string } {
  if (inv.os !== undefined)
    return { id: inv.os.id, ...(inv.os.versionId === undefined ? {} : { version: inv.os.versionId }) };
  const d = purlDistro(p.purl);
  if (d === undefined) return {};
  const dash = d.lastIndexOf("-");
  return dash < 0 ? { id: d } : { id: d.slice(0, dash), version: d.slice(dash + 1) };
}

const OS_FAMILY: Readonly<Record<string, Partial<Record<Ecosystem, string>>>> = {
  debian: { deb: "Debian" },
  ubuntu: { deb: "Ubuntu" },
  alpine: { apk: "Alpine" },
  almalinux: { rpm: "AlmaLinux" },
  rocky: { rpm: "Rocky Linux" },
};

/** Where to look up one package; undefined when gitward has no advisory source for it. */
export function lookupOf(p: Package, inv: Pick<ImageInventory, "os">): Lookup | undefined {
  switch (p.ecosystem) {
    case "npm":
      return { ecosystem: "npm", exact: true, name: p.name, version: p.version };
    case "pypi":
      return { ecosystem: "PyPI", exact: true, name: normalizePypi(p.name), version: p.version };
    case "golang":
      return { ecosystem: "Go", exact: true, name: p.name, version: p.version };
    case "maven":
      return { ecosystem: "Maven", exact: true, name: mavenName(p), version: p.version };
    case "deb":
    case "apk":
    case "rpm": {
      const d = distro(p, inv);
      const fallback = { deb: "Debian", apk: "Alpine", rpm: undefined }[p.ecosystem];
      const family = (d.id === undefined ? undefined : OS_FAMILY[d.id]?.[p.ecosystem]) ?? fallback;
      if (family === undefined) return undefined;
      const release =
        family === "Debian" || family === "AlmaLinux" || family === "Rocky Linux"
          ? major(d.version)
          : family === "Alpine"
            ? majorMinor(d.version) === undefined
              ? undefined
              : `v${majorMinor(d.version) ?? ""}`
            : d.version;
      const name = p.ecosystem === "rpm" ? p.name : (p.source?.name ?? p.name);
      const version = p.ecosystem === "deb" ? (p.source?.version ?? p.version) : p.version;
      return release === undefined
        ? { ecosystem: `${family}:`, exact: false, name, version }
        : { ecosystem: `${family}:${release}`, exact: true, name, version };
    }
  }
}
