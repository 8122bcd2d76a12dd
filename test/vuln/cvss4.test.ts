// CVSS v4.0 scores by the specification's macro-vector method: vectors whose scores are published (FIRST's
// v4.0 examples, NVD and GitHub advisories), the rules the method states (no impact scores 0; unset Threat and
// Environmental metrics take the worst case; Modified metrics replace base ones; Supplemental ones change
// nothing), and 500 vectors scored by an independent implementation (fixtures/README.md).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cvss4 } from "../../src/vuln/cvss4.js";

const score = (v: string): number | string => {
  const r = cvss4(v);
  return r.ok ? r.score : r.reason;
};

describe("CVSS v4.0 scores", () => {
  it.each([
    // FIRST's v4.0 examples: Log4Shell CVE-2021-44228, every impact High.
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10, "critical", "000100"],
    // The vector the specification and GitHub advisories use most: network, no privileges, full impact.
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "critical", "000200"],
    ["CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.2, "critical", "010200"],
    // Denial of service / disclosure only (GitHub's ReDoS and information-leak advisories).
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, "high", "001200"],
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.7, "high", "001200"],
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7, "high", "100200"],
    // Local privilege escalation.
    ["CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, "high", "100200"],
    ["CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.2, "high", "011200"],
    ["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9, "medium", "002201"],
    ["CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 1, "low", "212201"],
  ])("%s = %s", (vector, s, level, macroVector) => {
    expect(cvss4(vector)).toEqual({
      ok: true,
      version: "4.0",
      score: s,
      level,
      nomenclature: "CVSS-B",
      macroVector,
    });
  });

  it("scores 0 when nothing is impacted, whatever else the vector says", () => {
    expect(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N")).toBe(0);
    expect(cvss4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/E:A")).toMatchObject({
      level: "none",
      nomenclature: "CVSS-BT",
    });
    // ...unless a Modified metric gives an impact back.
    expect(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/MVC:H")).toBeGreaterThan(0);
  });

  it("takes the worst case for unset Threat and Environmental metrics, and lowers the score for less", () => {
    const base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    expect(score(`${base}/E:A`)).toBe(score(base));
    expect(score(`${base}/E:X/CR:X/IR:X/AR:X`)).toBe(score(base));
    expect(score(`${base}/CR:H/IR:H/AR:H`)).toBe(score(base));
    expect(score(`${base}/E:P`)).toBe(8.9);
    expect(score(`${base}/E:U`)).toBe(8.1);
    expect(cvss4(`${base}/E:U`)).toMatchObject({ nomenclature: "CVSS-BT", macroVector: "000220" });
    expect(cvss4(`${base}/CR:L`)).toMatchObject({ nomenclature: "CVSS-BE" });
    expect(cvss4(`${base}/E:P/MAV:L`)).toMatchObject({ nomenclature: "CVSS-BTE" });
  });

  it("uses Modified metrics in place of base ones, MSI/MSA:S as the safety class", () => {
    const local = "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    expect(score(`CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MAV:L/MPR:L`)).toBe(
      score(local),
    );
    const safety = cvss4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S");
    expect(safety).toMatchObject({ macroVector: "000000", score: 10 });
  });

  it("ignores Supplemental metrics for the score", () => {
    const base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    expect(score(`${base}/S:P/AU:Y/R:I/V:C/RE:H/U:Red`)).toBe(9.3);
    expect(cvss4(`${base}/U:Clear`)).toMatchObject({ nomenclature: "CVSS-B" });
  });

  it("refuses malformed vectors instead of guessing", () => {
    for (const v of [
      "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
      "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
      "CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
      "CVSS:4.0/AV:N/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Q",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/constructor:X",
      "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:H:1",
    ])
      expect(cvss4(v).ok, v).toBe(false);
  });

  it("agrees with an independent implementation on 500 vectors (250 with Threat/Environmental/Supplemental)", () => {
    const lines = readFileSync(new URL("fixtures/cvss4-vectors.txt", import.meta.url), "utf8")
      .trim()
      .split("\n");
    expect(lines.length).toBe(500);
    const wrong: string[] = [];
    for (const line of lines) {
      const [vector = "", expected = ""] = line.split(" ");
      if (score(vector) !== Number(expected)) wrong.push(`${line} (gitward ${String(score(vector))})`);
    }
    expect(wrong).toEqual([]);
  });
});
