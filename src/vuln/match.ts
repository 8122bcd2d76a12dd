// Packages × advisories → findings. Each package is looked up by its OSV ecosystem and name (source
// package for Debian and Alpine), and each affected entry is evaluated by OSV's rules: listed versions,
// then ECOSYSTEM/SEMVER ranges whose sorted events introduced/fixed/last_affected/limit decide. GIT ranges
// name commits, and deciding them needs the project's commit graph, which an image does not carry: they are
// never evaluated against a version, and their `fixed` commit is never reported as a fixed version. An entry
// whose only ranges are GIT matches through its `versions` list (OSV.dev enumerates the tags a GIT range
// covers there); one with neither is reported as a warning, not matched.
import type { ImageInventory, Package, PackageLocation } from "../sbom/types.js";
import type { Affect, VulnDb } from "./db.js";
import { indexKey, lookupOf } from "./ecosystem.js";
import type { AdvisorySeverity, OsvEvent, OsvRange } from "./osv.js";
import { compareVersions, type VersionScheme } from "./version/compare.js";

export interface VulnFinding {
  /** The advisory id (CVE, GHSA, DSA/DLA, ALPINE-CVE, PYSEC, GO...). */
  readonly id: string;
  readonly aliases: readonly string[];
  readonly summary?: string;
  readonly severity: AdvisorySeverity;
  readonly package: {
    readonly name: string;
    readonly ecosystem: Package["ecosystem"];
    readonly version: string;
    readonly purl: string;
    readonly source?: string;
  };
  /** The first version that fixes it, when the advisory names one after the installed version. */
  readonly fixedVersion?: string;
  /** The OSV ecosystem and name it was matched under ("Debian:12/openssl"). */
  readonly matchedAs: string;
  readonly locations: readonly PackageLocation[];
}

export interface MatchResult {
  readonly findings: readonly VulnFinding[];
  /** Things the matcher could not decide, each once ("version X of npm/y does not parse as semver"). */
  readonly warnings: readonly string[];
}

function schemeOf(ecosystem: string, rangeType: OsvRange["type"]): VersionScheme {
  const family = ecosystem.split(":")[0];
  switch (family) {
    case "Debian":
    case "Ubuntu":
      return "dpkg";
    case "Alpine":
      return "apk";
    case "AlmaLinux":
    case "Rocky Linux":
      return "rpm";
    case "PyPI":
      return "pep440";
    case "Go":
      return "go";
    case "Maven":
      return "maven";
    default:
      return rangeType === "SEMVER" ? "semver" : "semver";
  }
}

type Verdict = { affected: false } | { affected: true; fixed?: string } | { undecided: string };

/** True when the entry says nothing a version can be matched by: GIT ranges only, and no versions list. */
function gitOnly(affect: Affect): boolean {
  return (
    (affect.versions === undefined || affect.versions.length === 0) &&
    affect.ranges.length > 0 &&
    affect.ranges.every((r) => r.type === "GIT")
  );
}

const eventVersion = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? "";

/** OSV's range evaluation: the last event at or below the version decides. */
function inRange(
  version: string,
  range: OsvRange,
  cmp: (a: string, b: string) => number | undefined,
): Verdict {
  // "0" introduced means "from the first version"; it sorts before everything.
  const order = (x: OsvEvent, y: OsvEvent): number => {
    if (x.introduced === "0") return y.introduced === "0" ? 0 : -1;
    if (y.introduced === "0") return 1;
    return cmp(eventVersion(x), eventVersion(y)) ?? 0;
  };
  for (const e of range.events) {
    if (e.introduced === "0") continue;
    if (cmp(version, eventVersion(e)) === undefined)
      return { undecided: `cannot compare ${version} with ${eventVersion(e)}` };
  }
  const events = [...range.events].sort(order);
  let affected = false;
  let at = -1;
  for (const [i, e] of events.entries()) {
    const c = e.introduced === "0" ? 1 : (cmp(version, eventVersion(e)) ?? 0);
    if (e.introduced !== undefined && c >= 0) {
      affected = true;
      at = i;
    } else if (e.fixed !== undefined && c >= 0) affected = false;
    else if (e.last_affected !== undefined && c > 0) affected = false;
    else if (e.limit !== undefined && c >= 0) affected = false;
  }
  if (!affected) return { affected: false };
  const fixed = events.slice(at + 1).find((e) => e.fixed !== undefined)?.fixed;
  return fixed === undefined ? { affected: true } : { affected: true, fixed };
}

function evaluate(version: string, affect: Affect): Verdict {
  if (affect.versions?.includes(version) === true) {
    // Listed outright; a range may still name the fix.
    for (const r of affect.ranges) {
      if (r.type === "GIT") continue;
      const v = inRange(version, r, (a, b) => compareVersions(schemeOf(affect.eco, r.type), a, b));
      if ("affected" in v && v.affected && v.fixed !== undefined) return v;
    }
    return { affected: true };
  }
  let undecided: string | undefined;
  for (const r of affect.ranges) {
    if (r.type === "GIT") continue;
    const v = inRange(version, r, (a, b) => compareVersions(schemeOf(affect.eco, r.type), a, b));
    if ("undecided" in v) undecided = v.undecided;
    else if (v.affected) return v;
  }
  return undecided === undefined ? { affected: false } : { undecided };
}

/** The index entries for one lookup: the exact ecosystem, or every release of a family. */
function entries(db: VulnDb, ecosystem: string, exact: boolean, name: string): Affect[] {
  if (exact) return [...(db.index.get(indexKey(ecosystem, name)) ?? [])];
  return db.ecosystems
    .filter((e) => e.startsWith(ecosystem))
    .flatMap((e) => db.index.get(indexKey(e, name)) ?? []);
}

/** Every finding of an inventory against a database, sorted by package then advisory id. */
export function matchInventory(inv: Pick<ImageInventory, "os" | "packages">, db: VulnDb): MatchResult {
  const findings: VulnFinding[] = [];
  const warnings = new Set<string>();
  for (const p of inv.packages) {
    const look = lookupOf(p, inv);
    if (look === undefined) continue;
    if (!look.exact)
      warnings.add(
        `the OS release of ${p.ecosystem} packages is unknown: matched against every ${look.ecosystem.slice(0, -1)} release`,
      );
    const seen = new Set<number>();
    for (const affect of entries(db, look.ecosystem, look.exact, look.name)) {
      if (seen.has(affect.a)) continue;
      if (gitOnly(affect)) {
        const id = db.advisories[affect.a]?.id ?? "?";
        warnings.add(
          `${id} gives only GIT (commit) ranges and no versions for ${affect.eco}/${look.name}: it cannot be matched by version; not matched`,
        );
        continue;
      }
      const v = evaluate(look.version, affect);
      if ("undecided" in v) {
        warnings.add(`${p.ecosystem}/${p.name} ${p.version}: ${v.undecided}; not matched`);
        continue;
      }
      if (!v.affected) continue;
      seen.add(affect.a);
      const adv = db.advisories[affect.a];
      if (adv === undefined) continue;
      findings.push({
        id: adv.id,
        aliases: adv.aliases,
        ...(adv.summary === undefined ? {} : { summary: adv.summary }),
        severity: adv.severity,
        package: {
          name: p.name,
          ecosystem: p.ecosystem,
          version: p.version,
          purl: p.purl,
          ...(p.source === undefined ? {} : { source: p.source.name }),
        },
        ...(v.fixed === undefined ? {} : { fixedVersion: v.fixed }),
        matchedAs: `${affect.eco}/${look.name}`,
        locations: p.locations,
      });
    }
  }
  findings.sort(
    (x, y) =>
      (x.package.name < y.package.name ? -1 : x.package.name > y.package.name ? 1 : 0) ||
      (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
  return { findings, warnings: [...warnings] };
}
