// The local vulnerability database: `gitward vulndb import` turns an OSV export (a folder of records or
// OSV.dev's zip) into one gzip'd JSON file, versioned, with its import date and counts, indexed by
// ecosystem and package name. Scanning reads only this file: no network. Inputs are bounded (record size,
// record count, total unpacked size) and a zip is listed and checked before anything is unpacked.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { isRecord } from "../json/record.js";
import { indexKey, normalizeEcosystem, normalizeName } from "./ecosystem.js";
import { VulnError, VulnErrorCode } from "./errors.js";
import { parseRecord, type Advisory, type OsvRange } from "./osv.js";

const run = promisify(execFile);

export const DB_FORMAT = "gitward-vulndb";
export const DB_VERSION = 1;

export interface ImportLimits {
  /** Largest single record file (default 8 MiB). */
  readonly maxRecordBytes: number;
  /** Most record files (default 2,000,000). */
  readonly maxRecords: number;
  /** Largest total unpacked size of a zip or folder (default 8 GiB). */
  readonly maxTotalBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  maxRecordBytes: 8 << 20,
  maxRecords: 2_000_000,
  maxTotalBytes: 8 * 1024 ** 3,
};

/** Largest database file gitward loads, unpacked (V8 strings end near 512 MiB). */
export const MAX_DB_BYTES = 480 << 20;

/** What one affected package of one advisory says, as stored. */
export interface Affect {
  /** Index into advisories. */
  readonly a: number;
  /** The OSV ecosystem exactly (the key's may be normalised). */
  readonly eco: string;
  readonly ranges: readonly OsvRange[];
  readonly versions?: readonly string[];
}

export interface DbCounts {
  readonly files: number;
  readonly records: number;
  readonly withdrawn: number;
  /** Records or files that could not be used, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly packages: number;
  readonly byEcosystem: Readonly<Record<string, number>>;
}

export interface DbMeta {
  readonly format: typeof DB_FORMAT;
  readonly version: typeof DB_VERSION;
  /** ISO date-time of the import: the database's age is counted from it. */
  readonly importedAt: string;
  /** The newest `modified` among the records, when they give one. */
  readonly newestRecord?: string;
  /** The input as given (a folder or zip name, not its contents). */
  readonly source: string;
  readonly counts: DbCounts;
}

export interface VulnDb {
  readonly meta: DbMeta;
  /** sha256 of the file: the database version that caches are keyed by. */
  readonly digest: string;
  readonly advisories: readonly Advisory[];
  readonly index: ReadonlyMap<string, readonly Affect[]>;
  /** Every ecosystem in the index, for lookups by family when a release is unknown. */
  readonly ecosystems: readonly string[];
}

/** The JSON documents of a folder: regular *.json files only (symlinks are not followed). */
async function* folderRecords(dir: string, limits: ImportLimits): AsyncGenerator<[string, Buffer]> {
  let files = 0;
  let total = 0;
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((x, y) => (x.name < y.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      if (!e.isFile() || !e.name.endsWith(".json")) continue;
      const st = await lstat(p);
      if (++files > limits.maxRecords)
        throw new VulnError(VulnErrorCode.TOO_LARGE, `more than ${limits.maxRecords} records`, dir);
      total += st.size;
      if (total > limits.maxTotalBytes)
        throw new VulnError(VulnErrorCode.TOO_LARGE, `more than ${limits.maxTotalBytes} bytes`, dir);
      if (st.size > limits.maxRecordBytes) {
        yield [p, Buffer.alloc(0)];
        continue;
      }
      yield [p, await readFile(p)];
    }
  }
}

/** One entry of `unzip -Z` (zipinfo) output: permissions, size, name. */
const ZIPINFO_LINE = /^(\S{10})\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/u;

/**
 * Checks a zip's listing before unpacking: no absolute path, no "..", no symlink, bounded sizes (a zip
 * bomb is refused by its declared sizes; unzip checks each entry's CRC and length as it unpacks).
 */
async function checkZip(zip: string, limits: ImportLimits): Promise<void> {
  let listing: string;
  try {
    listing = (await run("unzip", ["-Z", zip], { maxBuffer: 512 << 20 })).stdout;
  } catch {
    throw new VulnError(VulnErrorCode.INPUT_INVALID, "not a readable zip file (unzip -Z failed)", zip);
  }
  let files = 0;
  let total = 0;
  for (const line of listing.split("\n")) {
    const m = ZIPINFO_LINE.exec(line);
    if (m === null) continue;
    const [, mode = "", size = "0", name = ""] = m;
    if (mode.startsWith("l"))
      throw new VulnError(VulnErrorCode.INPUT_INVALID, `holds a symbolic link (${name.slice(0, 200)})`, zip);
    const parts = name.split(/[\\/]/u);
    if (name.startsWith("/") || /^[A-Za-z]:/u.test(name) || parts.includes(".."))
      throw new VulnError(
        VulnErrorCode.INPUT_INVALID,
        `entry ${JSON.stringify(name.slice(0, 200))} points outside the archive (zip-slip); nothing was imported`,
        zip,
      );
    files++;
    total += Number(size);
    if (files > limits.maxRecords || total > limits.maxTotalBytes)
      throw new VulnError(
        VulnErrorCode.TOO_LARGE,
        `unpacks to more than ${limits.maxRecords} files or ${limits.maxTotalBytes} bytes`,
        zip,
      );
  }
}

class Builder {
  readonly advisories: Advisory[] = [];
  readonly index = new Map<string, Affect[]>();
  files = 0;
  records = 0;
  withdrawn = 0;
  newest: string | undefined;
  readonly skipped: Record<string, number> = {};
  readonly byEcosystem: Record<string, number> = {};

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  add(bytes: Buffer, limits: ImportLimits): void {
    this.files++;
    if (bytes.length === 0 || bytes.length > limits.maxRecordBytes) {
      this.skip("too large or empty");
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch {
      {
        this.skip("not JSON");
        return;
      }
    }
    const parsed = parseRecord(value);
    if (!parsed.ok) {
      this.skip(parsed.reason);
      return;
    }
    const r = parsed.record;
    // A withdrawn advisory no longer applies; it is counted, not indexed.
    if (r.withdrawn) {
      this.withdrawn++;
      return;
    }
    this.records++;
    const m = r.advisory.modified;
    if (m !== undefined && (this.newest === undefined || m > this.newest)) this.newest = m;
    const a = this.advisories.length;
    let used = false;
    for (const aff of r.affected) {
      const eco = normalizeEcosystem(aff.ecosystem);
      if (eco === undefined) {
        this.skip(`ecosystem not matched by gitward`);
        continue;
      }
      const key = indexKey(eco, normalizeName(eco, aff.name));
      const list = this.index.get(key) ?? [];
      list.push({
        a,
        eco: aff.ecosystem,
        ranges: aff.ranges,
        ...(aff.versions.length === 0 ? {} : { versions: aff.versions }),
      });
      this.index.set(key, list);
      this.byEcosystem[eco] = (this.byEcosystem[eco] ?? 0) + 1;
      used = true;
    }
    if (used) this.advisories.push(r.advisory);
  }

  meta(source: string, now: Date): DbMeta {
    return {
      format: DB_FORMAT,
      version: DB_VERSION,
      importedAt: now.toISOString(),
      ...(this.newest === undefined ? {} : { newestRecord: this.newest }),
      source,
      counts: {
        files: this.files,
        records: this.records,
        withdrawn: this.withdrawn,
        skipped: this.skipped,
        packages: this.index.size,
        byEcosystem: this.byEcosystem,
      },
    };
  }
}

export interface ImportOptions {
  readonly input: string;
  readonly db: string;
  readonly now?: Date;
  readonly limits?: Partial<ImportLimits>;
}

/** Imports an OSV folder or zip into the database file `db` (written whole, then renamed into place). */
export async function importOsv(opts: ImportOptions): Promise<DbMeta> {
  const limits = { ...DEFAULT_IMPORT_LIMITS, ...opts.limits };
  const st = await lstat(opts.input).catch(() => {
    throw new VulnError(VulnErrorCode.INPUT_INVALID, "does not exist", opts.input);
  });
  const b = new Builder();
  let unpacked: string | undefined;
  try {
    let dir = opts.input;
    if (st.isFile()) {
      await checkZip(opts.input, limits);
      unpacked = await mkdtemp(path.join(tmpdir(), "gitward-osv-"));
      await run("unzip", ["-qq", "-o", opts.input, "*.json", "-d", unpacked], { maxBuffer: 64 << 20 }).catch(
        (err: unknown) => {
          // Exit 11 is "no matching files": an empty export is imported as empty.
          if ((err as { code?: number }).code !== 11)
            throw new VulnError(VulnErrorCode.INPUT_INVALID, "unzip failed to unpack it", opts.input);
        },
      );
      dir = unpacked;
    } else if (!st.isDirectory()) {
      throw new VulnError(VulnErrorCode.INPUT_INVALID, "is neither a folder nor a zip file", opts.input);
    }
    for await (const [, bytes] of folderRecords(dir, limits)) b.add(bytes, limits);
  } finally {
    if (unpacked !== undefined) await rm(unpacked, { recursive: true, force: true });
  }
  const meta = b.meta(path.basename(opts.input), opts.now ?? new Date());
  const body = {
    ...meta,
    advisories: b.advisories,
    index: Object.fromEntries([...b.index].sort(([x], [y]) => (x < y ? -1 : 1))),
  };
  const bytes = gzipSync(Buffer.from(JSON.stringify(body)));
  const tmp = `${opts.db}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, opts.db);
  return meta;
}

function invalid(file: string, why: string): VulnError {
  return new VulnError(
    VulnErrorCode.DB_INVALID,
    `${why}; import it again with \`gitward vulndb import DIR|ZIP --db ${file}\``,
    file,
  );
}

/** Loads a database file; an unreadable, foreign or newer-format file is a DB_INVALID error. */
export async function loadDb(file: string): Promise<VulnDb> {
  const raw = await readFile(file).catch(() => {
    throw invalid(file, "cannot read the vulnerability database");
  });
  let text: string;
  try {
    text = gunzipSync(raw, { maxOutputLength: MAX_DB_BYTES }).toString("utf8");
  } catch {
    throw invalid(file, `not a gzip'd gitward database, or larger than ${MAX_DB_BYTES} bytes unpacked`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid(file, "not JSON inside");
  }
  if (!isRecord(body) || body["format"] !== DB_FORMAT) throw invalid(file, "not a gitward database");
  if (body["version"] !== DB_VERSION)
    throw invalid(file, `format version ${String(body["version"])}, this gitward reads ${DB_VERSION}`);
  if (
    !Array.isArray(body["advisories"]) ||
    !isRecord(body["index"]) ||
    typeof body["importedAt"] !== "string"
  )
    throw invalid(file, "incomplete database");
  const { advisories, index, ...meta } = body as unknown as DbMeta & {
    advisories: Advisory[];
    index: Record<string, Affect[]>;
  };
  const map = new Map(Object.entries(index));
  const ecosystems = [...new Set([...map.keys()].map((k) => k.slice(0, k.indexOf("|"))))];
  return {
    meta,
    digest: `sha256:${createHash("sha256").update(raw).digest("hex")}`,
    advisories,
    index: map,
    ecosystems,
  };
}
