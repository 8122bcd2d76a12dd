// `gitward audit ci PATH [-o text|json|sarif] [--fail-on SEV]`: audits the CI configuration of a
// repository (GitHub workflows, composite actions, .gitlab-ci.yml) or a folder of workflow files, and
// prints the findings through `check`'s reporter. Exit 0 nothing at or above --fail-on, 1 findings or an
// unreadable CI file, 2 usage (PATH missing).
import { stat } from "node:fs/promises";
import { Option, type Command } from "commander";
import { auditCi } from "../../ciaudit/audit.js";
import { CI_RULES } from "../../ciaudit/rules/index.js";
import type { CiAuditResult } from "../../ciaudit/types.js";
import { ConfigError } from "../../config/errors.js";
import type { Severity } from "../../config/types.js";
import type { CheckReport } from "../../policy/check.js";
import { formatText, toSarif, type GateResult } from "../../policy/report.js";
import { atLeast, SEVERITIES } from "../../policy/types.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

const VERSION = "0.1.0";

/** The CI audit as check's GateResult, so text and SARIF come out as `gitward check` prints them. */
export function ciGate(result: CiAuditResult, target: string, failOn: Severity): GateResult {
  const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  for (const f of result.findings) bySeverity[f.severity]++;
  const report: CheckReport = {
    schemaVersion: 1,
    findings: result.findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      message: `${f.message} (column ${f.column})`,
      remediation: f.remediation,
      origin: { file: f.file, line: f.line },
    })),
    exemptions: [],
    packs: ["ci"],
    rules: CI_RULES.map((r) => ({ id: r.id, severity: r.severity, title: r.title })),
    errors: [],
    summary: {
      objects: result.files.length,
      findings: result.findings.length,
      bySeverity,
      exemptions: result.suppressed.length,
    },
  };
  return {
    schemaVersion: 1,
    tool: { name: "gitward", version: VERSION },
    target: { path: target, render: "ci" },
    failOn,
    passed: result.errors.length === 0 && !result.findings.some((f) => atLeast(f.severity, failOn)),
    renderErrors: result.errors.map((e) => ({
      code: e.code,
      message: e.message,
      file: e.file,
      ...(e.line === undefined ? {} : { line: e.line }),
    })),
    precheckErrors: [],
    report,
  };
}

export function registerAuditCi(audit: Command): void {
  audit
    .command("ci")
    .description(
      "Audit CI/CD configuration: .github/workflows/*.yml|yaml, composite actions (action.yml) and " +
        ".gitlab-ci.yml with its local includes, or every YAML file of a plain folder. Rules in docs/ci-audit.md; " +
        "suppress a finding with `# gitward:ignore <rule-id> <reason>` on its line or the line above.\n" +
        "Exit 0 nothing at or above --fail-on, 1 findings or an unreadable CI file, 2 usage.",
    )
    .argument("<path>", "repository, folder of workflow files, or one file")
    .addOption(
      new Option("--fail-on <severity>", "lowest severity that fails the audit")
        .choices([...SEVERITIES])
        .default("low"),
    )
    .addOption(outputOption(["text", "json", "sarif"]))
    .action(async (target: string, flags: { failOn: Severity; output: OutputFormat }) => {
      try {
        await stat(target);
      } catch {
        throw new ConfigError("no such file or folder", target);
      }
      const result = await auditCi(target);
      const gate = ciGate(result, target, flags.failOn);
      if (flags.output === "json") {
        printJson({ ...result, root: target, failOn: flags.failOn, passed: gate.passed });
      } else if (flags.output === "sarif") {
        printJson(toSarif(gate));
      } else {
        const lines = [`Audited ${result.files.length} CI file(s) under ${target}.`];
        if (result.files.length === 0)
          lines.push("No CI configuration found (.github/workflows, action.yml, .gitlab-ci.yml).");
        process.stdout.write(lines.join("\n") + "\n\n" + formatText(gate));
        if (result.suppressed.length > 0) {
          process.stdout.write("Suppressed:\n");
          for (const s of result.suppressed)
            process.stdout.write(`  ${s.file}:${s.line}  ${s.ruleId}: ${s.reason}\n`);
        }
      }
      process.exitCode = gate.passed ? ExitCode.Ok : ExitCode.Findings;
    });
}
