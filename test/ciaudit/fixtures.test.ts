// Precision and recall of each CI rule on real public workflow files, against hand-made labels
// (test/fixtures/ci-audit/labels.json; sources in its README).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { auditCi } from "../../src/ciaudit/audit.js";
import { CI_RULES } from "../../src/ciaudit/rules/index.js";

interface Label {
  file: string;
  line: number;
  ruleId: string;
}
const dir = path.join(import.meta.dirname, "..", "fixtures", "ci-audit");

describe("CI rules on real workflows", () => {
  it("audits at least 30 real files without errors, and meets precision and recall per rule", async () => {
    const labels = JSON.parse(await readFile(path.join(dir, "labels.json"), "utf8")) as {
      expected: Label[];
      rejected: Label[];
    };
    const result = await auditCi(path.join(dir, "files"));
    expect(result.errors).toEqual([]);
    expect(result.files.length).toBeGreaterThanOrEqual(30);
    const key = (l: Label): string => `${l.file}:${l.line}:${l.ruleId}`;
    const expected = new Set(labels.expected.map(key));
    const found = new Set(result.findings.map(key));
    const table: Record<string, { tp: number; fp: number; fn: number; precision: number; recall: number }> =
      {};
    for (const rule of CI_RULES) {
      const mine = (k: string): boolean => k.endsWith(`:${rule.id}`);
      const tp = [...found].filter((k) => mine(k) && expected.has(k)).length;
      const fp = [...found].filter((k) => mine(k) && !expected.has(k)).length;
      const fn = [...expected].filter((k) => mine(k) && !found.has(k)).length;
      table[rule.id] = {
        tp,
        fp,
        fn,
        precision: tp + fp === 0 ? 1 : tp / (tp + fp),
        recall: tp + fn === 0 ? 1 : tp / (tp + fn),
      };
    }
    // Printed so the figures can be quoted (docs/ci-audit.md).
    console.log(JSON.stringify(table));
    for (const [id, m] of Object.entries(table)) {
      expect.soft(m.precision, `${id} precision`).toBeGreaterThanOrEqual(0.8);
      expect.soft(m.recall, `${id} recall`).toBeGreaterThanOrEqual(0.8);
    }
    for (const r of labels.rejected) expect(found.has(key(r)), key(r)).toBe(false);
    const positives = Object.values(table).filter((m) => m.tp > 0).length;
    expect(positives).toBeGreaterThanOrEqual(5);
  });
});
