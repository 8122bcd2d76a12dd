// Maven coordinates from a jar (a zip) held in memory under a bound: the central directory is read, and
// only META-INF/maven/**/pom.properties entries (and nested jars, one level, as Spring Boot's BOOT-INF/lib)
// are inflated, each with a hard output bound, so a zip bomb ends as ZIP_BOMB, never as an OOM.
import { inflateRawSync } from "node:zlib";
import { SbomError, SbomErrorCode, type SbomLimits } from "./errors.js";

export interface MavenCoordinates {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
  /** Entry path inside the jar (and the nested jar), for the location. */
  readonly entry: string;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const POM = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

type JarLimits = Pick<SbomLimits, "jarBytes" | "jarEntries" | "zipEntryBytes">;

function malformed(where: string, why: string): SbomError {
  return new SbomError(SbomErrorCode.MALFORMED, `${where}: not a readable jar (${why})`);
}

function bomb(where: string, why: string): SbomError {
  return new SbomError(SbomErrorCode.ZIP_BOMB, `${where}: ${why}; the jar is refused as a zip bomb`);
}

function findEocd(buf: Buffer): number {
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) if (buf.readUInt32LE(i) === EOCD) return i;
  return -1;
}

/** Inflates (or copies) one entry, refusing more than `bound` output bytes. */
function entryBytes(buf: Buffer, where: string, e: ZipEntry, bound: number): Buffer {
  if (e.size > bound) throw bomb(where, `entry ${e.name} declares ${e.size} bytes, over ${bound}`);
  if (e.localOffset + 30 > buf.length || buf.readUInt32LE(e.localOffset) !== LOCAL)
    throw malformed(where, `no local header for ${e.name}`);
  const start =
    e.localOffset + 30 + buf.readUInt16LE(e.localOffset + 26) + buf.readUInt16LE(e.localOffset + 28);
  const data = buf.subarray(start, start + e.compressedSize);
  if (data.length !== e.compressedSize) throw malformed(where, `entry ${e.name} is cut short`);
  if (e.method === 0) {
    if (data.length > bound) throw bomb(where, `entry ${e.name} is over ${bound} bytes`);
    return data;
  }
  if (e.method !== 8) throw malformed(where, `entry ${e.name} uses compression method ${e.method}`);
  try {
    return inflateRawSync(data, { maxOutputLength: bound });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
      throw bomb(where, `entry ${e.name} inflates past ${bound} bytes`);
    throw malformed(where, `entry ${e.name} does not inflate`);
  }
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function centralDirectory(buf: Buffer, where: string, limits: JarLimits): ZipEntry[] {
  const eocd = findEocd(buf);
  if (eocd < 0) throw malformed(where, "no end of central directory");
  const count = buf.readUInt16LE(eocd + 10);
  if (count > limits.jarEntries) throw bomb(where, `${count} entries, over ${limits.jarEntries}`);
  let at = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== CENTRAL)
      throw malformed(where, "bad central directory");
    const nameLen = buf.readUInt16LE(at + 28);
    const next = at + 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    entries.push({
      name: buf.toString("utf8", at + 46, at + 46 + nameLen),
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localOffset: buf.readUInt32LE(at + 42),
    });
    at = next;
  }
  return entries;
}

function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], m[2] ?? "");
  }
  return out;
}

/** The Maven coordinates in a jar's pom.properties files, and in those of jars nested one level. */
export function readJar(buf: Buffer, where: string, limits: JarLimits, depth = 0): MavenCoordinates[] {
  if (buf.length > limits.jarBytes) throw bomb(where, `${buf.length} bytes, over ${limits.jarBytes}`);
  const out: MavenCoordinates[] = [];
  for (const e of centralDirectory(buf, where, limits)) {
    if (POM.test(e.name)) {
      const props = parseProperties(entryBytes(buf, where, e, limits.zipEntryBytes).toString("utf8"));
      const groupId = props.get("groupId");
      const artifactId = props.get("artifactId");
      const version = props.get("version");
      if (groupId && artifactId && version) out.push({ groupId, artifactId, version, entry: e.name });
    } else if (depth === 0 && /\.jar$/i.test(e.name)) {
      const inner = entryBytes(buf, where, e, limits.jarBytes);
      for (const c of readJar(inner, `${where}!${e.name}`, limits, 1))
        out.push({ ...c, entry: `${e.name}!${c.entry}` });
    }
  }
  return out;
}
