// Helpers for the CI audit tests: parse a workflow text and run one rule (or all) over it.
import { auditFiles } from "../../src/ciaudit/audit.js";
import { parseCiText } from "../../src/ciaudit/parse.js";
import { CI_RULES } from "../../src/ciaudit/rules/index.js";
import type { CiFile, CiFileKind, CiFinding } from "../../src/ciaudit/types.js";

export function parsed(text: string, kind: CiFileKind = "github-workflow", file = "wf.yml"): CiFile {
  const f = parseCiText(text, file, kind);
  if ("code" in f) throw new Error(f.message);
  return f;
}

/** Findings of `ruleId` for a text (all rules run, so suppressions behave as in the CLI). */
export function findings(text: string, ruleId: string, kind: CiFileKind = "github-workflow"): CiFinding[] {
  const rule = CI_RULES.find((r) => r.id === ruleId);
  if (rule === undefined) throw new Error(`no rule ${ruleId}`);
  return auditFiles([parsed(text, kind)], { rules: [rule] }).findings.filter((f) => f.ruleId === ruleId);
}
