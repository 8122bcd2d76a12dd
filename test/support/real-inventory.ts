// A test double of gitward's own cataloger (src/sbom), for the vulnerability tests and bench only: reads a
// real dpkg status file, real package.json files and real Python METADATA/PKG-INFO files from a folder into
// an ImageInventory, so matching is tested on real package databases before the SBOM work lands.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ImageInventory, Package } from "../../src/sbom/types.js";
import { importOsv, loadDb, type VulnDb } from "../../src/vuln/db.js";
import { repoRoot } from "./tools.js";

/** The labelled findings set: real package databases, OSV records and labels (see its README). */
export const FINDINGS_FIXTURE = path.join(repoRoot, "test", "vuln", "fixtures", "findings");

/** Writes the fixture's records one per file, as an OSV export is laid out, and imports them into `into`. */
export async function importFixture(into: string): Promise<VulnDb> {
  const records = JSON.parse(readFileSync(path.join(FINDINGS_FIXTURE, "osv-records.json"), "utf8")) as {
    id: string;
  }[];
  const osv = path.join(into, "osv");
  await mkdir(osv, { recursive: true });
  for (const r of records) await writeFile(path.join(osv, `${r.id}.json`), JSON.stringify(r));
  await importOsv({ input: osv, db: path.join(into, "vuln.db") });
  return loadDb(path.join(into, "vuln.db"));
}

const LAYER = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/** The installed packages of a dpkg status file (stanzas whose Status ends in "installed"). */
export function dpkgPackages(text: string, file: string, distro = "debian-12"): Package[] {
  const out: Package[] = [];
  for (const stanza of text.split(/\n\n+/u)) {
    const f = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      const m = /^([A-Za-z-]+):\s*(.*)$/u.exec(line);
      if (m?.[1] !== undefined) f.set(m[1], m[2] ?? "");
    }
    const name = f.get("Package");
    const version = f.get("Version");
    if (name === undefined || version === undefined || f.get("Status")?.endsWith(" installed") !== true)
      continue;
    const src = /^(\S+)(?:\s+\((.+)\))?$/u.exec(f.get("Source") ?? "");
    const arch = f.get("Architecture") ?? "all";
    out.push({
      ecosystem: "deb",
      name,
      version,
      ...(src?.[1] === undefined
        ? {}
        : { source: { name: src[1], ...(src[2] === undefined ? {} : { version: src[2] }) } }),
      purl: `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=${arch}&distro=${distro}`,
      locations: [{ layer: LAYER, path: file }],
    });
  }
  return out;
}

function walk(dir: string, found: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, found);
    else found.push(p);
  }
  return found;
}

/** Reads a fixture folder: `dpkg-status`, `npm/**\/package.json`, `python/**\/{METADATA,PKG-INFO}`. */
export function readFixtureInventory(dir: string): ImageInventory {
  const packages: Package[] = dpkgPackages(
    readFileSync(path.join(dir, "dpkg-status"), "utf8"),
    "var/lib/dpkg/status",
  );
  for (const file of walk(dir)) {
    const rel = path.relative(dir, file);
    if (path.basename(file) === "package.json") {
      const j = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (j.name === undefined || j.version === undefined) continue;
      packages.push({
        ecosystem: "npm",
        name: j.name,
        version: j.version,
        purl: `pkg:npm/${j.name.replace("@", "%40")}@${j.version}`,
        locations: [{ layer: LAYER, path: rel }],
      });
    } else if (["METADATA", "PKG-INFO"].includes(path.basename(file))) {
      const t = readFileSync(file, "utf8");
      const name = /^Name: (.+)$/mu.exec(t)?.[1]?.trim();
      const version = /^Version: (.+)$/mu.exec(t)?.[1]?.trim();
      if (name === undefined || version === undefined) continue;
      packages.push({
        ecosystem: "pypi",
        name,
        version,
        purl: `pkg:pypi/${name.toLowerCase()}@${version}`,
        locations: [{ layer: LAYER, path: rel }],
      });
    }
  }
  return {
    reference: `fixture:${path.basename(dir)}`,
    digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    os: { id: "debian", versionId: "12" },
    layers: [{ digest: LAYER, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 0 }],
    packages,
  };
}

export interface Label {
  readonly id: string;
  readonly ecosystem: "deb" | "npm" | "pypi";
  /** Source package (deb) or package name (npm, PyPI, as the advisory writes it). */
  readonly name: string;
  readonly version?: string;
  readonly affected: boolean;
}

/** Recall and false positives of findings against the labels (deb by source, others by name+version). */
export function score(
  findings: readonly {
    id: string;
    package: { ecosystem: string; name: string; version: string; source?: string };
  }[],
  labels: readonly Label[],
): { expected: number; found: number; missed: string[]; falsePositives: string[]; trueNegatives: number } {
  const norm = (e: string, n: string): string =>
    e === "pypi" ? n.toLowerCase().replace(/[-_.]+/gu, "-") : n;
  const keyOf = (e: string, n: string, v: string | undefined): string => `${e}|${norm(e, n)}|${v ?? ""}`;
  const got = new Set(
    findings.map(
      (f) =>
        `${f.id} ${keyOf(f.package.ecosystem, f.package.ecosystem === "deb" ? (f.package.source ?? f.package.name) : f.package.name, f.package.ecosystem === "deb" ? undefined : f.package.version)}`,
    ),
  );
  const labelled = new Set(labels.map((l) => `${l.id} ${keyOf(l.ecosystem, l.name, l.version)}`));
  const expected = labels.filter((l) => l.affected);
  const missed = expected
    .map((l) => `${l.id} ${keyOf(l.ecosystem, l.name, l.version)}`)
    .filter((k) => !got.has(k));
  const negatives = labels
    .filter((l) => !l.affected)
    .map((l) => `${l.id} ${keyOf(l.ecosystem, l.name, l.version)}`);
  // A false positive: a finding labelled "not affected", or any finding the labels do not know.
  const falsePositives = [...got].filter((k) => negatives.includes(k) || !labelled.has(k));
  return {
    expected: expected.length,
    found: expected.length - missed.length,
    missed,
    falsePositives,
    trueNegatives: negatives.filter((k) => !got.has(k)).length,
  };
}
