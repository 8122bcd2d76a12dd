// The labelled findings set (fixtures/findings, see its README): 61 real advisories (Debian tracker/DSA,
// GitHub Advisory Database for npm and PyPI) over real package databases copied from this machine and
// from npm. Recall must be 100% and false positives zero; the bench prints the same table.
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VulnDb } from "../../src/vuln/db.js";
import { matchInventory } from "../../src/vuln/match.js";
import {
  FINDINGS_FIXTURE as FIXTURE,
  importFixture,
  readFixtureInventory,
  score,
  type Label,
} from "../support/real-inventory.js";
let dir: string;
let db: VulnDb;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-findings-"));
  db = await importFixture(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("labelled findings over real package databases", () => {
  it("finds every labelled vulnerability and nothing else", () => {
    const labels = JSON.parse(readFileSync(path.join(FIXTURE, "labels.json"), "utf8")) as Label[];
    const inv = readFixtureInventory(FIXTURE);
    expect(inv.packages.length).toBeGreaterThan(90);
    const { findings } = matchInventory(inv, db);
    const s = score(findings, labels);
    expect(new Set(labels.map((l) => l.id)).size).toBeGreaterThanOrEqual(41);
    expect(s.expected).toBeGreaterThanOrEqual(30);
    expect(s.missed).toEqual([]);
    expect(s.falsePositives).toEqual([]);
    expect(db.meta.counts.withdrawn).toBe(1);
  });

  it("maps Debian binary packages to their source and reports where each was found", () => {
    const inv = readFixtureInventory(FIXTURE);
    const { findings } = matchInventory(inv, db);
    const zlib = findings.filter((f) => f.id === "DEBIAN-CVE-2023-45853").map((f) => f.package.name);
    expect(zlib.sort()).toEqual(["zlib1g", "zlib1g-dev"]);
    const f = findings.find((x) => x.id === "GHSA-c2qf-rxjj-qqgw");
    expect(f?.package.version).toBe("7.5.1");
    expect(f?.fixedVersion).toBe("7.5.2");
    expect(f?.aliases).toEqual(["CVE-2022-25883"]);
    expect(f?.severity).toMatchObject({ level: "medium", score: 5.3, source: "CVSS_V3" });
    expect(f?.locations[0]?.path).toBe("npm/old/semver/package.json");
    const apt = findings.find((x) => x.id === "DEBIAN-CVE-2011-3374");
    expect(apt?.severity.level).toBe("unknown");
    expect(apt?.fixedVersion).toBeUndefined();
  });
});
