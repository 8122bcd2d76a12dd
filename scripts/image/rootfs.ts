// What goes into gitward's image, as layer entries: the runtime (the node binary, the git binaries and the
// shared libraries `ldd` names for them, /etc/passwd with the non-root user), the production
// node_modules, and the app (package.json, dist/src, build-info.json). No shell, no package manager.
import { execFileSync, spawnSync } from "node:child_process";
import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import type { LayerEntry } from "./oci-layout.js";

/** distroless' "nonroot" user: the id Kubernetes' runAsNonRoot sees and PodSecurity accepts. */
export const NONROOT_UID = 65532;

/** Where the host binaries land in the image; git finds its helpers under its compiled-in exec path. */
export interface HostBinary {
  from: string;
  to: string;
}

export const NODE_PATH = "/usr/local/bin/node";

/** git for fetching config repositories over https and git:// (ssh needs a shell for GIT_SSH_COMMAND). */
export const GIT_BINARIES: readonly HostBinary[] = [
  { from: "/usr/bin/git", to: "/usr/bin/git" },
  { from: "/usr/lib/git-core/git", to: "/usr/lib/git-core/git" },
  { from: "/usr/lib/git-core/git-remote-http", to: "/usr/lib/git-core/git-remote-http" },
  { from: "/usr/lib/git-core/git-remote-http", to: "/usr/lib/git-core/git-remote-https" },
];

/** The shared libraries (and the dynamic loader) a binary loads, as `ldd` resolves them on this host. */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1] !== undefined) libs.push(m[1]);
  }
  return libs;
}

/** The runtime layer: binaries, their libraries, users, CA bundle, writable-by-mount /tmp and $HOME. */
export function runtimeEntries(opts: { node?: string; binaries: readonly HostBinary[] }): LayerEntry[] {
  const binaries = [
    ...(opts.node === undefined ? [] : [{ from: opts.node, to: NODE_PATH }]),
    ...opts.binaries,
  ];
  const entries: LayerEntry[] = [
    {
      type: "file",
      path: "/etc/passwd",
      content: Buffer.from(
        `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n`,
      ),
    },
    { type: "file", path: "/etc/group", content: Buffer.from(`root:x:0:\nnonroot:x:${NONROOT_UID}:\n`) },
    { type: "dir", path: "/home/nonroot", mode: 0o700, uid: NONROOT_UID },
    // With a read-only root filesystem /tmp is an emptyDir mount; the directory is the mount point.
    { type: "dir", path: "/tmp", mode: 0o1777 },
  ];
  const libs = new Set<string>();
  for (const b of binaries) {
    entries.push({ type: "file", path: b.to, from: b.from, mode: 0o755 });
    for (const lib of sharedLibraries(b.from)) libs.add(lib);
  }
  for (const lib of libs) entries.push({ type: "file", path: lib, from: lib, mode: 0o755 });
  if (opts.binaries.length > 0) {
    // git's TLS (libcurl) reads the system bundle; node carries its own Mozilla store.
    const bundle = "/etc/ssl/certs/ca-certificates.crt";
    entries.push({ type: "file", path: bundle, from: bundle });
  }
  return entries;
}

/** Every file, directory and symlink under `dir`, placed under `to`; `skip` filters by relative path. */
export async function treeEntries(
  dir: string,
  to: string,
  skip: (relative: string) => boolean = () => false,
): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(path.join(dir, rel))) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (skip(r)) continue;
      const abs = path.join(dir, r);
      const info = await lstat(abs);
      const target = path.posix.join(to, r);
      if (info.isSymbolicLink()) entries.push({ type: "symlink", path: target, target: await readlink(abs) });
      else if (info.isDirectory()) {
        entries.push({ type: "dir", path: target });
        await walk(r);
      } else if (info.isFile()) entries.push({ type: "file", path: target, from: abs, mode: info.mode });
      else throw new Error(`image: ${abs} is neither a file, a directory nor a symlink`);
    }
  };
  await walk("");
  return entries;
}

/** The Debian packages that own `files` with their versions (for the SBOM); empty without dpkg. */
export function debianPackagesOf(files: readonly string[]): { name: string; version: string }[] {
  if (files.length === 0) return [];
  try {
    // dpkg -S exits 1 when any file has no owner (merged-/usr paths): the owners it did find still count.
    const owners = spawnSync("dpkg", ["-S", ...files], { encoding: "utf8" }).stdout;
    const names = new Set<string>();
    for (const line of owners.split("\n")) {
      const pkg = /^([^:,\s]+)(?::[a-z0-9]+)?(?:,[^:]*)?: /.exec(line)?.[1];
      if (pkg !== undefined) names.add(pkg);
    }
    const versions = execFileSync("dpkg-query", ["-W", "-f=${Package} ${Version}\n", ...[...names].sort()], {
      encoding: "utf8",
    });
    return versions
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .filter((p): p is [string, string] => p.length === 2)
      .map(([name, version]) => ({ name, version }));
  } catch {
    return []; // no dpkg on this host: the SBOM lists npm packages and node only
  }
}
