// `vulndb import`: folders and zips of OSV records into one versioned file; hostile archives (zip-slip,
// symlinks, bombs by declared size) are refused before anything is unpacked, and nothing is written.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DB_VERSION, importOsv, loadDb } from "../../src/vuln/db.js";
import { VulnErrorCode } from "../../src/vuln/errors.js";
import { readInventoryFile } from "../../src/vuln/inventory-file.js";
import { makeZip } from "../support/zip.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-vulndb-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (id: string, name: string, fixed = "1.2.3"): string =>
  JSON.stringify({
    id,
    modified: "2026-11-30T00:00:00Z",
    aliases: [`CVE-${id}`],
    affected: [
      {
        package: { ecosystem: "npm", name },
        ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed }] }],
      },
    ],
  });

describe("vulndb import", () => {
  it("imports a folder into one gzip'd, versioned file with its date and counts", async () => {
    const osv = path.join(dir, "osv");
    await mkdir(path.join(osv, "npm"), { recursive: true });
    await writeFile(path.join(osv, "npm", "A-1.json"), record("A-1", "left-pad"));
    await writeFile(path.join(osv, "B-2.json"), record("B-2", "left-pad", "2.0.0"));
    await writeFile(path.join(osv, "bad.json"), "{not json");
    await writeFile(
      path.join(osv, "W-3.json"),
      JSON.stringify({ id: "W-3", withdrawn: "2026-01-01", affected: [] }),
    );
    await writeFile(
      path.join(osv, "other.json"),
      JSON.stringify({ id: "O-4", affected: [{ package: { ecosystem: "Hex", name: "x" } }] }),
    );
    const now = new Date("2026-12-01T10:00:00Z");
    const meta = await importOsv({ input: osv, db: path.join(dir, "v.db"), now });
    expect(meta).toMatchObject({
      format: "gitward-vulndb",
      version: DB_VERSION,
      importedAt: "2026-12-01T10:00:00.000Z",
      newestRecord: "2026-11-30T00:00:00Z",
      counts: { files: 5, records: 3, withdrawn: 1, packages: 1 },
    });
    expect(meta.counts.skipped).toEqual({ "not JSON": 1, "ecosystem not matched by gitward": 1 });
    const db = await loadDb(path.join(dir, "v.db"));
    expect(db.index.get("npm|left-pad")?.length).toBe(2);
    expect(db.digest).toMatch(/^sha256:[0-9a-f]{64}$/u);
  });

  it("does not follow symbolic links in a folder", async () => {
    const osv = path.join(dir, "osv");
    await mkdir(osv);
    await writeFile(path.join(dir, "outside.json"), record("OUT-1", "x"));
    await symlink(path.join(dir, "outside.json"), path.join(osv, "link.json"));
    const meta = await importOsv({ input: osv, db: path.join(dir, "v.db") });
    expect(meta.counts.files).toBe(0);
  });

  it("imports a zip (OSV.dev's all.zip layout)", async () => {
    const zip = path.join(dir, "all.zip");
    await writeFile(
      zip,
      makeZip([
        { name: "A-1.json", data: record("A-1", "lodash") },
        { name: "README", data: "x" },
      ]),
    );
    const meta = await importOsv({ input: zip, db: path.join(dir, "v.db") });
    expect(meta.counts).toMatchObject({ files: 1, records: 1 });
    expect(meta.source).toBe("all.zip");
  });

  it.each([
    ["zip-slip", [{ name: "../evil.json", data: record("E-1", "x") }], /zip-slip/u],
    ["absolute path", [{ name: "/tmp/evil.json", data: record("E-1", "x") }], /outside the archive/u],
    ["symlink", [{ name: "l.json", data: "/etc/passwd", symlink: true }], /symbolic link/u],
  ])("refuses a zip with a %s entry and writes nothing", async (_, entries, message) => {
    const zip = path.join(dir, "evil.zip");
    await writeFile(zip, makeZip(entries));
    const err = await importOsv({ input: zip, db: path.join(dir, "v.db") }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: VulnErrorCode.INPUT_INVALID, message });
    expect(existsSync(path.join(dir, "v.db"))).toBe(false);
    expect(existsSync(path.join(dir, "evil.json"))).toBe(false);
  });

  it("refuses an archive that unpacks past the size bound, by its declared sizes", async () => {
    const zip = path.join(dir, "big.zip");
    await writeFile(
      zip,
      makeZip([
        { name: "a.json", data: Buffer.alloc(4096, 32) },
        { name: "b.json", data: Buffer.alloc(4096, 32) },
      ]),
    );
    await expect(
      importOsv({ input: zip, db: path.join(dir, "v.db"), limits: { maxTotalBytes: 6000 } }),
    ).rejects.toMatchObject({ code: VulnErrorCode.TOO_LARGE });
  });

  it("skips a record larger than the record bound", async () => {
    const osv = path.join(dir, "osv");
    await mkdir(osv);
    await writeFile(path.join(osv, "big.json"), record("BIG-1", "x") + " ".repeat(5000));
    const meta = await importOsv({
      input: osv,
      db: path.join(dir, "v.db"),
      limits: { maxRecordBytes: 4096 },
    });
    expect(meta.counts.skipped).toEqual({ "too large or empty": 1 });
  });

  it("refuses a missing input, a database of another format or version, and a corrupt file", async () => {
    await expect(
      importOsv({ input: path.join(dir, "nope"), db: path.join(dir, "v.db") }),
    ).rejects.toMatchObject({
      code: VulnErrorCode.INPUT_INVALID,
    });
    await writeFile(path.join(dir, "foreign.db"), gzipSync(JSON.stringify({ format: "other" })));
    await writeFile(
      path.join(dir, "future.db"),
      gzipSync(JSON.stringify({ format: "gitward-vulndb", version: 99 })),
    );
    await writeFile(path.join(dir, "corrupt.db"), "plain text");
    for (const f of ["foreign.db", "future.db", "corrupt.db", "missing.db"])
      await expect(loadDb(path.join(dir, f))).rejects.toMatchObject({ code: VulnErrorCode.DB_INVALID });
    const text = await readFile(path.join(dir, "future.db"));
    expect(text.length).toBeGreaterThan(0);
  });

  it("refuses an SBOM file that is not JSON, not CycloneDX and not an inventory", async () => {
    await writeFile(path.join(dir, "a.json"), "{");
    await writeFile(path.join(dir, "b.json"), JSON.stringify({ bomFormat: "SPDX" }));
    for (const f of ["a.json", "b.json", "missing.json"])
      await expect(readInventoryFile(path.join(dir, f))).rejects.toMatchObject({
        code: VulnErrorCode.SBOM_INVALID,
      });
  });
});
