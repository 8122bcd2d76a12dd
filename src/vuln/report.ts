// How scans are reported: text for people, JSON for machines, and SARIF through the policy report
// (src/policy/report.ts), so `gitward images scan` and `gitward check --trust` print the same findings in
// the same formats. Every report carries the database's version and age and the gate's warnings.
import type { CheckReport } from "../policy/check.js";
import { toSarif, type GateResult } from "../policy/report.js";
import type { Finding, Severity } from "../policy/types.js";
import type { GatedFinding } from "./gate.js";
import type { ImageScan } from "./scan.js";

const VERSION = "0.1.0";

/** The rule id of an advisory in check reports and SARIF: "vuln/CVE-2024-1234". */
export function vulnRuleId(f: GatedFinding): string {
  return `vuln/${f.id}`;
}

/** The policy severity of a finding (policy severities have no "none": a 0.0 score reports as low). */
export function policySeverity(f: GatedFinding): Severity {
  return f.counted === "none" ? "low" : f.counted;
}

export function describe(f: GatedFinding): string {
  const sev =
    f.severity.level === "unknown"
      ? `severity unknown (counted as ${f.counted})`
      : `${f.severity.level}${f.severity.score === undefined ? "" : ` ${f.severity.score}`}`;
  const aliases = f.aliases.length === 0 ? "" : ` (${f.aliases.join(", ")})`;
  const where = f.locations.map((l) => `${l.path}${l.layer === "" ? "" : ` in ${l.layer.slice(0, 19)}`}`);
  return (
    `${f.package.name} ${f.package.version}: ${f.id}${aliases}, ${sev}` +
    (f.fixedVersion === undefined ? ", no fix known" : `, fixed in ${f.fixedVersion}`) +
    (where.length === 0 ? "" : `; found at ${where.join(", ")}`) +
    (f.ignored === undefined
      ? ""
      : `; IGNORED: ${f.ignored.reason}${f.ignored.expires === undefined ? "" : ` (until ${f.ignored.expires})`}`)
  );
}

export function remediation(f: GatedFinding): string {
  return f.fixedVersion === undefined
    ? `No fixed version is known: replace ${f.package.name}, or accept it with an ignore entry (id, reason, expires) in spec.images.vulnerabilities.`
    : `Upgrade ${f.package.name} to ${f.fixedVersion} or later (rebuild the image on a patched base).`;
}

/** The findings of one scan as policy findings, not exempted ones only (ignored findings are listed apart). */
export function asPolicyFindings(
  scan: ImageScan,
  origin?: Finding["origin"],
  object?: Finding["object"],
): Finding[] {
  return scan.verdict.findings
    .filter((f) => f.ignored === undefined)
    .map((f) => ({
      ruleId: vulnRuleId(f),
      severity: policySeverity(f),
      message: `${scan.reference}: ${describe(f)}`,
      remediation: remediation(f),
      ...(object === undefined ? {} : { object }),
      origin: origin ?? {
        file: `${scan.reference}${f.locations[0] === undefined ? "" : `/${f.locations[0].path}`}`,
        line: 1,
      },
    }));
}

export function formatScanText(scan: ImageScan): string {
  const v = scan.verdict;
  const out: string[] = [];
  out.push(
    `${scan.reference}${scan.digest === "" ? "" : ` ${scan.digest}`}${scan.os === undefined ? "" : ` (${scan.os.id} ${scan.os.versionId ?? ""})`}: ${scan.packages} package(s)${scan.cached ? " (cached)" : ""}`,
  );
  out.push(
    `database ${v.db.version.slice(0, 19)} imported ${v.db.importedAt} (${v.db.ageHours} h old${v.db.maxAge === undefined ? "" : `, maxDbAge ${v.db.maxAge}`})`,
  );
  for (const w of v.warnings) out.push(`warning: ${w}`);
  for (const f of v.findings) {
    const mark = f.ignored !== undefined ? "ignored" : f.blocking ? "FAIL   " : "       ";
    out.push(`  ${mark} ${f.counted.toUpperCase().padEnd(8)} ${describe(f)}`);
  }
  const blocking = v.findings.filter((f) => f.blocking).length;
  out.push(
    `${v.findings.length} finding(s), ${blocking} at or above ${v.failOn}; ${v.passed ? "PASSED" : "FAILED"} at --fail-on ${v.failOn}`,
  );
  return out.join("\n") + "\n";
}

/** The JSON of `images scan -o json`. */
export function scanJson(scans: readonly ImageScan[]): Record<string, unknown> {
  return {
    schemaVersion: 1,
    tool: { name: "gitward", version: VERSION },
    passed: scans.every((s) => s.verdict.passed),
    images: scans,
  };
}

/** SARIF of scans, through the policy report's SARIF writer (one rule per advisory). */
export function scanSarif(scans: readonly ImageScan[]): Record<string, unknown> {
  const findings = scans.flatMap((s) => asPolicyFindings(s));
  const rules = new Map<string, { id: string; severity: Severity; title: string }>();
  for (const s of scans)
    for (const f of s.verdict.findings)
      rules.set(vulnRuleId(f), {
        id: vulnRuleId(f),
        severity: policySeverity(f),
        title: f.summary ?? `${f.id} in ${f.package.name}`,
      });
  const bySeverity = { low: 0, medium: 0, high: 0, critical: 0 } as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity]++;
  const report: CheckReport = {
    schemaVersion: 1,
    findings,
    exemptions: [],
    packs: [],
    rules: [...rules.values()],
    errors: [],
    summary: { objects: scans.length, findings: findings.length, bySeverity, exemptions: 0 },
  };
  const failOn = scans[0]?.verdict.failOn ?? "high";
  const gate: GateResult = {
    schemaVersion: 1,
    tool: { name: "gitward", version: VERSION },
    target: { path: scans.map((s) => s.reference).join(","), render: "image" },
    failOn,
    passed: scans.every((s) => s.verdict.passed),
    renderErrors: [],
    precheckErrors: [],
    report,
  };
  return toSarif(gate);
}
