// Matching by OSV's rules and the gate's decisions: ranges (introduced/fixed/last_affected/limit), listed
// versions, releases, source packages, name normalisation, and failOn/unknown/ignore/expiry/maxDbAge.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageInventory, Package } from "../../src/sbom/types.js";
import { importOsv, loadDb, type VulnDb } from "../../src/vuln/db.js";
import { evaluateGate } from "../../src/vuln/gate.js";
import { matchInventory } from "../../src/vuln/match.js";
import { ScanCache, scanImage } from "../../src/vuln/scan.js";

let dir: string;
let db: VulnDb;
const NOW = new Date("2026-12-03T12:00:00Z");

const rec = (id: string, ecosystem: string, name: string, events: object[], extra: object = {}): object => ({
  id,
  affected: [{ package: { ecosystem, name }, ranges: [{ type: "ECOSYSTEM", events }] }],
  ...extra,
});
const GIT_A = "8a4d2b7c1e0f9a3b5c6d7e8f9a0b1c2d3e4f5a6b";
const GIT_B = "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d";
const CRIT = { severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }] };
const MED = { database_specific: { severity: "MODERATE" } };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-match-"));
  const osv = path.join(dir, "osv");
  await mkdir(osv);
  const records = [
    rec("T-FIXED", "npm", "pkg-a", [{ introduced: "1.0.0" }, { fixed: "1.4.0" }], {
      ...CRIT,
      aliases: ["CVE-2099-0001"],
    }),
    rec("T-LAST", "npm", "pkg-b", [{ introduced: "0" }, { last_affected: "2.0.0" }], MED),
    rec("T-LIMIT", "npm", "pkg-c", [{ introduced: "0" }, { limit: "3.0.0" }]),
    { id: "T-LIST", affected: [{ package: { ecosystem: "npm", name: "pkg-d" }, versions: ["0.9.1"] }] },
    {
      id: "T-GIT",
      affected: [
        {
          package: { ecosystem: "npm", name: "pkg-e" },
          ranges: [{ type: "GIT", events: [{ introduced: "0" }] }],
        },
      ],
    },
    // The shape of OSV.dev's PYSEC/OSS-Fuzz records: a GIT range of commits beside the tags it covers.
    {
      id: "T-GITVERS",
      affected: [
        {
          package: { ecosystem: "npm", name: "pkg-f" },
          ranges: [
            {
              type: "GIT",
              repo: "https://example.com/f.git",
              events: [{ introduced: GIT_A }, { fixed: GIT_B }],
            },
          ],
          versions: ["2.0.0", "2.0.1"],
        },
      ],
    },
    {
      id: "T-GITECO",
      affected: [
        {
          package: { ecosystem: "npm", name: "pkg-g" },
          ranges: [
            {
              type: "GIT",
              repo: "https://example.com/g.git",
              events: [{ introduced: "0" }, { fixed: GIT_B }],
            },
            { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.1.0" }] },
          ],
        },
      ],
    },
    rec("T-DEB12", "Debian:12", "openssl", [{ introduced: "0" }, { fixed: "3.0.20-1~deb12u1" }], CRIT),
    rec("T-DEB11", "Debian:11", "openssl", [{ introduced: "0" }, { fixed: "9.9.9" }]),
    rec("T-ALPINE", "Alpine:v3.20", "openssl", [{ introduced: "0" }, { fixed: "3.3.2-r0" }]),
    rec("T-PYPI", "PyPI", "Py_JWT.x", [{ introduced: "0" }, { fixed: "2.0" }]),
    rec(
      "T-MAVEN",
      "Maven",
      "org.apache.logging.log4j:log4j-core",
      [{ introduced: "2.0-beta9" }, { fixed: "2.15.0" }],
      CRIT,
    ),
    rec("T-GO", "Go", "golang.org/x/net", [{ introduced: "0" }, { fixed: "0.17.0" }]),
  ];
  for (const r of records)
    await writeFile(path.join(osv, `${(r as { id: string }).id}.json`), JSON.stringify(r));
  await importOsv({ input: osv, db: path.join(dir, "v.db"), now: new Date("2026-12-01T12:00:00Z") });
  db = await loadDb(path.join(dir, "v.db"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pkg = (
  ecosystem: Package["ecosystem"],
  name: string,
  version: string,
  more: Partial<Package> = {},
): Package => ({
  ecosystem,
  name,
  version,
  purl: `pkg:${ecosystem}/${name}@${version}`,
  locations: [{ layer: "sha256:aa", path: "x" }],
  ...more,
});
const inv = (packages: Package[], os?: ImageInventory["os"]): ImageInventory => ({
  reference: "r/x:1",
  digest: "sha256:d1",
  ...(os === undefined ? {} : { os }),
  layers: [],
  packages,
});
const ids = (i: ImageInventory): string[] =>
  matchInventory(i, db).findings.map((f) => `${f.id}@${f.package.version}`);

describe("matching", () => {
  it("applies introduced/fixed, last_affected (inclusive) and limit as OSV defines them", () => {
    const found = ids(
      inv([
        pkg("npm", "pkg-a", "0.9.0"),
        pkg("npm", "pkg-a", "1.0.0"),
        pkg("npm", "pkg-a", "1.3.9"),
        pkg("npm", "pkg-a", "1.4.0"),
        pkg("npm", "pkg-b", "2.0.0"),
        pkg("npm", "pkg-b", "2.0.1"),
        pkg("npm", "pkg-c", "2.9.9"),
        pkg("npm", "pkg-c", "3.0.0"),
        pkg("npm", "pkg-d", "0.9.1"),
        pkg("npm", "pkg-d", "0.9.2"),
        pkg("npm", "pkg-e", "1.0.0"),
      ]),
    );
    expect(found.sort()).toEqual([
      "T-FIXED@1.0.0",
      "T-FIXED@1.3.9",
      "T-LAST@2.0.0",
      "T-LIMIT@2.9.9",
      "T-LIST@0.9.1",
    ]);
    const f = matchInventory(inv([pkg("npm", "pkg-a", "1.3.9")]), db).findings[0];
    expect(f).toMatchObject({ fixedVersion: "1.4.0", aliases: ["CVE-2099-0001"], matchedAs: "npm/pkg-a" });
  });

  it("matches Debian binaries by source package within their release only", () => {
    const libssl = pkg("deb", "libssl3", "3.0.19-1~deb12u2", { source: { name: "openssl" } });
    expect(ids(inv([libssl], { id: "debian", versionId: "12" }))).toEqual(["T-DEB12@3.0.19-1~deb12u2"]);
    expect(ids(inv([libssl], { id: "debian", versionId: "13" }))).toEqual([]);
    // Without os-release the purl has no distro either: every Debian release is searched, and it says so.
    const r = matchInventory(inv([libssl]), db);
    expect(r.findings.map((x) => x.id).sort()).toEqual(["T-DEB11", "T-DEB12"]);
    expect(r.warnings.join()).toMatch(/release of deb packages is unknown/u);
  });

  it("matches Alpine packages by origin and release (3.20.3 → Alpine:v3.20)", () => {
    const libcrypto = pkg("apk", "libcrypto3", "3.3.1-r3", { source: { name: "openssl" } });
    expect(ids(inv([libcrypto], { id: "alpine", versionId: "3.20.3" }))).toEqual(["T-ALPINE@3.3.1-r3"]);
    expect(ids(inv([{ ...libcrypto, version: "3.3.2-r0" }], { id: "alpine", versionId: "3.20.3" }))).toEqual(
      [],
    );
    expect(ids(inv([libcrypto], { id: "alpine", versionId: "3.19.1" }))).toEqual([]);
  });

  it("normalises PyPI names (PEP 503), reads Maven group:artifact from the purl, and Go's v prefix", () => {
    const found = ids(
      inv([
        pkg("pypi", "py-jwt-X", "1.7.1"),
        pkg("maven", "log4j-core", "2.14.1", {
          purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        }),
        pkg("maven", "log4j-core", "2.15.0", {
          purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0",
        }),
        pkg("golang", "golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b"),
        pkg("golang", "golang.org/x/net", "v0.17.0"),
      ]),
    );
    expect(found.sort()).toEqual([
      "T-GO@v0.0.0-20220722155237-a158d28d115b",
      "T-MAVEN@2.14.1",
      "T-PYPI@1.7.1",
    ]);
  });

  it("never compares a version with a GIT range: only the versions list or an ECOSYSTEM range decides", () => {
    expect(
      ids(
        inv([
          pkg("npm", "pkg-f", "2.0.1"),
          pkg("npm", "pkg-f", "2.0.2"),
          pkg("npm", "pkg-g", "3.0.9"),
          pkg("npm", "pkg-g", "3.1.0"),
        ]),
      ).sort(),
    ).toEqual(["T-GITECO@3.0.9", "T-GITVERS@2.0.1"]);
    const listed = matchInventory(inv([pkg("npm", "pkg-f", "2.0.1")]), db).findings[0];
    // The GIT range's fixed commit is not a version: no fixedVersion rather than a commit hash.
    expect(listed?.fixedVersion).toBeUndefined();
    const ranged = matchInventory(inv([pkg("npm", "pkg-g", "3.0.9")]), db).findings[0];
    expect(ranged?.fixedVersion).toBe("3.1.0");
  });

  it("reports a GIT-only entry without versions as unmatchable instead of silently passing it", () => {
    const r = matchInventory(inv([pkg("npm", "pkg-e", "1.0.0")]), db);
    expect(r.findings).toEqual([]);
    expect(r.warnings).toEqual([
      "T-GIT gives only GIT (commit) ranges and no versions for npm/pkg-e: it cannot be matched by version; not matched",
    ]);
    // A package no advisory names gets no such warning.
    expect(matchInventory(inv([pkg("npm", "pkg-z", "1.0.0")]), db).warnings).toEqual([]);
  });

  it("does not guess when a version cannot be compared: no match, and a warning", () => {
    const r = matchInventory(inv([pkg("npm", "pkg-a", "not-a-version")]), db);
    expect(r.findings).toEqual([]);
    expect(r.warnings.join()).toMatch(/cannot compare not-a-version/u);
  });
});

describe("the gate", () => {
  const findingsOf = (packages: Package[]) =>
    matchInventory(inv(packages, { id: "debian", versionId: "12" }), db).findings;
  const critical = () => findingsOf([pkg("npm", "pkg-a", "1.2.0")]);

  it("fails at or above failOn (default high) and passes below it", () => {
    expect(evaluateGate(critical(), undefined, db, { now: NOW }).passed).toBe(false);
    expect(evaluateGate(critical(), { failOn: "critical" }, db, { now: NOW }).passed).toBe(false);
    const medium = findingsOf([pkg("npm", "pkg-b", "1.0.0")]);
    expect(evaluateGate(medium, undefined, db, { now: NOW }).passed).toBe(true);
    expect(evaluateGate(medium, { failOn: "medium" }, db, { now: NOW }).passed).toBe(false);
  });

  it("counts an advisory without severity as high unless the policy says otherwise, and says so", () => {
    const unknown = findingsOf([pkg("npm", "pkg-c", "1.0.0")]);
    const v = evaluateGate(unknown, undefined, db, { now: NOW });
    expect(v.passed).toBe(false);
    expect(v.findings[0]).toMatchObject({ counted: "high", blocking: true });
    expect(v.warnings.join()).toMatch(/give no severity: counted as high/u);
    expect(evaluateGate(unknown, { unknownSeverity: "low" }, db, { now: NOW }).passed).toBe(true);
  });

  it("honours an ignore by id or alias until it expires, then names the expired one", () => {
    const ig = (expires?: string) => ({
      ignore: [
        { id: "CVE-2099-0001", reason: "not reachable", ...(expires === undefined ? {} : { expires }) },
      ],
    });
    const ok = evaluateGate(critical(), ig("2026-12-03"), db, { now: NOW });
    expect(ok.passed).toBe(true);
    expect(ok.findings[0]?.ignored).toEqual({ reason: "not reachable", expires: "2026-12-03" });
    expect(evaluateGate(critical(), ig(), db, { now: NOW }).passed).toBe(true);
    const expired = evaluateGate(critical(), ig("2026-12-02"), db, { now: NOW });
    expect(expired.passed).toBe(false);
    expect(expired.expired).toEqual([
      { id: "CVE-2099-0001", reason: "not reachable", expires: "2026-12-02" },
    ]);
    expect(expired.warnings.join()).toMatch(/CVE-2099-0001 expired on 2026-12-02 and no longer applies/u);
  });

  it("records the database age in every verdict and warns past maxDbAge", () => {
    const fresh = evaluateGate([], { maxDbAge: "72h" }, db, { now: NOW });
    expect(fresh.db).toMatchObject({ ageHours: 48, stale: false, importedAt: "2026-12-01T12:00:00.000Z" });
    expect(fresh.warnings).toEqual([]);
    const stale = evaluateGate([], { maxDbAge: "24h" }, db, { now: NOW });
    expect(stale.db.stale).toBe(true);
    expect(stale.warnings.join()).toMatch(/more than maxDbAge 24h/u);
  });

  it("caches an image's matches by digest and database version", async () => {
    const cache = new ScanCache();
    let calls = 0;
    const inventoryOf = (reference: string) => {
      calls++;
      return Promise.resolve({ ...inv([pkg("npm", "pkg-a", "1.2.0")]), reference });
    };
    const first = await scanImage("r/x:1", { db, inventoryOf, cache, now: NOW, digest: "sha256:d1" });
    const second = await scanImage("r/x:1", { db, inventoryOf, cache, now: NOW, digest: "sha256:d1" });
    expect(calls).toBe(1);
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.verdict.findings.map((f) => f.id)).toEqual(["T-FIXED"]);
    expect(second.packages).toBe(1);
    await scanImage("r/x:2", { db, inventoryOf, cache, now: NOW, digest: "sha256:other" });
    expect(calls).toBe(2);
  });
});
