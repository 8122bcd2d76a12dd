// Language catalogers: npm package.json files, Python dist-info METADATA / egg-info PKG-INFO, Go build info
// of binaries, Maven coordinates from jars. Each returns packages with the path they were found at.
import { PackageURL } from "packageurl-js";
import type { GoBuildInfo } from "../goscan.js";
import type { MavenCoordinates } from "../jar.js";
import type { Package, PackageLocation } from "../types.js";

function npmLicenses(doc: Record<string, unknown>): string[] {
  const one = (v: unknown): string | undefined =>
    typeof v === "string"
      ? v
      : typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string"
        ? (v as { type: string }).type
        : undefined;
  const l = one(doc.license);
  if (l !== undefined) return [l];
  return Array.isArray(doc.licenses) ? doc.licenses.map(one).filter((x): x is string => x !== undefined) : [];
}

/** One package.json; files without a string name and version (nested "type": "module" stubs) are none. */
export function catalogNpm(data: Buffer, loc: PackageLocation): Package[] {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString("utf8"));
  } catch {
    return [];
  }
  if (typeof doc !== "object" || doc === null) return [];
  const d = doc as Record<string, unknown>;
  if (typeof d.name !== "string" || typeof d.version !== "string" || d.name === "" || d.version === "")
    return [];
  return [npmPackage(d.name, d.version, loc, npmLicenses(d))];
}

/** An npm package with its purl (scope as namespace); shared with the lockfile catalogers. */
export function npmPackage(
  name: string,
  version: string,
  loc: PackageLocation,
  licenses?: readonly string[],
): Package {
  const scoped = /^(@[^/]+)\/(.+)$/.exec(name);
  return {
    ecosystem: "npm",
    name,
    version,
    purl: new PackageURL("npm", scoped?.[1], scoped?.[2] ?? name, version, undefined, undefined).toString(),
    ...(licenses === undefined || licenses.length === 0 ? {} : { licenses }),
    locations: [loc],
  };
}

/** Core metadata (RFC 822 headers up to the first blank line): Name, Version, License(-Expression). */
export function catalogPython(data: Buffer, loc: PackageLocation): Package[] {
  const text = data.toString("utf8");
  const end = text.search(/\r?\n\r?\n/);
  const headers = new Map<string, string>();
  const classifiers: string[] = [];
  for (const line of (end < 0 ? text : text.slice(0, end)).split(/\r?\n/)) {
    const colon = line.indexOf(": ");
    if (colon <= 0 || line.startsWith(" ")) continue;
    const key = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 2).trim();
    if (key === "classifier" && value.startsWith("License :: "))
      classifiers.push(value.split(" :: ").pop() ?? value);
    else if (!headers.has(key)) headers.set(key, value);
  }
  const name = headers.get("name");
  const version = headers.get("version");
  if (name === undefined || version === undefined || name === "" || version === "") return [];
  const expr = headers.get("license-expression");
  const license = headers.get("license");
  const licenses =
    expr !== undefined
      ? [expr]
      : license !== undefined && license !== "UNKNOWN" && license !== "" && !license.includes("\n")
        ? [license]
        : classifiers;
  return [
    {
      ecosystem: "pypi",
      name,
      version,
      purl: new PackageURL("pypi", undefined, name, version, undefined, undefined).toString(),
      ...(licenses.length === 0 ? {} : { licenses }),
      locations: [loc],
    },
  ];
}

function goPurl(path: string, version: string): string {
  const slash = path.lastIndexOf("/");
  const ns = slash < 0 ? undefined : path.slice(0, slash);
  return new PackageURL(
    "golang",
    ns,
    path.slice(slash + 1),
    version === "" ? undefined : version,
    undefined,
    undefined,
  ).toString();
}

/** A Go binary's modules: the main module (unless "(devel)"), each dependency (as replaced), and stdlib. */
export function catalogGo(info: GoBuildInfo, loc: PackageLocation): Package[] {
  const out: Package[] = [];
  const mod = (path: string, version: string): void => {
    out.push({ ecosystem: "golang", name: path, version, purl: goPurl(path, version), locations: [loc] });
  };
  if (info.main !== undefined && info.main.version !== "" && info.main.version !== "(devel)")
    mod(info.main.path, info.main.version);
  for (const d of info.deps) {
    const used = d.replacedBy !== undefined && d.replacedBy.version !== "" ? d.replacedBy : d;
    mod(used.path, used.version);
  }
  const go = /^go(\d+\.\d+(?:\.\d+)?)/.exec(info.goVersion);
  if (go?.[1] !== undefined) mod("stdlib", `v${go[1]}`);
  return out;
}

export function catalogMaven(coords: readonly MavenCoordinates[], loc: PackageLocation): Package[] {
  return coords.map((c) => ({
    ecosystem: "maven" as const,
    name: `${c.groupId}:${c.artifactId}`,
    version: c.version,
    purl: new PackageURL("maven", c.groupId, c.artifactId, c.version, undefined, undefined).toString(),
    locations: [{ ...loc, path: `${loc.path}!${c.entry}` }],
  }));
}
