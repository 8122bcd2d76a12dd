// Image contents from real package databases on this machine, for the SBOM and vulnerability tests and
// the bench: its dpkg status and os-release, package.json files of installed npm packages, METADATA and
// PKG-INFO of Debian's Python packages, Maven jars from /usr/share/java, a Go binary from .tools/bin, and
// Alpine's installed database (test/fixtures/sbom). Each builder returns layers for oci-image.ts.
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { LayerEntry, LayerSpec } from "./oci-image.js";
import { repoRoot } from "./tools.js";

export const HOST = {
  dpkgStatus: "/var/lib/dpkg/status",
  osRelease: "/usr/lib/os-release",
  pythonDir: "/usr/lib/python3/dist-packages",
  javaDir: "/usr/share/java",
  alpineInstalled: path.join(repoRoot, "test", "fixtures", "sbom", "alpine-3.18-aarch64.installed"),
} as const;

/** Alpine 3.18.3's os-release (the release whose packages the installed fixture lists). */
export const ALPINE_OS_RELEASE = [
  'NAME="Alpine Linux"',
  "ID=alpine",
  "VERSION_ID=3.18.3",
  'PRETTY_NAME="Alpine Linux v3.18"',
  'HOME_URL="https://alpinelinux.org/"',
  'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"',
  "",
].join("\n");

/** Debian base: os-release as Debian ships it (etc/os-release → ../usr/lib/os-release), debian_version, dpkg status. */
export function debianBase(): LayerSpec {
  return {
    entries: [
      { path: "usr/lib/os-release", hostFile: HOST.osRelease },
      { path: "etc/os-release", type: "symlink", linkname: "../usr/lib/os-release" },
      { path: "etc/debian_version", hostFile: "/etc/debian_version" },
      { path: "var/lib/dpkg/status", hostFile: HOST.dpkgStatus },
    ],
  };
}

export function alpineBase(): LayerSpec {
  return {
    entries: [
      { path: "etc/os-release", data: ALPINE_OS_RELEASE },
      { path: "lib/apk/db/installed", hostFile: HOST.alpineInstalled },
    ],
  };
}

/** package.json of up to `max` installed npm packages (top-level and scoped) under app/node_modules. */
export function npmPackages(max = 400): LayerEntry[] {
  const root = path.join(repoRoot, "node_modules");
  const dirs: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@"))
      for (const sub of readdirSync(path.join(root, name)).sort()) dirs.push(`${name}/${sub}`);
    else dirs.push(name);
  }
  return dirs
    .filter((d) => existsSync(path.join(root, d, "package.json")))
    .slice(0, max)
    .map((d) => ({
      path: `app/node_modules/${d}/package.json`,
      hostFile: path.join(root, d, "package.json"),
    }));
}

/** Debian's Python packages: dist-info/METADATA, egg-info/PKG-INFO and egg-info files, as installed. */
export function pythonPackages(): LayerEntry[] {
  const out: LayerEntry[] = [];
  for (const name of readdirSync(HOST.pythonDir).sort()) {
    const full = path.join(HOST.pythonDir, name);
    const at = `usr/lib/python3/dist-packages/${name}`;
    if (name.endsWith(".dist-info") && existsSync(path.join(full, "METADATA")))
      out.push({ path: `${at}/METADATA`, hostFile: path.join(full, "METADATA") });
    else if (name.endsWith(".egg-info")) {
      if (statSync(full).isDirectory()) {
        if (existsSync(path.join(full, "PKG-INFO")))
          out.push({ path: `${at}/PKG-INFO`, hostFile: path.join(full, "PKG-INFO") });
      } else out.push({ path: at, hostFile: full });
    }
  }
  return out;
}

/** Versioned jars of /usr/share/java (the unversioned names are symlinks to them). */
export function javaJars(max = 12): LayerEntry[] {
  if (!existsSync(HOST.javaDir)) return [];
  return readdirSync(HOST.javaDir)
    .filter((n) => /-\d[\w.]*\.jar$/.test(n))
    .sort()
    .slice(0, max)
    .map((n) => ({ path: `usr/share/java/${n}`, hostFile: path.join(HOST.javaDir, n) }));
}

/** A real Go binary with build info (helm from .tools/bin), executable, under usr/local/bin. */
export function goBinary(name: "helm" | "kubectl" = "helm"): LayerEntry {
  return { path: `usr/local/bin/${name}`, hostFile: path.join(repoRoot, ".tools", "bin", name), mode: 0o755 };
}
