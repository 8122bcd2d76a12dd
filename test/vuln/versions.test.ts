// Version order per ecosystem, from each ecosystem's own rules and test vectors: deb-version(7) and
// `dpkg --compare-versions` on this machine's installed versions, apk-tools' test/unit/version.data, rpm's
// rpmvercmp rules (tests/rpmvercmp.at), semver (npm, Go), PEP 440 and Maven's version order specification.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareApk } from "../../src/vuln/version/apk.js";
import { compareVersions } from "../../src/vuln/version/compare.js";
import { compareDeb } from "../../src/vuln/version/dpkg.js";
import { compareMaven } from "../../src/vuln/version/maven.js";
import { compareRpm } from "../../src/vuln/version/rpm.js";
import { disagreements, installedDebianVersions } from "../support/dpkg-versions.js";

type Table = readonly (readonly [string, "<" | "=" | ">", string])[];

function expectOrder(cmp: (a: string, b: string) => number | undefined, table: Table): void {
  const wrong = table.filter(([a, op, b]) => {
    const want = op === "<" ? -1 : op === "=" ? 0 : 1;
    return cmp(a, b) !== want || cmp(b, a) !== -want;
  });
  expect(wrong).toEqual([]);
}

describe("dpkg (deb-version(7))", () => {
  it("orders epochs, upstream and revisions as the manual says", () => {
    expectOrder(compareDeb, [
      ["1:0.1", ">", "9.9"], // the epoch wins
      ["0:1.0", "=", "1.0"], // a missing epoch is 0
      ["1.0", "=", "1.0-0"], // a missing revision is ""
      ["1.0~rc1", "<", "1.0"], // ~ sorts before the end
      ["1.0~~", "<", "1.0~~a"],
      ["1.0~~a", "<", "1.0~"],
      ["1.0~", "<", "1.0"],
      ["1.0", "<", "1.0a"],
      ["1.0a", "<", "1.0+"], // letters before non-letters
      ["1.0+", "<", "1.0."],
      ["1.9", "<", "1.10"], // digits as numbers
      ["1.001", "=", "1.1"],
      ["2.36-9+deb12u4", "<", "2.36-9+deb12u10"],
      ["3.0.11-1~deb12u2", "<", "3.0.11-1"],
      ["1.2.3-1", "<", "1.2.3-1.1"],
      ["7.88.1-10+deb12u5", ">", "7.88.1-10+deb12u4"],
      ["1:9.18.28-1~deb12u2", "<", "1:9.18.33-1~deb12u2"],
      ["1.0-1", "<", "1.0-1ubuntu1"],
      ["10.0.0", ">", "9.99999999999999999999"], // longer than a double holds
    ]);
  });

  it("agrees with `dpkg --compare-versions` on every pair of a sample of installed versions", async () => {
    const all = installedDebianVersions();
    expect(all.length).toBeGreaterThan(20);
    // A spread sample: every step-th version (the bench compares a far larger sample).
    const step = Math.max(1, Math.floor(all.length / 30));
    const sample = [
      ...all.filter((_, i) => i % step === 0).slice(0, 30),
      ...["1.0~rc1", "1:0.1", "1.0+", "1.0a"],
    ];
    const r = await disagreements(sample, compareDeb);
    expect(r.pairs).toBe((sample.length * (sample.length - 1)) / 2);
    expect(r.pairs).toBeGreaterThan(500);
    expect(r.disagree).toEqual([]);
  });
});

describe("apk (apk-tools src/version.c)", () => {
  it("passes the comparisons of apk-tools' test/unit/version.data", () => {
    const lines = readFileSync(new URL("fixtures/apk-version.data", import.meta.url), "utf8").split("\n");
    const table: [string, "<" | "=" | ">", string][] = [];
    for (const raw of lines) {
      const line = (raw.split("#")[0] ?? "").trim();
      const [a, op, b] = line.split(/\s+/u);
      if (a !== undefined && b !== undefined && (op === "<" || op === "=" || op === ">"))
        table.push([a, op, b]);
    }
    expect(table.length).toBeGreaterThan(700);
    expectOrder(compareApk, table);
  });

  it("orders the suffixes _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p and -rN", () => {
    const chain = ["1.0_alpha", "1.0_beta", "1.0_pre", "1.0_rc", "1.0", "1.0_cvs", "1.0_svn", "1.0_git"];
    const rest = ["1.0_hg", "1.0_p", "1.0_p1", "1.0_p1-r1", "1.0_p1-r10", "1.0.1"];
    const all = [...chain, ...rest];
    for (let i = 0; i + 1 < all.length; i++) expect(compareApk(all[i] ?? "", all[i + 1] ?? "")).toBe(-1);
    expectOrder(compareApk, [
      ["3.3.2-r0", "<", "3.3.2-r1"],
      ["1.36.1-r29", ">", "1.36.1-r5"],
    ]);
  });
});

describe("rpm (rpmvercmp)", () => {
  it("orders versions as rpm's own rpmvercmp tests do", () => {
    expectOrder(compareRpm, [
      ["1.0", "=", "1.0"],
      ["1.0", "<", "2.0"],
      ["2.0.1", ">", "2.0"],
      ["2.0.1a", ">", "2.0.1"],
      ["5.5p1", "<", "5.5p2"],
      ["5.5p10", ">", "5.5p1"],
      ["10xyz", "<", "10.1xyz"],
      ["xyz10", "<", "xyz10.1"],
      ["xyz.4", "=", "xyz.4"],
      ["xyz.4", "<", "8"],
      ["5.5p2", "<", "5.6p1"],
      ["6.0.rc1", ">", "6.0"],
      ["10b2", ">", "10a1"],
      ["1.0aa", "<", "1.0aaa"],
      ["10.0001", "=", "10.1"],
      ["10.0001", "<", "10.0039"],
    ]);
    expectOrder(compareRpm, [
      ["1.0~rc1", "<", "1.0"],
      ["1.0~rc1", "<", "1.0~rc2"],
      ["1.0~rc1~git123", "<", "1.0~rc1"],
      ["1.0^", ">", "1.0"],
      ["1.0^git1", ">", "1.0"],
      ["1.0^git1", "<", "1.01"],
      ["1.0^20160101", "<", "1.0.1"],
      ["1.0~rc1^git1", "<", "1.0~rc1.1"],
      ["1:1.0-1", ">", "2.0-1"],
      ["1.0-1.el9", "<", "1.0-2.el9"],
      ["1.0", "=", "1.0-5"], // no release on one side: equal on release
    ]);
  });
});

describe("semver (npm, Go) and PEP 440 (PyPI)", () => {
  it("orders npm versions by semver 2.0.0, pre-releases first", () => {
    expectOrder(
      (a, b) => compareVersions("semver", a, b),
      [
        ["1.0.0-alpha", "<", "1.0.0-alpha.1"],
        ["1.0.0-alpha.1", "<", "1.0.0-alpha.beta"],
        ["1.0.0-alpha.beta", "<", "1.0.0-beta"],
        ["1.0.0-beta.2", "<", "1.0.0-beta.11"],
        ["1.0.0-rc.1", "<", "1.0.0"],
        ["1.0.0+build.1", "=", "1.0.0"],
        ["4.17.20", "<", "4.17.21"],
      ],
    );
    expect(compareVersions("semver", "1.0", "1.0.0")).toBeUndefined();
  });

  it("orders Go module versions with the v prefix, pseudo-versions and +incompatible", () => {
    expectOrder(
      (a, b) => compareVersions("go", a, b),
      [
        ["v0.0.0-20220722155237-a158d28d115b", "<", "v0.1.0"],
        ["v1.2.3", "=", "1.2.3"],
        ["v2.0.0+incompatible", ">", "v1.9.9"],
        ["v2.0.0+incompatible", "=", "v2.0.0"],
        ["v0.17.0", ">", "v0.0.0-20220722155237-a158d28d115b"],
      ],
    );
  });

  it("orders PyPI versions by PEP 440", () => {
    expectOrder(
      (a, b) => compareVersions("pep440", a, b),
      [
        ["1.0.dev0", "<", "1.0a1"],
        ["1.0a1", "<", "1.0b1"],
        ["1.0b1", "<", "1.0rc1"],
        ["1.0rc1", "<", "1.0"],
        ["1.0", "<", "1.0.post1"],
        ["1.0", "=", "1.0.0"],
        ["1!0.1", ">", "2.0"],
        ["2.31.0", "<", "2.32.0"],
        ["1.0+local.1", ">", "1.0"],
      ],
    );
    expect(compareVersions("pep440", "not a version", "1.0")).toBeUndefined();
  });
});

describe("Maven (ComparableVersion)", () => {
  it("orders as the POM reference's version order specification", () => {
    expectOrder(compareMaven, [
      ["1", "<", "1.1"],
      ["1-snapshot", "<", "1"],
      ["1", "<", "1-sp"],
      ["1-foo2", "<", "1-foo10"],
      ["1-1", "<", "1.1"],
      ["1.ga", "=", "1"],
      ["1-ga", "=", "1"],
      ["1-0", "=", "1"],
      ["1.0", "=", "1"],
      ["1-sp", ">", "1-ga"],
      ["1-sp.1", ">", "1-ga.1"],
      ["1-sp-1", "<", "1-ga-1"],
      ["1-a1", "=", "1-alpha-1"],
      ["1.0-alpha", "<", "1.0-beta"],
      ["1.0-beta", "<", "1.0-milestone"],
      ["1.0-milestone", "<", "1.0-rc"],
      ["1.0-rc", "=", "1.0-cr"],
      ["1.0-rc", "<", "1.0-snapshot"],
      ["1.0-final", "=", "1.0"],
      ["2.14.1", ">", "2.9.10"],
      ["2.15.0-rc1", "<", "2.15.0"],
      ["5.3.18", "<", "5.3.20"],
    ]);
  });
});
