// The publisher's severity label of an OSV record, where no CVSS vector decides: flat labels
// (GitHub's database_specific.severity) and nested lists (Ubuntu's [{type, score}]), where an entry
// without a label (a vector, an unknown word) must not hide a later entry that has one.
import { describe, expect, it } from "vitest";
import { parseRecord } from "../../src/vuln/osv.js";

function parsed(extra: object): ReturnType<typeof parseRecord> {
  return parseRecord({
    id: "T-1",
    affected: [{ package: { ecosystem: "npm", name: "pkg" }, versions: ["1.0.0"], ...extra }],
  });
}

function labelOfFirst(extra: object): string | undefined {
  const r = parsed(extra);
  if (!r.ok) throw new Error(r.reason);
  return r.record.affected[0]?.label;
}

describe("OSV severity labels", () => {
  it("reads a flat label", () => {
    expect(labelOfFirst({ database_specific: { severity: "HIGH" } })).toBe("high");
  });

  it("reads a nested label after an entry that has none", () => {
    const ecosystem_specific = {
      severity: [
        { type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" },
        { type: "Ubuntu", score: "critical" },
      ],
    };
    expect(labelOfFirst({ ecosystem_specific })).toBe("critical");
  });

  it("falls through to database_specific when ecosystem_specific's nested list has no label", () => {
    expect(
      labelOfFirst({
        ecosystem_specific: { severity: [{ type: "Ubuntu", score: "negligible-ish" }] },
        database_specific: { severity: "LOW" },
      }),
    ).toBe("low");
  });

  it("leaves the label unset when nothing gives one", () => {
    expect(labelOfFirst({ ecosystem_specific: { severity: [{ type: "X", score: "?" }] } })).toBeUndefined();
  });
});
