// OS catalogers: the release from etc/os-release, Debian/Ubuntu's dpkg status (and distroless status.d),
// Alpine's apk installed database. Package records are parsed as the tools write them (RFC 822-style
// stanzas for dpkg, one-letter keys for apk); purls carry the distro qualifiers vulnerability data needs.
import { PackageURL } from "packageurl-js";
import type { ViewItem } from "../layers.js";
import type { OsRelease, Package } from "../types.js";

export type Bytes = Extract<ViewItem, { kind: "bytes" }>;

/** KEY=value lines, values optionally quoted (os-release(5)). */
export function parseOsRelease(text: string): OsRelease | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] === undefined) continue;
    let v = m[2] ?? "";
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) v = v.slice(1, -1);
    fields.set(m[1], v.replace(/\\(.)/g, "$1"));
  }
  const id = fields.get("ID");
  if (id === undefined || id === "") return undefined;
  const versionId = fields.get("VERSION_ID");
  const prettyName = fields.get("PRETTY_NAME");
  return {
    id,
    ...(versionId === undefined ? {} : { versionId }),
    ...(prettyName === undefined ? {} : { prettyName }),
  };
}

/** Stanzas separated by blank lines; continuation lines (leading space) belong to the field above. */
function stanzas(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let current = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (current.size > 0) out.push(current);
      current = new Map();
      last = undefined;
    } else if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
      current.set(last, `${current.get(last) ?? ""}\n${line.trim()}`);
    } else {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim();
      current.set(last, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) out.push(current);
  return out;
}

function distro(os: OsRelease | undefined): Record<string, string> {
  if (os === undefined) return {};
  return { distro: os.versionId === undefined ? os.id : `${os.id}-${os.versionId}` };
}

/** dpkg status (or one status.d file): installed packages only; Source "name (version)" or just "name". */
export function catalogDpkg(file: Bytes, path: string, os: OsRelease | undefined): Package[] {
  const out: Package[] = [];
  for (const s of stanzas(file.data.toString("utf8"))) {
    const name = s.get("Package");
    const version = s.get("Version");
    if (name === undefined || version === undefined) continue;
    // status.d files of distroless images carry no Status: they only list what is installed.
    const status = s.get("Status");
    if (status !== undefined && status.split(/\s+/)[2] !== "installed") continue;
    const arch = s.get("Architecture");
    const src = /^(\S+)(?:\s+\((\S+)\))?$/.exec(s.get("Source") ?? "");
    const namespace = os?.id === "ubuntu" ? "ubuntu" : "debian";
    const qualifiers = { ...(arch === undefined ? {} : { arch }), ...distro(os) };
    out.push({
      ecosystem: "deb",
      name,
      version,
      source: src?.[1] === undefined ? { name, version } : { name: src[1], version: src[2] ?? version },
      purl: new PackageURL("deb", namespace, name, version, qualifiers, undefined).toString(),
      locations: [{ layer: file.layer, path }],
    });
  }
  return out;
}

/** apk's installed database: P name, V version, A arch, o origin (source package), L license. */
export function catalogApk(file: Bytes, path: string, os: OsRelease | undefined): Package[] {
  const out: Package[] = [];
  for (const block of file.data.toString("utf8").split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of block.split("\n")) {
      if (line.length > 2 && line[1] === ":" && !f.has(line[0] ?? "")) f.set(line[0] ?? "", line.slice(2));
    }
    const name = f.get("P");
    const version = f.get("V");
    if (name === undefined || version === undefined) continue;
    const arch = f.get("A");
    const license = f.get("L");
    const qualifiers = {
      ...(arch === undefined ? {} : { arch }),
      ...(os?.versionId === undefined ? {} : { distro: os.versionId }),
    };
    out.push({
      ecosystem: "apk",
      name,
      version,
      source: { name: f.get("o") ?? name, version },
      purl: new PackageURL("apk", "alpine", name, version, qualifiers, undefined).toString(),
      ...(license === undefined || license === "" ? {} : { licenses: [license] }),
      locations: [{ layer: file.layer, path }],
    });
  }
  return out;
}
