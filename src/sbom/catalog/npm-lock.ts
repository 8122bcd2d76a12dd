// npm lockfiles as a cataloger source: package-lock.json / npm-shrinkwrap.json (lockfileVersion 1, 2, 3),
// node_modules/.package-lock.json (npm's hidden lockfile), yarn.lock (v1 and Berry) and pnpm-lock.yaml
// (v5, v6, v9). A lockfile names what an install of the project resolves to; what it marks as a dev
// dependency, the project's own workspaces and links, and packages for another OS are left out, since a
// production image does not hold them. Lockfiles are third-party input: anything that does not fit the
// format is skipped, never guessed.
import { parseDocument } from "yaml";
import type { Package, PackageLocation } from "../types.js";
import { npmPackage } from "./lang.js";

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A version from a registry (semver-like); git URLs, file: and link: specs are not package versions. */
function registryVersion(v: unknown): v is string {
  return typeof v === "string" && /^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(v);
}

/** npm's `os` field: ["linux"], ["darwin", "win32"], ["!win32"]. Images are Linux. */
function forLinux(os: unknown): boolean {
  if (!Array.isArray(os) || os.length === 0) return true;
  const list = os.filter((x): x is string => typeof x === "string");
  if (list.includes("linux")) return true;
  if (list.includes("!linux")) return false;
  return list.length > 0 && list.every((x) => x.startsWith("!"));
}

/** Yarn Berry's `conditions: os=darwin & cpu=arm64`: false when it names OSes and Linux is not one. */
function conditionsForLinux(conditions: unknown): boolean {
  if (typeof conditions !== "string") return true;
  const oses = [...conditions.matchAll(/\bos=([A-Za-z0-9_]+)/g)].map((m) => m[1]);
  return oses.length === 0 || oses.includes("linux");
}

/** One package per purl: a lockfile may name a version twice (Berry's patch: entries beside npm: ones). */
function unique(packages: Package[]): Package[] {
  const seen = new Set<string>();
  return packages.filter((p) => {
    if (seen.has(p.purl)) return false;
    seen.add(p.purl);
    return true;
  });
}

function licensesOf(entry: Record<string, unknown>): string[] | undefined {
  return typeof entry["license"] === "string" && entry["license"] !== "" ? [entry["license"]] : undefined;
}

/** lockfileVersion 2 and 3: `packages` keyed by install path ("node_modules/a/node_modules/@s/b"). */
function fromPackages(packages: Record<string, unknown>, loc: PackageLocation): Package[] {
  const out: Package[] = [];
  for (const [key, entry] of Object.entries(packages)) {
    if (!isObj(entry)) continue;
    const at = key.lastIndexOf("node_modules/");
    // "" is the project itself; keys without node_modules/ are its workspaces.
    if (at < 0) continue;
    if (entry["link"] === true || entry["dev"] === true || !forLinux(entry["os"])) continue;
    const name = typeof entry["name"] === "string" ? entry["name"] : key.slice(at + "node_modules/".length);
    if (name === "" || !registryVersion(entry["version"])) continue;
    out.push(npmPackage(name, entry["version"], loc, licensesOf(entry)));
  }
  return out;
}

/** lockfileVersion 1: a nested `dependencies` tree. */
function fromDependencies(deps: Record<string, unknown>, loc: PackageLocation, depth = 0): Package[] {
  if (depth > 64) return [];
  const out: Package[] = [];
  for (const [name, entry] of Object.entries(deps)) {
    if (!isObj(entry) || entry["dev"] === true) continue;
    if (registryVersion(entry["version"])) out.push(npmPackage(name, entry["version"], loc));
    if (isObj(entry["dependencies"])) out.push(...fromDependencies(entry["dependencies"], loc, depth + 1));
  }
  return out;
}

/** package-lock.json, npm-shrinkwrap.json, node_modules/.package-lock.json. */
export function catalogPackageLock(data: Buffer, loc: PackageLocation): Package[] {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString("utf8"));
  } catch {
    return [];
  }
  if (!isObj(doc)) return [];
  // v2 carries both forms for old npm; `packages` is the complete one.
  if (isObj(doc["packages"])) return unique(fromPackages(doc["packages"], loc));
  if (isObj(doc["dependencies"])) return unique(fromDependencies(doc["dependencies"], loc));
  return [];
}

/** "@scope/name@^1.0.0" → "@scope/name"; an alias "x@npm:real@^1" → "real". */
function nameOfSpec(spec: string): string | undefined {
  const at = spec.indexOf("@", 1);
  if (at < 0) return undefined;
  const range = spec.slice(at + 1);
  if (range.startsWith("npm:")) {
    const real = range.slice(4);
    const at2 = real.indexOf("@", 1);
    return at2 < 0 ? real : real.slice(0, at2);
  }
  return spec.slice(0, at);
}

const unquote = (s: string): string => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/** yarn.lock v1: blocks headed `"a@^1", a@~1.1:` with an indented `version "1.2.3"` line. */
function yarnV1(text: string, loc: PackageLocation): Package[] {
  const out: Package[] = [];
  let name: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    if (!line.startsWith(" ")) {
      const first = line.endsWith(":") ? line.slice(0, -1).split(", ")[0] : undefined;
      name = first === undefined ? undefined : nameOfSpec(unquote(first.trim()));
      continue;
    }
    const m = /^ {2}version "?([^"\s]+)"?$/.exec(line);
    if (name !== undefined && m?.[1] !== undefined && registryVersion(m[1])) {
      out.push(npmPackage(name, m[1], loc));
      name = undefined;
    }
  }
  return out;
}

function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  try {
    // Lockfiles use no aliases; a file that does is not one.
    return doc.toJS({ maxAliasCount: 0 });
  } catch {
    return undefined;
  }
}

/** yarn.lock of Yarn 2+ (YAML): `resolution: "name@npm:1.2.3"`, workspaces and links have linkType soft. */
function yarnBerry(doc: Record<string, unknown>, loc: PackageLocation): Package[] {
  const out: Package[] = [];
  for (const [key, entry] of Object.entries(doc)) {
    if (key === "__metadata" || !isObj(entry) || entry["linkType"] === "soft") continue;
    if (!conditionsForLinux(entry["conditions"])) continue;
    const resolution = entry["resolution"];
    if (typeof resolution !== "string") continue;
    const at = Math.max(resolution.indexOf("@npm:", 1), resolution.indexOf("@patch:", 1));
    if (at < 0) continue;
    const name = resolution.slice(0, at);
    if (registryVersion(entry["version"])) out.push(npmPackage(name, entry["version"], loc));
  }
  return out;
}

export function catalogYarnLock(data: Buffer, loc: PackageLocation): Package[] {
  const text = data.toString("utf8");
  if (!/^__metadata:/m.test(text)) return unique(yarnV1(text, loc));
  const doc = parseYaml(text);
  return isObj(doc) ? unique(yarnBerry(doc, loc)) : [];
}

/** A pnpm package key: "/a/1.0.0" (v5), "/a@1.0.0(peer@2)" (v6), "a@1.0.0" (v9), "/@s/a/1.0.0_peer@2". */
function pnpmKey(key: string): { name: string; version: string } | undefined {
  const k = key.replace(/^\//, "").replace(/\(.*$/, "");
  const scoped = k.startsWith("@");
  const at = k.indexOf("@", scoped ? 1 : 0);
  const slash = k.indexOf("/", scoped ? k.indexOf("/") + 1 : 0);
  if (at > 0 && (slash < 0 || at < slash)) return { name: k.slice(0, at), version: k.slice(at + 1) };
  if (slash > 0) return { name: k.slice(0, slash), version: k.slice(slash + 1).replace(/_.*$/, "") };
  return undefined;
}

/** v9 marks no dev flag on packages: what the importers' non-dev dependencies reach, through snapshots. */
function pnpmV9Production(doc: Record<string, unknown>): Set<string> | undefined {
  const importers = doc["importers"];
  const snapshots = doc["snapshots"];
  if (!isObj(importers) || !isObj(snapshots)) return undefined;
  const reached = new Set<string>();
  const queue: string[] = [];
  const add = (name: string, ref: unknown): void => {
    const version = isObj(ref) ? ref["version"] : ref;
    if (typeof version !== "string" || version.startsWith("link:")) return;
    const id = `${name}@${version}`;
    if (!reached.has(id)) {
      reached.add(id);
      queue.push(id);
    }
  };
  for (const imp of Object.values(importers))
    if (isObj(imp))
      for (const field of ["dependencies", "optionalDependencies"])
        if (isObj(imp[field])) for (const [n, ref] of Object.entries(imp[field])) add(n, ref);
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    const snap = snapshots[id];
    if (!isObj(snap)) continue;
    for (const field of ["dependencies", "optionalDependencies"])
      if (isObj(snap[field])) for (const [n, ref] of Object.entries(snap[field])) add(n, ref);
  }
  // Snapshot ids carry peer suffixes ("a@1.0.0(b@2.0.0)"); packages are keyed without them.
  return new Set([...reached].map((id) => id.replace(/\(.*$/, "")));
}

export function catalogPnpmLock(data: Buffer, loc: PackageLocation): Package[] {
  const doc = parseYaml(data.toString("utf8"));
  if (!isObj(doc) || !isObj(doc["packages"])) return [];
  const production = pnpmV9Production(doc);
  const out: Package[] = [];
  for (const [key, entry] of Object.entries(doc["packages"])) {
    if (!isObj(entry) || entry["dev"] === true || !forLinux(entry["os"])) continue;
    const parsed = pnpmKey(key);
    if (parsed === undefined) continue;
    const name = typeof entry["name"] === "string" ? entry["name"] : parsed.name;
    const version = typeof entry["version"] === "string" ? entry["version"] : parsed.version;
    if (!registryVersion(version)) continue;
    if (production !== undefined && !production.has(`${parsed.name}@${parsed.version}`)) continue;
    out.push(npmPackage(name, version, loc));
  }
  return unique(out);
}

/**
 * The lockfile cataloger for a path, if it is a lockfile. Lockfiles inside node_modules (a dependency's
 * own, published with it) describe that dependency's development, not the image: only npm's hidden
 * node_modules/.package-lock.json is read there.
 */
export function lockfileCataloger(
  path: string,
): ((data: Buffer, loc: PackageLocation) => Package[]) | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dir = path.slice(0, path.length - base.length);
  if (base === ".package-lock.json")
    return dir === "node_modules/" || dir.endsWith("/node_modules/") ? catalogPackageLock : undefined;
  if (dir.split("/").includes("node_modules")) return undefined;
  switch (base) {
    case "package-lock.json":
    case "npm-shrinkwrap.json":
      return catalogPackageLock;
    case "yarn.lock":
      return catalogYarnLock;
    case "pnpm-lock.yaml":
      return catalogPnpmLock;
    default:
      return undefined;
  }
}
