// CVSS v3.x base scores against published scores: NVD's entries for the CVEs named, and the v3.1
// specification's Roundup examples (Appendix A). v4.0 scoring is tested in cvss4.test.ts; here only the
// order in which an advisory's severity sources are taken.
import { describe, expect, it } from "vitest";
import { cvss3, levelFromLabel, levelOf, roundup } from "../../src/vuln/cvss.js";
import { parseRecord } from "../../src/vuln/osv.js";

describe("CVSS v3.1 base score", () => {
  it.each([
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "critical"], // CVE-2021-44228 (NVD)
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "critical"], // CVE-2021-44906 (NVD)
    ["CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "critical"], // CVE-2018-1000861 (NVD)
    ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, "high"], // CVE-2024-6387 (NVD)
    ["CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "high"], // CVE-2021-4034 (NVD)
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "high"], // CVE-2014-0160 (NVD v3)
    ["CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, "high"], // CVE-2021-23337 (NVD)
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "medium"], // the usual reflected XSS score
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "medium"],
    ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "high"],
    ["CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "low"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, "none"],
  ])("%s = %s", (vector, score, level) => {
    const r = cvss3(vector);
    expect(r).toEqual({ ok: true, version: vector.slice(5, 8), score, level });
  });

  it("rounds up as Appendix A says, without floating-point artefacts", () => {
    expect(roundup(4.000002)).toBe(4.0);
    expect(roundup(4.02)).toBe(4.1);
    expect(roundup(4.0)).toBe(4.0);
    expect(levelOf(3.9)).toBe("low");
    expect(levelOf(4)).toBe("medium");
    expect(levelOf(8.9)).toBe("high");
    expect(levelOf(9)).toBe("critical");
  });

  it("refuses malformed vectors instead of guessing", () => {
    for (const v of [
      "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
      "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H",
      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/constructor:1:2",
    ])
      expect(cvss3(v).ok).toBe(false);
  });
});

describe("advisory severity", () => {
  const base = { id: "X-1", affected: [] };
  it("takes a v3 vector first, then the publisher's label, else unknown", () => {
    const v3 = parseRecord({
      ...base,
      severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
      database_specific: { severity: "LOW" },
    });
    expect(v3.ok && v3.record.advisory.severity).toMatchObject({ level: "critical", score: 9.8 });
    const label = parseRecord({ ...base, database_specific: { severity: "MODERATE" } });
    expect(label.ok && label.record.advisory.severity.level).toBe("medium");
    const none = parseRecord(base);
    expect(none.ok && none.record.advisory.severity).toEqual({ level: "unknown", source: "none given" });
  });

  it("scores a CVSS v4 vector when there is no v3 one, before the publisher's label", () => {
    const v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    const labelled = parseRecord({
      ...base,
      severity: [{ type: "CVSS_V4", score: v4 }],
      database_specific: { severity: "LOW" },
    });
    expect(labelled.ok && labelled.record.advisory.severity).toEqual({
      level: "critical",
      score: 9.3,
      vector: v4,
      source: "CVSS_V4",
    });
    const both = parseRecord({
      ...base,
      severity: [
        { type: "CVSS_V4", score: v4 },
        { type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N" },
      ],
    });
    expect(both.ok && both.record.advisory.severity).toMatchObject({ source: "CVSS_V3", score: 6.1 });
    // A v4 vector that does not parse leaves the label to decide.
    const broken = parseRecord({
      ...base,
      severity: [{ type: "CVSS_V4", score: "CVSS:4.0/AV:N/AC:L" }],
      database_specific: { severity: "MODERATE" },
    });
    expect(broken.ok && broken.record.advisory.severity).toEqual({ level: "medium", source: "label" });
    expect(levelFromLabel("important")).toBe("high");
    expect(levelFromLabel("whatever")).toBeUndefined();
  });
});
