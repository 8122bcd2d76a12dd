// Formats a check for people and machines: the text report grouped by file, and SARIF 2.1.0 for
// code-scanning tools. Both take a GateResult, which adds the render errors (a revision that cannot be
// rendered fails the gate) to the policy report.
import type { Origin, RenderError } from "../render/types.js";
import type { CheckReport } from "./check.js";
import { atLeast, type Finding, type Severity } from "./types.js";

/** What `gitward check -o json` prints (schema in docs/adr/0004-render-and-policy.md). */
export interface GateResult {
  readonly schemaVersion: 1;
  readonly tool: { readonly name: "gitward"; readonly version: string };
  /** What was checked: the path relative to the repository root, and the renderer. */
  readonly target: { readonly path: string; readonly render: string };
  readonly failOn: Severity;
  /** true when nothing at or above failOn was found and everything rendered and loaded. */
  readonly passed: boolean;
  readonly renderErrors: readonly RenderError[];
  /** What reconcile would refuse before applying (DUPLICATE_OBJECT, UNKNOWN_KIND, CLUSTER_SCOPED...). */
  readonly precheckErrors: readonly PrecheckError[];
  readonly report: CheckReport;
  /** Which files the secret scanner read (present when the secrets-hygiene pack ran). */
  readonly secretScan?: SecretScanScope;
}

/** The secret scanner's scope: `path` (below the checked path) or `repo` (the whole repository). */
export interface SecretScanScope {
  readonly scope: "path" | "repo";
  /** The folder scanned, relative to the repository root ("." for all of it). */
  readonly path: string;
  readonly files: number;
  /** "git": the files git would commit (ignored ones skipped); "walk": every file but .git. */
  readonly by: "git" | "walk";
}

/** A pre-apply refusal (reconcile/desired.ts precheckManifests), as the gate reports it. */
export interface PrecheckError {
  readonly code: string;
  readonly message: string;
  readonly origin?: Origin;
}

export function gatePassed(
  report: CheckReport,
  renderErrors: readonly RenderError[],
  failOn: Severity,
  precheckErrors: readonly PrecheckError[] = [],
): boolean {
  return (
    renderErrors.length === 0 &&
    precheckErrors.length === 0 &&
    report.errors.length === 0 &&
    !report.findings.some((f) => atLeast(f.severity, failOn))
  );
}

function objectLabel(f: Finding): string {
  if (f.object === undefined) return "(file)";
  const ns = f.object.namespace === undefined ? "" : `${f.object.namespace}/`;
  return `${f.object.kind} ${ns}${f.object.name}`;
}

export function formatText(g: GateResult): string {
  const out: string[] = [];
  if (g.renderErrors.length > 0) {
    out.push("Render errors (no object was checked; the revision fails):");
    for (const e of g.renderErrors) out.push(`  [${e.code}] ${e.message}`);
    out.push("");
  }
  if (g.precheckErrors.length > 0) {
    out.push("Pre-apply errors (reconcile would refuse the revision; nothing of it would be applied):");
    for (const e of g.precheckErrors) out.push(`  [${e.code}] ${e.message}`);
    out.push("");
  }
  for (const e of g.report.errors) out.push(`policy error [${e.code}]: ${e.message}`);
  if (g.report.errors.length > 0) out.push("");
  const byFile = new Map<string, Finding[]>();
  for (const f of g.report.findings) {
    const list = byFile.get(f.origin.file) ?? [];
    list.push(f);
    byFile.set(f.origin.file, list);
  }
  for (const [file, findings] of byFile) {
    out.push(file);
    for (const f of findings) {
      out.push(`  ${file}:${f.origin.line}  ${f.severity.toUpperCase()}  ${f.ruleId}  ${objectLabel(f)}`);
      out.push(`      ${f.message}`);
      out.push(`      fix: ${f.remediation}`);
    }
    out.push("");
  }
  if (g.report.exemptions.length > 0) {
    out.push("Exemptions:");
    for (const e of g.report.exemptions) {
      const ns = e.object.namespace === undefined ? "" : `${e.object.namespace}/`;
      out.push(
        `  ${e.origin.file}:${e.origin.line}  ${e.ruleId}  ${e.object.kind} ${ns}${e.object.name}: ${e.reason} (${e.suppressed} finding(s) suppressed)`,
      );
    }
    out.push("");
  }
  if (g.secretScan !== undefined) {
    const sc = g.secretScan;
    const where = sc.path === "." ? "in the whole repository" : `below ${sc.path}`;
    const which = sc.by === "git" ? " that git would commit" : "";
    out.push(`Secret scan (--secrets-scope ${sc.scope}): ${sc.files} file(s)${which} ${where}`);
  }
  const s = g.report.summary;
  const sev = (["critical", "high", "medium", "low"] as const)
    .map((k) => `${s.bySeverity[k]} ${k}`)
    .join(", ");
  out.push(
    `${s.objects} object(s), ${s.findings} finding(s) (${sev}), ${s.exemptions} exemption(s); ` +
      `${g.passed ? "PASSED" : "FAILED"} at --fail-on ${g.failOn}`,
  );
  return out.join("\n") + "\n";
}

const LEVEL: Record<Severity, "error" | "warning" | "note"> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
};
// GitHub code scanning reads "security-severity" (0-10) to rank security results.
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
};

interface SarifRule {
  id: string;
  shortDescription: { text: string };
  help?: { text: string };
  defaultConfiguration: { level: "error" | "warning" | "note" };
  properties: { "security-severity": string; tags: string[] };
}

/** SARIF 2.1.0: one run, one rule per rule id, one result per finding and per render error. */
export function toSarif(g: GateResult, informationUri = "https://gitward.dev"): Record<string, unknown> {
  const rules: SarifRule[] = [];
  const index = new Map<string, number>();
  const addRule = (id: string, severity: Severity, title: string, remediation?: string): number => {
    const known = index.get(id);
    if (known !== undefined) return known;
    index.set(id, rules.length);
    rules.push({
      id,
      shortDescription: { text: title },
      ...(remediation === undefined ? {} : { help: { text: remediation } }),
      defaultConfiguration: { level: LEVEL[severity] },
      properties: { "security-severity": SECURITY_SEVERITY[severity], tags: ["security", "kubernetes"] },
    });
    return rules.length - 1;
  };
  for (const r of g.report.rules) addRule(r.id, r.severity, r.title);
  const location = (file: string, line: number): Record<string, unknown> => ({
    physicalLocation: {
      artifactLocation: { uri: encodeURI(file), uriBaseId: "%SRCROOT%" },
      region: { startLine: Math.max(1, line) },
    },
  });
  const results: Record<string, unknown>[] = g.report.findings.map((f) => ({
    ruleId: f.ruleId,
    ruleIndex: addRule(f.ruleId, f.severity, f.ruleId, f.remediation),
    level: LEVEL[f.severity],
    message: { text: `${objectLabel(f)}: ${f.message}. Fix: ${f.remediation}` },
    // The offending field's JSON pointer, for tools that open the object rather than the line.
    ...(f.path === undefined ? {} : { properties: { path: f.path } }),
    locations: [
      {
        ...location(f.origin.file, f.origin.line),
        ...(f.object === undefined
          ? {}
          : {
              logicalLocations: [
                {
                  name: f.object.name,
                  fullyQualifiedName: `${f.object.apiVersion}/${f.object.kind}/${f.object.namespace ?? ""}/${f.object.name}`,
                  kind: "object",
                },
              ],
            }),
      },
    ],
  }));
  for (const e of g.renderErrors) {
    const id = `render/${e.code.toLowerCase().replace(/_/g, "-")}`;
    results.push({
      ruleId: id,
      ruleIndex: addRule(id, "critical", `The revision cannot be rendered safely (${e.code})`),
      level: "error",
      message: { text: e.message },
      ...(e.file === undefined ? {} : { locations: [location(e.file, e.line ?? 1)] }),
    });
  }
  for (const e of g.precheckErrors) {
    const id = `apply/${e.code.toLowerCase().replace(/_/g, "-")}`;
    results.push({
      ruleId: id,
      ruleIndex: addRule(id, "critical", `Reconcile would refuse the revision (${e.code})`),
      level: "error",
      message: { text: e.message },
      ...(e.origin === undefined ? {} : { locations: [location(e.origin.file, e.origin.line)] }),
    });
  }
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "gitward", semanticVersion: g.tool.version, informationUri, rules } },
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The root of the config repository." } } },
        results,
        invocations: [
          {
            executionSuccessful: g.report.errors.length === 0,
            toolExecutionNotifications: g.report.errors.map((e) => ({
              level: "error",
              message: { text: e.message },
            })),
          },
        ],
      },
    ],
  };
}
