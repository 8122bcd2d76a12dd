// The policy stage's entry point: runs the selected built-in packs, the custom ValidatingAdmissionPolicy
// rules and (with secrets-hygiene) the repository secret scanner over one rendered revision, applies the
// annotation exemptions, adds the image trust and SealedSecret findings when asked, and returns a report.
// Never throws for expected failures.
import type { ImagePolicy } from "../config/types.js";
import type { Manifest } from "../render/types.js";
import type { ImageResult } from "../trust/image/verify.js";
import { parseExemptions, EXEMPT_ANNOTATION } from "./exemptions.js";
import { imageTrustFindings, imageTrustRules } from "./image-trust.js";
import { originOf } from "./locate.js";
import { builtinPack, isPackId, DEFAULT_PACKS } from "./packs.js";
import { scanSecrets, type SecretAllowlist } from "./packs/secrets.js";
import { SEALED_SECRET_RULES, sealedSecretFindings, type SealedSecretCheck } from "./sealed-secrets.js";
import {
  atLeast,
  refOf,
  SEVERITIES,
  type Exemption,
  type Finding,
  type Revision,
  type Rule,
  type Severity,
} from "./types.js";
import { loadPolicies, PolicyErrorCode, type PolicyError } from "./vap.js";

export interface CustomPolicy {
  /** Where the policy text came from, for origins and messages. */
  readonly file: string;
  readonly text: string;
}

export interface CheckOptions {
  readonly manifests: readonly Manifest[];
  /** The repository root (real path) for the secret scanner; without it, files are not scanned. */
  readonly repoRoot?: string;
  /** The folder below repoRoot whose files the secret scanner reads (the checked path); default all. */
  readonly scanPath?: string;
  /** Built-in pack ids; default DEFAULT_PACKS. */
  readonly packs?: readonly string[];
  readonly customPolicies?: readonly CustomPolicy[];
  /** Custom rules compiled once (loadPolicies), for callers that check many revisions (admission). */
  readonly customRules?: readonly Rule[];
  /** Admission context for the CEL rules (Revision.admission). */
  readonly admission?: Revision["admission"];
  /**
   * Honour `gitward.dev/exempt` annotations (default true). Admission turns this off for objects not
   * applied by gitward: whoever writes the object would otherwise exempt it themselves.
   */
  readonly annotationExemptions?: boolean;
  readonly imagePolicy?: ImagePolicy;
  readonly destinationNamespace?: string;
  readonly secretsAllowlist?: SecretAllowlist;
  /** Verdicts of image verification for the revision's images (trust/image); each failure is a finding. */
  readonly imageVerdicts?: readonly ImageResult[];
  /** When set, every SealedSecret of the revision is validated (sealed-secrets.ts). */
  readonly sealedSecrets?: SealedSecretCheck;
}

/** The report; its JSON form is the documented stable schema of `gitward check -o json` (ADR 0004). */
export interface CheckReport {
  readonly schemaVersion: 1;
  /** Findings not exempted, sorted by file, line and rule. */
  readonly findings: readonly Finding[];
  readonly exemptions: readonly Exemption[];
  /** Packs and custom policy rules that ran. */
  readonly packs: readonly string[];
  readonly rules: readonly { id: string; severity: Severity; title: string }[];
  /** Policy files that could not be loaded; a report with errors must not pass. */
  readonly errors: readonly PolicyError[];
  readonly summary: {
    readonly objects: number;
    readonly findings: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly exemptions: number;
  };
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    a.origin.file.localeCompare(b.origin.file) ||
    a.origin.line - b.origin.line ||
    a.ruleId.localeCompare(b.ruleId) ||
    a.message.localeCompare(b.message)
  );
}

export async function checkRevision(opts: CheckOptions): Promise<CheckReport> {
  const errors: PolicyError[] = [];
  const packIds = opts.packs ?? DEFAULT_PACKS;
  const rules = new Map<string, Rule>();
  for (const id of packIds) {
    if (!isPackId(id)) {
      errors.push({ code: PolicyErrorCode.BadPolicy, message: `unknown policy pack "${id}"` });
      continue;
    }
    for (const r of builtinPack(id, opts.imagePolicy).rules) rules.set(r.id, r);
  }
  for (const p of opts.customPolicies ?? []) {
    const loaded = loadPolicies(p.text, p.file);
    errors.push(...loaded.errors);
    for (const r of loaded.rules) {
      if (rules.has(r.id))
        errors.push({
          code: PolicyErrorCode.BadPolicy,
          message: `${p.file}: policy id ${r.id} is defined twice`,
        });
      rules.set(r.id, r);
    }
  }

  for (const r of opts.customRules ?? []) {
    if (rules.has(r.id))
      errors.push({ code: PolicyErrorCode.BadPolicy, message: `policy id ${r.id} is defined twice` });
    rules.set(r.id, r);
  }

  const revision: Revision = {
    manifests: opts.manifests,
    ...(opts.destinationNamespace === undefined ? {} : { destinationNamespace: opts.destinationNamespace }),
    ...(opts.admission === undefined ? {} : { admission: opts.admission }),
  };
  const raw: { finding: Finding; manifest?: Manifest }[] = [];
  for (const rule of rules.values()) {
    for (const hit of rule.check(revision)) {
      const origin = originOf(hit);
      const object = hit.manifest === undefined ? {} : { object: refOf(hit.manifest) };
      raw.push({
        finding: {
          ruleId: rule.id,
          severity: rule.severity,
          message: hit.message,
          remediation: rule.remediation,
          ...object,
          ...(hit.path === undefined ? {} : { path: hit.path }),
          origin,
        },
        ...(hit.manifest === undefined ? {} : { manifest: hit.manifest }),
      });
    }
  }
  if (packIds.includes("secrets-hygiene") && opts.repoRoot !== undefined) {
    const found = await scanSecrets(opts.repoRoot, {
      ...(opts.secretsAllowlist === undefined ? {} : { allowlist: opts.secretsAllowlist }),
      ...(opts.scanPath === undefined ? {} : { path: opts.scanPath }),
    });
    for (const f of found) raw.push({ finding: f });
  }

  // Exemptions: by object, honoured only for rules named with a reason.
  const exemptionsByObject = new Map<Manifest, Map<string, { reason: string; suppressed: number }>>();
  const invalid: Finding[] = [];
  for (const m of opts.annotationExemptions === false ? [] : opts.manifests) {
    const parsed = parseExemptions(m);
    if (parsed.exemptions.length > 0) {
      exemptionsByObject.set(
        m,
        new Map(parsed.exemptions.map((e) => [e.ruleId, { reason: e.reason, suppressed: 0 }])),
      );
    }
    for (const line of parsed.invalid) {
      invalid.push({
        ruleId: "gitward/invalid-exemption",
        severity: "high",
        message: `annotation ${EXEMPT_ANNOTATION} entry "${line.slice(0, 200)}" is not "<rule-id>: <reason>"; it exempts nothing`,
        remediation: `Write one "<rule-id>: <reason>" per line, naming each rule and why it does not apply.`,
        object: refOf(m),
        origin: m.origin,
      });
    }
  }
  const findings: Finding[] = [...invalid];
  for (const { finding, manifest } of raw) {
    const ex = manifest === undefined ? undefined : exemptionsByObject.get(manifest)?.get(finding.ruleId);
    if (ex !== undefined) ex.suppressed++;
    else findings.push(finding);
  }
  const exemptions: Exemption[] = [];
  for (const [m, byRule] of exemptionsByObject) {
    for (const [ruleId, e] of byRule)
      exemptions.push({
        ruleId,
        reason: e.reason,
        object: refOf(m),
        origin: m.origin,
        suppressed: e.suppressed,
      });
  }
  // Not exemptable: the reconcile refuses an untrusted image or a SealedSecret that does not open whatever
  // the annotations say, so an exemption here would only pass a revision that cannot be deployed.
  const ruleInfos = [...rules.values()].map((r) => ({ id: r.id, severity: r.severity, title: r.title }));
  if (opts.imageVerdicts !== undefined) {
    findings.push(...imageTrustFindings(opts.manifests, opts.imageVerdicts));
    ruleInfos.push(...imageTrustRules(opts.imageVerdicts));
  }
  if (opts.sealedSecrets !== undefined) {
    findings.push(...sealedSecretFindings(opts.manifests, opts.sealedSecrets));
    for (const r of SEALED_SECRET_RULES) ruleInfos.push({ id: r.id, severity: r.severity, title: r.title });
  }
  findings.sort(compareFindings);
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length]),
  ) as Record<Severity, number>;
  return {
    schemaVersion: 1,
    findings,
    exemptions,
    packs: packIds.filter(isPackId),
    rules: ruleInfos,
    errors,
    summary: {
      objects: opts.manifests.length,
      findings: findings.length,
      bySeverity,
      exemptions: exemptions.length,
    },
  };
}

/** True when the report must fail a gate at `threshold`: a finding at or above it, or a policy error. */
export function failsAt(report: CheckReport, threshold: Severity): boolean {
  return report.errors.length > 0 || report.findings.some((f) => atLeast(f.severity, threshold));
}
