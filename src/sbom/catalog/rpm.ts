// RPM cataloger: var/lib/rpm/rpmdb.sqlite (rpm ≥ 4.16), opened in memory from its bytes with node:sqlite,
// each Packages blob an rpm header (index entries + data store) read defensively: NAME, VERSION, RELEASE,
// EPOCH, ARCH, LICENSE and SOURCERPM, bounds-checked against the blob's own length.
import { createRequire } from "node:module";
import type * as Sqlite from "node:sqlite";
import { PackageURL } from "packageurl-js";
import { SbomError, SbomErrorCode } from "../errors.js";
import type { OsRelease, Package } from "../types.js";
import type { Bytes } from "./os.js";

const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  license: 1014,
  arch: 1022,
  sourcerpm: 1044,
} as const;
const STRING = 6;
const INT32 = 4;
const I18NSTRING = 9;

/** The tags we need from one header blob; undefined when the blob is not a header. */
export function readHeader(blob: Uint8Array): Map<number, string | number> | undefined {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < 8) return undefined;
  const count = buf.readUInt32BE(0);
  const dataLen = buf.readUInt32BE(4);
  const store = 8 + count * 16;
  if (count > 100_000 || store + dataLen > buf.length) return undefined;
  const wanted = new Set<number>(Object.values(TAG));
  const out = new Map<number, string | number>();
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const tag = buf.readUInt32BE(at);
    if (!wanted.has(tag)) continue;
    const type = buf.readUInt32BE(at + 4);
    const offset = buf.readUInt32BE(at + 8);
    if (offset >= dataLen) continue;
    const start = store + offset;
    if (type === STRING || type === I18NSTRING) {
      const end = buf.indexOf(0, start);
      if (end < 0 || end > store + dataLen) continue;
      out.set(tag, buf.toString("utf8", start, end));
    } else if (type === INT32 && offset + 4 <= dataLen) out.set(tag, buf.readUInt32BE(start));
  }
  return out;
}

/** "openssl-3.0.7-27.el9.src.rpm" → { name: openssl, version: 3.0.7-27.el9 }. */
function sourceRpm(file: string): { name: string; version: string } | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(file);
  return m?.[1] === undefined ? undefined : { name: m[1], version: `${m[2] ?? ""}-${m[3] ?? ""}` };
}

export function catalogRpm(file: Bytes, path: string, os: OsRelease | undefined): Package[] {
  // Loaded here, not imported at the top: on a Node without node:sqlite a static import fails while the
  // CLI is still linking, before its Node-version check can say so in one line.
  const { DatabaseSync } = createRequire(import.meta.url)("node:sqlite") as typeof Sqlite;
  const db = new DatabaseSync(":memory:");
  let rows: { blob: Uint8Array }[];
  try {
    // rpm keeps its database in WAL mode (header bytes 18-19 = 2), which an in-memory copy cannot open;
    // the layer holds no -wal file worth reading (rpm checkpoints on close), so read it as a rollback db.
    const bytes = Buffer.from(file.data);
    if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) bytes.fill(1, 18, 20);
    db.deserialize(bytes);
    db.enableDefensive(true);
    rows = db.prepare("SELECT blob FROM Packages").all() as unknown as { blob: Uint8Array }[];
  } catch (err) {
    throw new SbomError(
      SbomErrorCode.MALFORMED,
      `layer ${file.layer}: ${path} is not an rpm sqlite database (${err instanceof Error ? err.message : String(err)})`,
    );
  } finally {
    db.close();
  }
  const out: Package[] = [];
  for (const row of rows) {
    const h = readHeader(row.blob);
    const name = h?.get(TAG.name);
    const ver = h?.get(TAG.version);
    const rel = h?.get(TAG.release);
    if (h === undefined || typeof name !== "string" || typeof ver !== "string" || name === "gpg-pubkey")
      continue;
    const epoch = h.get(TAG.epoch);
    const evr = `${typeof epoch === "number" && epoch > 0 ? `${epoch}:` : ""}${ver}${typeof rel === "string" ? `-${rel}` : ""}`;
    const arch = h.get(TAG.arch);
    const license = h.get(TAG.license);
    const src = sourceRpm(String(h.get(TAG.sourcerpm) ?? ""));
    const qualifiers = {
      ...(typeof arch === "string" ? { arch } : {}),
      ...(typeof epoch === "number" && epoch > 0 ? { epoch: String(epoch) } : {}),
      ...(os === undefined ? {} : { distro: `${os.id}-${os.versionId ?? ""}` }),
    };
    out.push({
      ecosystem: "rpm",
      name,
      version: evr,
      ...(src === undefined ? {} : { source: src }),
      purl: new PackageURL(
        "rpm",
        os?.id ?? "redhat",
        name,
        `${ver}${typeof rel === "string" ? `-${rel}` : ""}`,
        qualifiers,
        undefined,
      ).toString(),
      ...(typeof license === "string" && license !== "" ? { licenses: [license] } : {}),
      locations: [{ layer: file.layer, path }],
    });
  }
  return out;
}
