// `gitward audit ci .` on this repository: its own CI configuration must audit clean, so a workflow added
// later with findings fails here until they are fixed or suppressed with a reason.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { auditCi } from "../../src/ciaudit/audit.js";

describe("gitward's own CI", () => {
  it("audits clean, with no unreadable CI file", async () => {
    const r = await auditCi(path.join(import.meta.dirname, "..", ".."));
    expect(r.errors).toEqual([]);
    expect(r.findings).toEqual([]);
  });
});
