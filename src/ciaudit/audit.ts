// Runs the CI rules over the CI files of a folder and applies inline suppressions. The result lists every
// finding with file, line and column, what was suppressed and why, and the files that could not be read,
// which the CLI counts as failures: an audit that skipped a file cannot say the pipeline is clean.
import { discover } from "./parse.js";
import { BAD_SUPPRESSION, CI_RULES } from "./rules/index.js";
import { readSuppressions } from "./suppress.js";
import type { CiAuditResult, CiFile, CiFinding, CiRule, Suppressed } from "./types.js";

export interface AuditCiOptions {
  /** Rules to run (default all). */
  readonly rules?: readonly CiRule[];
}

function compare(a: CiFinding, b: CiFinding): number {
  return (
    a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId)
  );
}

/** Audits parsed files; the part of auditCi that needs no disk (the benchmark and the tests use it). */
export function auditFiles(
  files: readonly CiFile[],
  options: AuditCiOptions = {},
): { findings: CiFinding[]; suppressed: Suppressed[] } {
  const rules = options.rules ?? CI_RULES;
  const known = new Set(CI_RULES.map((r) => r.id));
  const findings: CiFinding[] = [];
  const suppressed: Suppressed[] = [];
  for (const file of files) {
    const { suppressions, bad } = readSuppressions(file, known);
    for (const b of bad) {
      findings.push({
        ruleId: BAD_SUPPRESSION.id,
        severity: BAD_SUPPRESSION.severity,
        file: file.file,
        line: b.line,
        column: b.column,
        message: b.message,
        remediation: BAD_SUPPRESSION.fix,
      });
    }
    for (const rule of rules) {
      if (!rule.kinds.includes(file.kind)) continue;
      for (const raw of rule.check(file)) {
        const s = suppressions.find((x) => x.ruleId === rule.id && x.line === raw.at.line);
        if (s !== undefined) {
          suppressed.push({ ruleId: rule.id, file: file.file, line: raw.at.line, reason: s.reason });
          continue;
        }
        findings.push({
          ruleId: rule.id,
          severity: raw.severity ?? rule.severity,
          file: file.file,
          line: raw.at.line,
          column: raw.at.column,
          message: raw.message,
          remediation: rule.fix,
        });
      }
    }
  }
  return { findings: findings.sort(compare), suppressed };
}

export async function auditCi(target: string, options: AuditCiOptions = {}): Promise<CiAuditResult> {
  const found = await discover(target);
  const { findings, suppressed } = auditFiles(found.files, options);
  return {
    schemaVersion: 1,
    root: found.root,
    files: found.files.map((f) => ({ file: f.file, kind: f.kind })),
    findings,
    suppressed,
    errors: found.errors,
  };
}
