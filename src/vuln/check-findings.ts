// The vulnerability gate's findings in `gitward check --trust`: one finding per container whose image
// has a (not ignored) vulnerability, at the container's file:line, merged into the check report so text,
// JSON and SARIF show them as `images scan` does. The check fails when any image's gate fails.
import type { CheckReport } from "../policy/check.js";
import { refOf, SEVERITIES, type Finding, type Severity } from "../policy/types.js";
import { containers, describeContainer, podTemplates } from "../policy/workloads.js";
import type { Manifest } from "../render/types.js";
import { asPolicyFindings, policySeverity, vulnRuleId } from "./report.js";
import type { ImageScan } from "./scan.js";

/** Findings of the scans on the containers that use each scanned image (scans are keyed by reference). */
export function containerFindings(
  manifests: readonly Manifest[],
  scans: ReadonlyMap<string, ImageScan>,
): Finding[] {
  const out: Finding[] = [];
  for (const t of podTemplates(manifests)) {
    for (const c of containers(t.spec)) {
      const image = c.c["image"];
      const scan = typeof image === "string" ? scans.get(image) : undefined;
      if (scan === undefined) continue;
      for (const f of asPolicyFindings(scan, t.manifest.origin, refOf(t.manifest)))
        out.push({ ...f, message: `${describeContainer(c)}: ${f.message}` });
    }
  }
  return out;
}

/** The report with the vulnerability findings and their rules added, and its summary recounted. */
export function withVulnerabilities(
  report: CheckReport,
  findings: readonly Finding[],
  scans: Iterable<ImageScan>,
): CheckReport {
  const rules = new Map(report.rules.map((r) => [r.id, r]));
  for (const s of scans)
    for (const f of s.verdict.findings)
      rules.set(vulnRuleId(f), {
        id: vulnRuleId(f),
        severity: policySeverity(f),
        title: f.summary ?? `${f.id} in ${f.package.name}`,
      });
  const all = [...report.findings, ...findings];
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((sev) => [sev, all.filter((f) => f.severity === sev).length]),
  ) as Record<Severity, number>;
  return {
    ...report,
    findings: all,
    rules: [...rules.values()],
    summary: { ...report.summary, findings: all.length, bySeverity },
  };
}
