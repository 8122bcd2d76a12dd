// One entry point for version order per ecosystem: the matcher asks "is a < b?" without knowing which
// rules apply. semver (npm, Go) and PEP 440 (PyPI) use the ecosystems' own reference libraries; dpkg, apk,
// RPM and Maven are written here after their specifications (see each file).
import { compare as comparePep440, valid as validPep440 } from "@renovatebot/pep440";
import semver from "semver";
import type { Ecosystem } from "../../sbom/types.js";
import { compareApk } from "./apk.js";
import { compareDeb } from "./dpkg.js";
import { compareMaven } from "./maven.js";
import { compareRpm } from "./rpm.js";

export type VersionScheme = "dpkg" | "apk" | "rpm" | "semver" | "go" | "pep440" | "maven";

export const SCHEME_OF: Readonly<Record<Ecosystem, VersionScheme>> = {
  deb: "dpkg",
  apk: "apk",
  rpm: "rpm",
  npm: "semver",
  golang: "go",
  pypi: "pep440",
  maven: "maven",
};

/** Go module versions: a "v" prefix, and "+incompatible" build metadata that does not take part in order. */
function goSemver(v: string): semver.SemVer | null {
  const bare = v.startsWith("v") ? v.slice(1) : v;
  return semver.parse(bare.replace(/\+incompatible$/u, ""));
}

/**
 * -1, 0 or 1; undefined when either version is not a version of that scheme (a semver or PEP 440 string
 * that does not parse), so the caller can say it could not decide rather than guess.
 */
export function compareVersions(scheme: VersionScheme, a: string, b: string): number | undefined {
  switch (scheme) {
    case "dpkg":
      return compareDeb(a, b);
    case "apk":
      return compareApk(a, b);
    case "rpm":
      return compareRpm(a, b);
    case "maven":
      return compareMaven(a, b);
    case "pep440":
      if (validPep440(a) === null || validPep440(b) === null) return undefined;
      return Math.sign(comparePep440(a, b));
    case "semver": {
      const x = semver.parse(a);
      const y = semver.parse(b);
      return x === null || y === null ? undefined : semver.compare(x, y);
    }
    case "go": {
      const x = goSemver(a);
      const y = goSemver(b);
      return x === null || y === null ? undefined : semver.compare(x, y);
    }
  }
}
