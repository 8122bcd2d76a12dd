// Which files of a layer the catalogers need, decided from the tar header alone, so everything else streams
// past without being kept: package databases and manifests as bytes, executables scanned for Go build
// info, jars read for their pom.properties.
import { lockfileCataloger } from "./catalog/npm-lock.js";

/** How a wanted file is consumed: its bytes kept, scanned for Go build info, or read as a zip. */
export type Want = "bytes" | "go" | "jar";

const EXACT = new Set([
  "etc/os-release",
  "usr/lib/os-release",
  "var/lib/dpkg/status",
  "lib/apk/db/installed",
  "var/lib/rpm/rpmdb.sqlite",
]);

/** Files kept as bytes (and symlinks at these paths, so os-release → ../usr/lib/os-release resolves). */
export function wantsBytes(path: string): boolean {
  if (EXACT.has(path)) return true;
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  const dir = slash < 0 ? "" : path.slice(0, slash);
  if (dir === "var/lib/dpkg/status.d") return !base.endsWith(".md5sums");
  if (base === "package.json") return true;
  if (lockfileCataloger(path) !== undefined) return true;
  if (base === "METADATA") return dir.endsWith(".dist-info");
  if (base === "PKG-INFO") return dir.endsWith(".egg-info") || dir.endsWith("/EGG-INFO");
  return base.endsWith(".egg-info");
}

const JAR = /\.(jar|war|ear|par)$/i;

/** What to do with a regular file of `size` bytes and tar `mode` at `path` (undefined: let it stream past). */
export function wantFile(path: string, mode: number, size: number): Want | undefined {
  if (wantsBytes(path)) return "bytes";
  if (JAR.test(path)) return "jar";
  // Go binaries are executables; their build info is found by scanning, not by name.
  if ((mode & 0o111) !== 0 && size >= 1024) return "go";
  return undefined;
}
