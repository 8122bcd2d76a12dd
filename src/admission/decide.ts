// The admission decision for one AdmissionRequest, through the same code path as `gitward check` and the
// reconcile's check step: the object becomes a one-object revision for policy/check.ts (packs, the
// TrustPolicy's CEL rules, image verdicts of trust/image), so a denial carries the same verdict code (the
// rule id) as the check would. Then the inventory guard: only gitward changes what gitward manages, unless
// the user is in a break-glass group (audit record + Event). Any unexpected error denies (fail closed).
import type { AuditLog } from "../audit/writer.js";
import { objectDigest } from "../audit/record.js";
import type { ClusterClient } from "../cluster/client.js";
import type { AdmissionPolicy, TrustPolicy } from "../config/types.js";
import { checkRevision } from "../policy/check.js";
import { needsRegistry, revisionImages } from "../policy/image-trust.js";
import { DEFAULT_PACKS } from "../policy/packs.js";
import { atLeast, type Finding, type Rule, type Severity } from "../policy/types.js";
import type { Manifest } from "../render/types.js";
import { emitEvent } from "../reconcile/events.js";
import type { ImageVerdicts } from "./image-verdicts.js";
import { InventoryUnavailableError, type InventoryIndex, type ManagedBy } from "./inventory-index.js";
import type { AdmissionMetrics } from "./metrics.js";
import type { AdmissionRequest, Verdict } from "./review.js";

/** The rule sets whose mode (enforce or audit) the TrustPolicy sets under spec.admission.modes. */
export type RuleSet = "images" | "packs" | "custom" | "inventory";
export type Mode = "enforce" | "audit";

/** Verdict codes of admission itself; policy denials carry the rule id as their code. */
export const AdmissionCode = {
  ManagedByGitward: "admission/managed-by-gitward",
  InventoryUnavailable: "admission/inventory-unavailable",
  AuditUnavailable: "admission/audit-unavailable",
  Error: "admission/error",
  Timeout: "admission/timeout",
} as const;

export const DEFAULT_OPERATOR = "system:serviceaccount:gitward-system:gitward";

/**
 * Rules that judge a whole revision and say nothing about one object arriving at the API server: a
 * namespace's default-deny NetworkPolicy is another object; a Secret in the cluster is where a SealedSecret
 * ends up; an application's scope and the Flux/Argo objects it ships are about what git holds.
 */
export const NOT_AT_ADMISSION: Readonly<Record<string, string>> = {
  "network/default-deny": "needs the revision's NetworkPolicies",
  "secrets/plain-secret": "a Secret in the cluster is what a SealedSecret becomes",
  "rbac/cluster-scoped-in-namespaced-app": "about an Application's destination",
  "policy/not-inspected": "about the objects a revision ships",
};

export interface DecisionOptions {
  readonly trust: TrustPolicy;
  /** The TrustPolicy's custom CEL rules, compiled once (vap.ts loadPolicies). */
  readonly customRules: readonly Rule[];
  /** Needed when the image policy asks for signatures, attestations or base images. */
  readonly images?: ImageVerdicts;
  /** Without it the inventory guard is off (reported by the CLI). */
  readonly inventory?: InventoryIndex;
  /** Where break-glass records go; without it, break-glass is refused (it must leave a record). */
  readonly audit?: AuditLog;
  /** For the Events of break-glass uses. */
  readonly events?: ClusterClient;
  readonly metrics?: AdmissionMetrics;
  readonly now?: () => Date;
  readonly log?: (
    level: "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export interface Decision extends Verdict {
  /** Findings at or above failOn that decided (denied, or warned in audit mode). */
  readonly findings: readonly Finding[];
  readonly breakGlass?: boolean;
}

interface Hit {
  readonly set: RuleSet;
  readonly code: string;
  readonly message: string;
}

function ruleSetOf(ruleId: string): RuleSet {
  if (ruleId.startsWith("images/") || ruleId.startsWith("supply-chain/")) return "images";
  if (ruleId.startsWith("vap/")) return "custom";
  return "packs";
}

function describe(req: AdmissionRequest): string {
  const ns = req.namespace === "" ? "" : `${req.namespace}/`;
  const sub = req.subResource === "" ? "" : `/${req.subResource}`;
  return `${req.kind.kind} ${ns}${req.name || "(generated name)"}${sub}`;
}

/** End of an exemption: a date alone means the end of that day (UTC). */
function expiryOf(expires: string): number {
  return expires.includes("T") ? Date.parse(expires) : Date.parse(`${expires}T00:00:00Z`) + 86_400_000;
}

export class AdmissionDecider {
  private readonly admission: AdmissionPolicy;
  private readonly operators: ReadonlySet<string>;
  private readonly breakGlass: ReadonlySet<string>;
  private readonly failOn: Severity;
  private readonly packs: readonly string[];
  private readonly now: () => Date;

  constructor(private readonly opts: DecisionOptions) {
    this.admission = opts.trust.spec.admission ?? {};
    this.operators = new Set(this.admission.operators ?? [DEFAULT_OPERATOR]);
    this.breakGlass = new Set(this.admission.breakGlass ?? []);
    this.failOn = opts.trust.spec.policy?.failOn ?? "high";
    this.packs = opts.trust.spec.policy?.packs ?? DEFAULT_PACKS;
    this.now = opts.now ?? (() => new Date());
  }

  mode(set: RuleSet): Mode {
    return this.admission.modes?.[set] ?? "enforce";
  }

  /** Decides; never throws: an unexpected error is a denial with code admission/error. */
  async decide(req: AdmissionRequest): Promise<Decision> {
    try {
      return await this.decideOrThrow(req);
    } catch (err) {
      this.opts.log?.("error", "admission decision failed; denied", {
        object: describe(req),
        error: err instanceof Error ? err.message : String(err),
      });
      return {
        allowed: false,
        code: AdmissionCode.Error,
        message: `gitward: ${describe(req)} denied [${AdmissionCode.Error}]: the decision failed (${err instanceof Error ? err.message : "error"}); gitward fails closed`,
        warnings: [],
        findings: [],
      };
    }
  }

  private async decideOrThrow(req: AdmissionRequest): Promise<Decision> {
    if (req.operation === "CONNECT") return this.allow(req, [], []);
    const hits: Hit[] = [];
    const warnings: string[] = [];
    const findings: Finding[] = [];
    const trusted = await this.isGitward(req.userInfo.username);
    // The object's content: checked on CREATE and UPDATE of the object itself and of its ephemeral
    // containers. Status and scale change no image or pod spec, so they are not judged again.
    if (
      req.object !== null &&
      (req.operation === "CREATE" || req.operation === "UPDATE") &&
      (req.subResource === "" || req.subResource === "ephemeralcontainers")
    ) {
      const found = await this.policyFindings(req, req.object, trusted);
      findings.push(...found.findings);
      hits.push(...found.hits);
      warnings.push(...found.warnings);
    }
    let breakGlass: { managed: ManagedBy; group: string } | undefined;
    if (req.operation === "UPDATE" || req.operation === "DELETE") {
      const guard = await this.guard(req);
      if (guard.hit !== undefined) hits.push(guard.hit);
      if (guard.breakGlass !== undefined) breakGlass = guard.breakGlass;
    }
    const enforced = hits.filter((h) => this.mode(h.set) === "enforce");
    for (const h of hits.filter((x) => this.mode(x.set) === "audit")) {
      warnings.push(`gitward audit mode: [${h.code}] ${h.message}`);
      this.opts.metrics?.auditHit(h.set, h.code, req.dryRun);
    }
    const first = enforced[0];
    if (first !== undefined) {
      const text = enforced.map((h) => `[${h.code}] ${h.message}`).join("; ");
      this.opts.metrics?.decided("denied", first.code, req.dryRun);
      return {
        allowed: false,
        code: first.code,
        message: `gitward: ${describe(req)} denied: ${text}`,
        warnings,
        findings,
      };
    }
    if (breakGlass !== undefined) {
      const recorded = await this.recordBreakGlass(req, breakGlass.managed, breakGlass.group, findings);
      if (!recorded.ok) {
        this.opts.metrics?.decided("denied", AdmissionCode.AuditUnavailable, req.dryRun);
        return {
          allowed: false,
          code: AdmissionCode.AuditUnavailable,
          message: `gitward: ${describe(req)} denied [${AdmissionCode.AuditUnavailable}]: a break-glass change must leave an audit record, and none could be written (${recorded.reason})`,
          warnings,
          findings,
        };
      }
      warnings.push(
        `gitward break-glass: ${req.userInfo.username} (group ${breakGlass.group}) changed an object of Application ${breakGlass.managed.app.namespace}/${breakGlass.managed.app.name}; recorded${req.dryRun ? " (dry run: not recorded)" : ""}`,
      );
    }
    const code = hits[0]?.code;
    return {
      ...this.allow(req, warnings, findings, code),
      ...(breakGlass === undefined ? {} : { breakGlass: true }),
    };
  }

  private allow(req: AdmissionRequest, warnings: string[], findings: Finding[], code?: string): Decision {
    this.opts.metrics?.decided("allowed", code ?? "OK", req.dryRun);
    return {
      allowed: true,
      message: "gitward: allowed",
      warnings,
      findings,
      ...(code === undefined ? {} : { code }),
    };
  }

  /** The operator, an Application's deployer, or a user the TrustPolicy names in admission.operators. */
  private async isGitward(user: string): Promise<boolean> {
    if (this.operators.has(user)) return true;
    return this.opts.inventory === undefined
      ? false
      : await this.opts.inventory.isDeployer(user).catch(() => false);
  }

  /** True when an Application's inventory lists the object (false without an inventory, or on error). */
  async isManaged(req: AdmissionRequest): Promise<boolean> {
    if (this.opts.inventory === undefined) return false;
    const m = await this.opts.inventory
      .lookup({
        group: req.resource.group,
        resource: req.resource.resource,
        namespace: req.namespace,
        name: req.name,
      })
      .catch(() => undefined);
    return m !== undefined;
  }

  /** The policy findings of one object as admission judges it (also `gitward audit cluster`). */
  async policyFindings(
    req: AdmissionRequest,
    object: Record<string, unknown>,
    trusted: boolean,
  ): Promise<{ findings: Finding[]; hits: Hit[]; warnings: string[] }> {
    const manifest = manifestOf(req, object);
    const imagePolicy = this.opts.trust.spec.images;
    let imageVerdicts;
    if (imagePolicy !== undefined && needsRegistry(imagePolicy)) {
      if (this.opts.images === undefined) throw new Error("the image policy needs a registry client");
      imageVerdicts = await this.opts.images.verify(revisionImages([manifest]));
    }
    const report = await checkRevision({
      manifests: [manifest],
      packs: this.packs,
      customRules: this.opts.customRules,
      ...(imagePolicy === undefined ? {} : { imagePolicy }),
      ...(imageVerdicts === undefined ? {} : { imageVerdicts }),
      admission: {
        request: req.raw,
        oldObject: req.oldObject,
      },
      // Exemption annotations were reviewed in signed commits only when gitward applies the object.
      annotationExemptions: trusted,
    });
    if (report.errors.length > 0) throw new Error(report.errors.map((e) => e.message).join("; "));
    const warnings: string[] = [];
    const findings: Finding[] = [];
    const hits: Hit[] = [];
    for (const f of report.findings) {
      if (NOT_AT_ADMISSION[f.ruleId] !== undefined) continue;
      if (!atLeast(f.severity, this.failOn)) {
        warnings.push(`gitward: [${f.ruleId}] ${f.message}`);
        continue;
      }
      const exemption = this.exemption(f.ruleId, req);
      if (exemption === "expired") warnings.push(`gitward: the exemption of ${f.ruleId} has expired`);
      else if (exemption !== undefined) {
        warnings.push(`gitward: [${f.ruleId}] exempted until ${exemption.expires}: ${exemption.reason}`);
        continue;
      }
      findings.push(f);
      hits.push({ set: ruleSetOf(f.ruleId), code: f.ruleId, message: f.message });
    }
    return { findings, hits, warnings };
  }

  private exemption(ruleId: string, req: AdmissionRequest) {
    let expired = false;
    for (const e of this.admission.exemptions ?? []) {
      if (e.rule !== ruleId) continue;
      if (e.namespace !== undefined && e.namespace !== req.namespace) continue;
      if (e.name !== undefined && e.name !== req.name) continue;
      if (!(expiryOf(e.expires) > this.now().getTime())) {
        expired = true;
        continue;
      }
      return e;
    }
    return expired ? ("expired" as const) : undefined;
  }

  private async guard(
    req: AdmissionRequest,
  ): Promise<{ hit?: Hit; breakGlass?: { managed: ManagedBy; group: string } }> {
    if (this.opts.inventory === undefined || req.subResource === "status") return {};
    let managed: ManagedBy | undefined;
    try {
      managed = await this.opts.inventory.lookup({
        group: req.resource.group,
        resource: req.resource.resource,
        namespace: req.namespace,
        name: req.name,
      });
    } catch (err) {
      if (!(err instanceof InventoryUnavailableError)) throw err;
      if (this.operators.has(req.userInfo.username)) return {};
      return { hit: { set: "inventory", code: AdmissionCode.InventoryUnavailable, message: err.message } };
    }
    if (managed === undefined) return {};
    const user = req.userInfo.username;
    if (this.operators.has(user) || user === managed.deployer) return {};
    const group = req.userInfo.groups.find((g) => this.breakGlass.has(g));
    if (group !== undefined) return { breakGlass: { managed, group } };
    return {
      hit: {
        set: "inventory",
        code: AdmissionCode.ManagedByGitward,
        message: `${user} may not ${req.operation === "DELETE" ? "delete" : "change"} it: it is managed by gitward Application ${managed.app.namespace}/${managed.app.name}; change it in git, or use a break-glass group of the TrustPolicy (spec.admission.breakGlass)`,
      },
    };
  }

  /** The audit record and the Event of a break-glass change; a dry run leaves neither. */
  private async recordBreakGlass(
    req: AdmissionRequest,
    managed: ManagedBy,
    group: string,
    findings: readonly Finding[],
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    this.opts.metrics?.breakGlass(req.dryRun);
    if (req.dryRun) return { ok: true };
    if (this.opts.audit === undefined) return { ok: false, reason: "the webhook runs without --audit-log" };
    const subject = req.operation === "DELETE" ? req.oldObject : req.object;
    const apiVersion = req.kind.group === "" ? req.kind.version : `${req.kind.group}/${req.kind.version}`;
    const ref = {
      apiVersion,
      kind: req.kind.kind,
      ...(req.namespace === "" ? {} : { namespace: req.namespace }),
      name: req.name,
      digest: objectDigest(subject ?? {}),
    };
    const user = req.userInfo.username;
    try {
      await this.opts.audit.append({
        application: { namespace: managed.app.namespace, name: managed.app.name },
        revision:
          managed.revision !== undefined && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(managed.revision)
            ? managed.revision
            : "0".repeat(40),
        signers: [],
        findings: {
          total: findings.length,
          bySeverity: {
            low: findings.filter((f) => f.severity === "low").length,
            medium: findings.filter((f) => f.severity === "medium").length,
            high: findings.filter((f) => f.severity === "high").length,
            critical: findings.filter((f) => f.severity === "critical").length,
          },
          codes: [...new Set(findings.map((f) => f.ruleId))].slice(0, 100),
        },
        applied: req.operation === "DELETE" ? [] : [ref],
        pruned: req.operation === "DELETE" ? [ref] : [],
        result: "break-glass",
        reason: `BREAK_GLASS_${req.operation}`,
        actor: { type: user.startsWith("system:serviceaccount:") ? "service-account" : "user", name: user },
      });
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    if (this.opts.events !== undefined) {
      const target =
        req.namespace === ""
          ? { apiVersion: "gitward.dev/v1alpha1", kind: "Application", ...managed.app }
          : { apiVersion, kind: req.kind.kind, namespace: req.namespace, name: req.name };
      await emitEvent(this.opts.events, target, {
        type: "Warning",
        reason: "BreakGlass",
        message: `${user} (break-glass group ${group}) ${req.operation === "DELETE" ? "deleted" : "changed"} ${describe(req)}, managed by gitward Application ${managed.app.namespace}/${managed.app.name}`,
        now: this.now().toISOString(),
      }).catch((err: unknown) => {
        // The audit record is the proof; a lost Event is logged, not a reason to refuse.
        this.opts.log?.("warn", "break-glass Event not written", {
          error: err instanceof Error ? err.message : String(err),
        });
      });
    }
    return { ok: true };
  }
}

/** The admitted object as a one-object revision; its origin names the request, not a file. */
export function manifestOf(req: AdmissionRequest, object: Record<string, unknown>): Manifest {
  const meta = object["metadata"];
  const m = typeof meta === "object" && meta !== null ? (meta as Record<string, unknown>) : {};
  const name =
    typeof m["name"] === "string" && m["name"] !== ""
      ? m["name"]
      : req.name || (typeof m["generateName"] === "string" ? m["generateName"] : "");
  const namespace =
    typeof m["namespace"] === "string" && m["namespace"] !== "" ? m["namespace"] : req.namespace;
  const apiVersion =
    typeof object["apiVersion"] === "string"
      ? object["apiVersion"]
      : req.kind.group === ""
        ? req.kind.version
        : `${req.kind.group}/${req.kind.version}`;
  const kind = typeof object["kind"] === "string" ? object["kind"] : req.kind.kind;
  return {
    apiVersion,
    kind,
    name,
    ...(namespace === "" ? {} : { namespace }),
    object,
    origin: { file: `admission:${kind}/${namespace === "" ? "" : `${namespace}/`}${name}`, line: 1 },
  };
}
