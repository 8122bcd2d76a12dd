// One reconcile of one Application: source → verify → render → check → plan → apply → prune → health →
// record (ARCHITECTURE.md). Every gate runs before the first write; any refusal stops the revision with
// nothing written, the last applied revision left as it is, and the status, an audit record and an Event
// saying why. The steps run through the shared runner in steps.ts; the record is made once, at the end.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { readConfigText } from "../config/load.js";
import type { Application, ApplicationStatus, Condition, TrustPolicy } from "../config/types.js";
import {
  describeRef,
  refOf,
  serviceAccountUser,
  type ClusterClient,
  type KubeObject,
} from "../cluster/client.js";
import { realSleep } from "../cluster/backoff.js";
import type {
  AuditActor,
  AuditEntry,
  AuditObjectRef,
  DriftChange,
  FindingsSummary,
} from "../audit/record.js";
import { objectDigest } from "../audit/record.js";
import type { AuditSink } from "../audit/writer.js";
import { RegistryClient } from "../images/client.js";
import { checkRevision, failsAt } from "../policy/check.js";
import { imageFailureReason } from "../policy/image-trust.js";
import { resolveTools, type RenderTools } from "../render/tool.js";
import type { Manifest } from "../render/types.js";
import type { SealingKeyRing } from "../secrets/keys.js";
import { fetchSource, type FetchedSource, type SourceCredentials } from "../source/fetch.js";
import { verifyCommitRange } from "../trust/commit/range.js";
import type { RangeVerdict } from "../trust/commit/verdict.js";
import { imagesOf, pinVerified } from "../trust/image/pin.js";
import { verifyImages } from "../trust/image/verify.js";
import { vulnerabilityRefusal, type VulnGateEnv } from "../vuln/reconcile-gate.js";
import {
  accessReview,
  applyAll,
  dryRun,
  isFoundation,
  isWorkload,
  plan,
  prune,
  waitHealthy,
  type LiveVersions,
  type Plan,
} from "./apply.js";
import { checkoutCommit } from "./checkout.js";
import { hashOf } from "./compare.js";
import { appIdOf, crdScopes, prepareDesired, type DesiredObject } from "./desired.js";
import { clusterScopes, renderRevision, renderSettingsOf } from "./pipeline.js";
import {
  InventoryTooLargeError,
  OWNER_LABEL,
  keyOf,
  ownerLabelValue,
  type AppId,
  type InventoryEntry,
} from "./inventory.js";
import {
  ConditionType,
  runSteps,
  type ConditionState,
  type Step,
  type StepFailure,
  type StepsOutcome,
} from "./steps.js";
import type { AppState, StateStore } from "./state.js";
import { emitEvent } from "./events.js";
import type { DriftFinding } from "./drift.js";
import { isAncestor } from "../source/walk.js";
import {
  activePin,
  pinVerifyFrom,
  requestOf,
  suspendedAlready,
  suspendedStatus,
  type ActivePin,
} from "../day2/app-control.js";

export interface ReconcileEnv {
  readonly cluster: ClusterClient;
  readonly state: StateStore;
  /** Folder for the git mirrors, kept between runs. */
  readonly cacheDir: string;
  /** Parent folder of the temporary checkouts (default the system temp folder). */
  readonly workDir?: string;
  readonly audit?: AuditSink;
  readonly actor: AuditActor;
  /** kubectl and helm (default resolveTools(): $GITWARD_KUBECTL/$GITWARD_HELM, .tools/bin, then PATH). */
  readonly tools?: RenderTools;
  readonly sealingKeys?: SealingKeyRing;
  readonly registry?: RegistryClient;
  readonly credentials?: SourceCredentials;
  /** Folder that custom policy paths of the TrustPolicy are relative to (the config file's). */
  readonly configDir?: string;
  /** Parallel API requests (default 16). */
  readonly concurrency?: number;
  /** How long to wait for workloads to become ready (default 60 s). */
  readonly healthTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Restore: apply every object whatever the cluster holds (disaster recovery from git alone). */
  readonly restore?: boolean;
  /** Progress lines for people (the demo and the CLI); never given secrets. */
  readonly log?: (line: string) => void;
  /**
   * How writes are proven before the first one: "dry-run" (default) applies every changed object with
   * dryRun=All as the application's account, so RBAC, validation and admission refusals all stop the
   * revision; "access-review" asks one SelfSubjectAccessReview per resource, namespace and verb, which
   * proves RBAC at a fraction of the requests but leaves validation errors to the apply itself.
   */
  readonly preflight?: "dry-run" | "access-review";
  /** Kept across reconciles by a long-running process: skips render and checks of a revision already checked. */
  readonly revisionCache?: RevisionCache;
  /** ResourceVersions of managed objects last seen holding what git says (a long-running process's). */
  readonly liveVersions?: LiveVersions;
  /**
   * The operator honours the Application's `drift` mode: under "alert" a drifted object is reported and
   * left as it is. Without this (a one-shot `gitward reconcile`, restore) every difference is applied.
   */
  readonly honorDriftMode?: boolean;
  /**
   * Handed the objects of the revision in force after every pass that applied or confirmed it, so the
   * operator's drift watch knows what each managed object should hold. Kept in memory only: a Secret
   * opened from a SealedSecret is among them.
   */
  readonly onDesired?: (app: AppId, desired: readonly DesiredObject[]) => void;
  /**
   * A fence checked right before the first write: false (this replica lost its leader lease) stops the
   * revision with NOT_LEADER and nothing written, so two replicas never write the same objects at once.
   */
  readonly mayWrite?: () => boolean;
  /**
   * A dry run (`gitward diff`, `gitward reconcile --dry-run`, `gitward render APP`): every step up to the
   * plan, its server-side dry run included, and then nothing written at all (no apply, prune, state,
   * audit record or Event); `onPlan` is handed what the reconcile would have applied and pruned.
   */
  readonly dryRun?: boolean;
  readonly onPlan?: (app: AppId, preview: PlanPreview) => void;
  /** The vulnerability gate's inventory function, cache or database (default: catalogImage, dbPath). */
  readonly vulnerabilities?: VulnGateEnv;
  /** Told each stage as it starts (source, verify, ...), for live progress in the CLI. */
  readonly onStage?: (app: AppId, stage: string) => void;
}

/** What a dry run found the reconcile would do. Kept in memory only: opened Secrets are among `desired`. */
export interface PlanPreview {
  /** Every object of the revision as it would be applied (pinned, namespaced, labelled). */
  readonly desired: readonly DesiredObject[];
  readonly plan: Plan;
  /** The server's answer to the dry-run apply of each change, by object key (not for deferred ones). */
  readonly dryRun: ReadonlyMap<string, KubeObject>;
  /** Inventory entries that prune would delete (only when the Application prunes). */
  readonly prune: readonly InventoryEntry[];
  /** The service account the reconcile applies as. */
  readonly serviceAccount: string;
}

interface CachedRevision {
  readonly key: string;
  readonly manifests: readonly Manifest[];
  readonly desired: DesiredObject[];
  readonly findings: FindingsSummary;
}

/**
 * The outcome of render and check for the last passing revision of each application, so the periodic
 * no-op reconcile of an operator does not render and check the same commit again. The key covers the
 * commit, the Application and TrustPolicy specs and the sealing keys; revisions whose images are not all
 * pinned in git are never cached, since a moved tag must be noticed on every pass.
 */
export class RevisionCache {
  private readonly entries = new Map<string, CachedRevision>();

  get(app: AppId, key: string): CachedRevision | undefined {
    const e = this.entries.get(`${app.namespace}/${app.name}`);
    return e?.key === key ? e : undefined;
  }

  set(app: AppId, entry: CachedRevision): void {
    this.entries.set(`${app.namespace}/${app.name}`, entry);
  }
}

function cacheKey(run: Run): string {
  return hashOf({
    head: run.fetched?.head,
    app: run.app.spec,
    trust: run.trust.spec,
    keys: run.env.sealingKeys?.keys.map((k) => k.fingerprint) ?? [],
  });
}

export type ReconcileResult = "applied" | "unchanged" | "refused" | "failed";

export interface ReconcileReport {
  readonly application: AppId;
  readonly result: ReconcileResult;
  /** The reason code when refused or failed (UNSIGNED, POLICY_FAILED, FORBIDDEN, ...). */
  readonly reason?: string;
  readonly message: string;
  readonly details: readonly string[];
  readonly step?: string;
  readonly revision?: string;
  readonly signer?: string;
  readonly applied: readonly string[];
  readonly unchanged: number;
  readonly pruned: readonly string[];
  /** Managed objects found changed or deleted in the cluster although git did not change them. */
  readonly drift: readonly DriftFinding[];
  /** Whether the drift was applied over (revert, or a one-shot reconcile) or left (drift: alert). */
  readonly driftReverted: boolean;
  readonly status: ApplicationStatus;
  /** Id of the audit record written for this run, if any. */
  readonly auditRecord?: string;
  /** Wall time of each step, in ms. */
  readonly timings: Readonly<Record<string, number>>;
}

interface Run {
  readonly app: Application;
  readonly trust: TrustPolicy;
  readonly env: ReconcileEnv;
  readonly id: AppId;
  readonly sa: string;
  readonly previous: AppState | undefined;
  readonly prevInventory: ReadonlyMap<string, InventoryEntry>;
  fetched?: FetchedSource;
  verdict?: RangeVerdict;
  manifests?: readonly Manifest[];
  findings: FindingsSummary;
  desired?: DesiredObject[];
  plan?: Plan;
  resolvedImages: Record<string, string>;
  applied: { desired: DesiredObject; uid: string | undefined }[];
  pruned: InventoryEntry[];
  /** The inventory as it stands now (written ahead of the apply, so a crash leaks nothing). */
  inventory: Map<string, InventoryEntry>;
  writesBegan: boolean;
  removeCheckout?: () => Promise<void>;
  repoDir?: string;
  /** Render and check were skipped: the revision passed them before (RevisionCache). */
  fromCache?: boolean;
  /** The dry-run apply answers, kept in a dry run (env.dryRun) for the preview. */
  dryRunAnswers?: Map<string, KubeObject>;
  /** A rollback pin in force (spec.rollback): `fetched.head` is the pinned revision. */
  pin?: ActivePin;
}

const emptyFindings = (): FindingsSummary => ({
  total: 0,
  bySeverity: { low: 0, medium: 0, high: 0, critical: 0 },
  codes: [],
});

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./:-]*$/;
const short = (sha: string) => sha.slice(0, 12);

function refuse(
  condition: ConditionType,
  reason: string,
  message: string,
  details: readonly string[] = [],
): StepFailure {
  return { result: "refused", condition, reason, message, details };
}

function fail(
  condition: ConditionType,
  reason: string,
  message: string,
  details: readonly string[] = [],
): StepFailure {
  return { result: "failed", condition, reason, message, details };
}

function signerOf(run: Run): string | undefined {
  const head = run.verdict?.commits.find((c) => c.commit === run.fetched?.head);
  return head?.signer?.names[0] ?? run.previous?.status.lastAppliedSigner;
}

// ---- the steps ------------------------------------------------------------------------------------

const source: Step<Run> = {
  name: "source",
  async run(run) {
    const { spec } = run.app;
    const r = await fetchSource({
      url: spec.source.url,
      ref: spec.source.ref,
      cacheDir: run.env.cacheDir,
      ...(run.env.credentials === undefined ? {} : { credentials: run.env.credentials }),
    });
    if (!r.ok)
      return refuse(
        ConditionType.Ready,
        `SOURCE_${r.error.code}`,
        `fetching the source failed: ${r.error.message}`,
      );
    run.fetched = r.source;
    const pin = activePin(run.app, r.source.head);
    if (pin === undefined) return undefined;
    // A pinned revision must be in the history of the head it was pinned under: nothing else is applied.
    const known = await isAncestor(r.source.dir, pin.revision, r.source.head).catch(() => false);
    if (!known) {
      return refuse(
        ConditionType.Verified,
        "ROLLBACK_NOT_IN_HISTORY",
        `rollback revision ${short(pin.revision)} is not in the history of ${short(r.source.head)}; nothing was applied (run \`gitward resume\` to clear the pin)`,
      );
    }
    run.pin = pin;
    const { tagObject: _tag, ...rest } = r.source;
    run.fetched = { ...rest, head: pin.revision };
    return undefined;
  },
};

const verify: Step<Run> = {
  name: "verify",
  async run(run) {
    const fetched = run.fetched as FetchedSource;
    const from =
      run.pin === undefined
        ? run.previous?.status.lastAppliedRevision
        : pinVerifyFrom(run.pin, run.previous?.status);
    const verdict = await verifyCommitRange({
      repoDir: fetched.dir,
      to: fetched.head,
      // No commits section (a TrustPolicy written for images only): no signer is trusted, so every
      // commit is refused, fail closed. gitward.yaml refuses such a reference at load already.
      policy: run.trust.spec.commits ?? { signers: [] },
      ...(from === undefined ? {} : { from }),
      ...(fetched.tagObject === undefined ? {} : { tagObject: fetched.tagObject }),
      ...(run.env.now === undefined ? {} : { now: run.env.now() }),
    });
    run.verdict = verdict;
    if (verdict.trusted) return undefined;
    const details: string[] = [];
    const codes = new Set<string>();
    for (const f of verdict.findings) {
      codes.add(f.code);
      details.push(`${f.code}: ${f.message}`);
    }
    for (const c of verdict.commits) {
      if (c.trusted) continue;
      for (const f of c.findings) {
        codes.add(f.code);
        details.push(`commit ${short(c.commit)} "${c.subject}": ${f.code}: ${f.message}`);
      }
    }
    for (const f of verdict.tag?.findings ?? []) {
      codes.add(f.code);
      details.push(`tag ${verdict.tag?.name ?? ""}: ${f.code}: ${f.message}`);
    }
    const reason = [...codes][0] ?? "UNTRUSTED";
    run.findings = {
      ...emptyFindings(),
      total: details.length,
      codes: [...codes].filter((c) => CODE_PATTERN.test(c)),
    };
    return refuse(
      ConditionType.Verified,
      reason,
      `revision ${short(fetched.head)} is not trusted (${reason}); nothing of it was applied, the last applied revision stays`,
      details,
    );
  },
  marks(run) {
    const n = run.verdict?.commits.length ?? 0;
    const signer = signerOf(run);
    return {
      condition: ConditionType.Verified,
      reason: "Trusted",
      message: `${n} new commit(s) verified${signer === undefined ? "" : `; head signed by ${signer}`}`,
    };
  },
};

const renderStep: Step<Run> = {
  name: "render",
  async run(run) {
    const fetched = run.fetched as FetchedSource;
    const cached = run.env.revisionCache?.get(run.id, cacheKey(run));
    if (cached !== undefined) {
      run.manifests = cached.manifests;
      run.desired = cached.desired;
      run.findings = cached.findings;
      run.fromCache = true;
      return undefined;
    }
    const co = await checkoutCommit(fetched.dir, fetched.head, run.env.workDir);
    run.removeCheckout = () => co.remove();
    run.repoDir = co.dir;
    const r = await renderRevision({
      repoRoot: co.dir,
      settings: renderSettingsOf(run.app),
      namespace: run.app.spec.destination.namespace,
      tools: run.env.tools ?? resolveTools(),
    });
    if (!r.ok) {
      const details = r.errors.map(
        (e) =>
          `${e.file === undefined ? "" : `${e.file}${e.line === undefined ? "" : `:${e.line}`}: `}${e.code}: ${e.message}`,
      );
      run.findings = {
        ...emptyFindings(),
        total: r.errors.length,
        codes: [...new Set(r.errors.map((e) => e.code))],
      };
      return refuse(
        ConditionType.PolicyPassed,
        "RENDER_FAILED",
        `rendering revision ${short(fetched.head)} failed: ${r.errors[0]?.message ?? ""}`,
        details,
      );
    }
    run.manifests = r.manifests;
    return undefined;
  },
};

async function customPolicies(run: Run): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const p of run.trust.spec.policy?.custom ?? []) {
    const file = path.resolve(run.env.configDir ?? ".", p);
    out.push({ file: p, text: await readConfigText(file, "policy file") });
  }
  return out;
}

const check: Step<Run> = {
  name: "check",
  async run(run) {
    if (run.fromCache === true) return undefined;
    const head = short((run.fetched as FetchedSource).head);
    let manifests = run.manifests ?? [];
    const allPinned = manifests.every((m) => imagesOf(m.object).every((i) => i.includes("@sha256:")));
    const policy = run.trust.spec.policy;
    const report = await checkRevision({
      manifests,
      ...(run.repoDir === undefined ? {} : { repoRoot: run.repoDir }),
      // Only this Application's files: a secret elsewhere in the repository is another one's finding.
      scanPath: run.app.spec.source.path ?? ".",
      ...(policy?.packs === undefined ? {} : { packs: policy.packs }),
      customPolicies: await customPolicies(run),
      ...(run.trust.spec.images === undefined ? {} : { imagePolicy: run.trust.spec.images }),
      destinationNamespace: run.app.spec.destination.namespace,
    });
    run.findings = {
      total: report.summary.findings,
      bySeverity: { ...report.summary.bySeverity },
      codes: [...new Set(report.findings.map((f) => f.ruleId))]
        .filter((c) => CODE_PATTERN.test(c))
        .slice(0, 100),
    };
    if (failsAt(report, policy?.failOn ?? "high")) {
      const details = [
        ...report.errors.map((e) => `${e.code}: ${e.message}`),
        ...report.findings.map(
          (f) =>
            `${f.origin.file}:${f.origin.line}: ${f.severity} ${f.ruleId}: ${f.message}${f.remediation === "" ? "" : ` (${f.remediation})`}`,
        ),
      ];
      const rank = { low: 0, medium: 1, high: 2, critical: 3 } as const;
      const first = [...report.findings].sort((a, b) => rank[b.severity] - rank[a.severity])[0];
      return refuse(
        ConditionType.PolicyPassed,
        "POLICY_FAILED",
        `revision ${head} breaks policy${first === undefined ? "" : `: ${first.ruleId}: ${first.message}`}`,
        details,
      );
    }

    const imagePolicy = run.trust.spec.images;
    if (imagePolicy !== undefined) {
      const images = [...new Set(manifests.flatMap((m) => imagesOf(m.object)))];
      if (images.length > 0) {
        const recorded =
          run.previous?.status.lastAttemptedRevision === run.fetched?.head
            ? (run.previous?.status.images ?? {})
            : {};
        const result = await verifyImages({
          images,
          policy: imagePolicy,
          recorded,
          client: run.env.registry ?? new RegistryClient({ hosts: imagePolicy.registryOptions ?? [] }),
        });
        if (!result.ok) {
          const details = [
            ...(result.policyErrors ?? []),
            ...result.results
              .filter((r) => !r.ok)
              .map((r) => `${r.ref}: ${r.code ?? "REFUSED"}: ${imageFailureReason(r)}`),
          ];
          const code = result.results.find((r) => !r.ok)?.code ?? "IMAGE_POLICY";
          return refuse(
            ConditionType.PolicyPassed,
            code,
            `revision ${head} uses an image that is not trusted (${code})`,
            details,
          );
        }
        run.resolvedImages = result.resolved;
        const vuln = await vulnerabilityRefusal({
          policy: imagePolicy,
          verified: result.results,
          client: run.env.registry ?? new RegistryClient({ hosts: imagePolicy.registryOptions ?? [] }),
          env: run.env.vulnerabilities,
          revision: head,
          now: run.env.now?.(),
        });
        if (vuln !== undefined) {
          run.findings = {
            total: run.findings.total + vuln.blocking,
            bySeverity: run.findings.bySeverity,
            codes: [...run.findings.codes, ...vuln.codes.filter((c) => CODE_PATTERN.test(c))].slice(0, 100),
          };
          return refuse(ConditionType.PolicyPassed, vuln.reason, vuln.message, vuln.details);
        }
        manifests = pinVerified(manifests, result.results, imagePolicy.requireDigest);
      }
    }

    const prepared = await prepareDesired(manifests, {
      app: run.app,
      scopeOf: clusterScopes(run.env.cluster, manifests),
      ...(run.env.sealingKeys === undefined ? {} : { sealingKeys: run.env.sealingKeys }),
    });
    if (!prepared.ok) {
      const reason = prepared.problems[0]?.code ?? "OUT_OF_SCOPE";
      return refuse(
        ConditionType.PolicyPassed,
        reason,
        `revision ${head} was refused: ${prepared.problems[0]?.message ?? ""}`,
        prepared.problems.map((p) => `${p.code}: ${p.message}`),
      );
    }
    run.desired = prepared.objects;
    if (run.env.revisionCache !== undefined && (imagePolicy === undefined || allPinned)) {
      run.env.revisionCache.set(run.id, {
        key: cacheKey(run),
        manifests: run.manifests ?? [],
        desired: prepared.objects,
        findings: run.findings,
      });
    }
    return undefined;
  },
  marks(run) {
    return {
      condition: ConditionType.PolicyPassed,
      reason: "Passed",
      message: `${run.desired?.length ?? 0} object(s) passed policy with ${run.findings.total} finding(s) below the threshold`,
    };
  },
};

const planStep: Step<Run> = {
  name: "plan",
  async run(run) {
    const desired = run.desired ?? [];
    const concurrency = run.env.concurrency ?? 16;
    const p = await plan(run.env.cluster, run.id, desired, run.prevInventory, {
      selector: `${OWNER_LABEL}=${ownerLabelValue(run.id)}`,
      force: run.env.restore === true,
      impersonate: run.sa,
      keepDrift: keepsDrift(run),
      ...(run.env.liveVersions === undefined ? {} : { versions: run.env.liveVersions.forApp(run.id) }),
    });
    run.plan = p;
    const tooLarge = inventoryTooLarge(run, p);
    if (tooLarge !== undefined) return tooLarge;
    // Objects in namespaces this revision creates, or of kinds its CRDs define, cannot be dry-run before
    // those exist: they are dry-run right after the foundations are applied, still before themselves.
    const newNamespaces = new Set(
      p.changes.filter((d) => d.object.kind === "Namespace").map((d) => d.object.metadata.name),
    );
    const now = p.changes.filter((d) => !deferred(d, newNamespaces, run));
    const problems =
      run.env.preflight === "access-review" && run.env.dryRun !== true
        ? await accessReview(run.env.cluster, now, p.live, run.sa)
        : await dryRun(run.env.cluster, now, run.sa, concurrency, run.dryRunAnswers);
    if (problems.length > 0) return refusedByServer(run, problems);
    return undefined;
  },
};

/** The inventory entries the revision no longer has: what prune deletes (or, without prune, forgets). */
function pruneCandidates(run: Run): InventoryEntry[] {
  const wanted = new Set((run.desired ?? []).map((d) => keyOf(refOf(d.object))));
  return [...run.inventory.entries()].filter(([k]) => !wanted.has(k)).map(([, e]) => e);
}

/**
 * Refuses, before any write, a revision whose inventory could not be stored (in parts of 1 MiB each):
 * applying it would leave objects that no inventory lists, which prune could then never remove.
 */
function inventoryTooLarge(run: Run, p: Plan): StepFailure | undefined {
  if (p.changes.length === 0) return undefined;
  const next = new Map(run.inventory);
  for (const d of run.desired ?? []) {
    const key = keyOf(refOf(d.object));
    // Every entry gets its object's uid once applied; a random one packs as badly as the real one will.
    next.set(key, entryOf(d, next.get(key)?.uid ?? p.live.get(key)?.metadata.uid ?? randomUUID()));
  }
  try {
    // Random uids pack as badly as the real ones will; the parts' own limits leave room to spare.
    run.env.state.assertFits([...next.values()]);
    return undefined;
  } catch (err) {
    if (!(err instanceof InventoryTooLargeError)) throw err;
    return refuse(
      ConditionType.Ready,
      "INVENTORY_TOO_LARGE",
      `revision ${short(run.fetched?.head ?? "")}: ${err.message}; nothing was applied`,
    );
  }
}

function keepsDrift(run: Run): boolean {
  return run.env.honorDriftMode === true && (run.app.spec.drift ?? "alert") === "alert";
}

function deferred(d: DesiredObject, newNamespaces: ReadonlySet<string>, run: Run): boolean {
  if (isFoundation(d.object)) return false;
  if (d.object.metadata.namespace !== undefined && newNamespaces.has(d.object.metadata.namespace))
    return true;
  return crdScopes(run.manifests ?? []).has(`${d.object.apiVersion} ${d.object.kind}`);
}

function refusedByServer(run: Run, problems: readonly { code: string; message: string }[]): StepFailure {
  const reason = problems[0]?.code ?? "APPLY_REFUSED";
  return refuse(
    ConditionType.Ready,
    reason,
    `the API server refused revision ${short(run.fetched?.head ?? "")} for service account ${run.sa}: ${problems[0]?.message ?? ""}; nothing was applied`,
    problems.map((p) => `${p.code}: ${p.message}`),
  );
}

function entryOf(d: DesiredObject, uid: string | undefined): InventoryEntry {
  const r = refOf(d.object);
  return { ...r, hash: d.hash, ...(uid === undefined ? {} : { uid }) };
}

const applyStep: Step<Run> = {
  name: "apply",
  async run(run) {
    const p = run.plan as Plan;
    if (p.changes.length === 0) return undefined;
    if (run.env.mayWrite?.() === false) {
      return refuse(
        ConditionType.Ready,
        "NOT_LEADER",
        "this replica no longer holds the leader lease; nothing was written, the leader applies",
      );
    }
    const { cluster } = run.env;
    const concurrency = run.env.concurrency ?? 16;
    // Write-ahead inventory: every object about to be applied is listed first, so a crash in the middle
    // leaves nothing that a later prune would not know about.
    const pending = p.changes.filter((d) => !run.inventory.has(keyOf(refOf(d.object))));
    if (pending.length > 0) {
      for (const d of pending) run.inventory.set(keyOf(refOf(d.object)), entryOf(d, undefined));
      run.writesBegan = true;
      await run.env.state.save(run.id, {
        status: run.previous?.status ?? {},
        inventory: [...run.inventory.values()],
        deployer: run.sa,
      });
    }
    run.writesBegan = true;
    const foundations = p.changes.filter((d) => isFoundation(d.object));
    const rest = p.changes.filter((d) => !isFoundation(d.object));
    const versions = run.env.liveVersions?.forApp(run.id);
    const first = await applyAll(cluster, foundations, run.sa, concurrency, versions);
    record(run, first.applied);
    if (first.problems.length > 0) return failedApply(run, first.problems);
    for (const d of foundations) {
      if (d.object.kind === "CustomResourceDefinition")
        await cluster.waitForCrdEstablished(d.object.metadata.name, { impersonate: run.sa });
    }
    if (foundations.length > 0) {
      const newNamespaces = new Set(
        foundations.filter((d) => d.object.kind === "Namespace").map((d) => d.object.metadata.name),
      );
      const late = rest.filter((d) => deferred(d, newNamespaces, run));
      const problems =
        run.env.preflight === "access-review"
          ? await accessReview(cluster, late, p.live, run.sa)
          : await dryRun(cluster, late, run.sa, concurrency);
      if (problems.length > 0) return { ...refusedByServer(run, problems), result: "failed" };
    }
    const second = await applyAll(cluster, rest, run.sa, concurrency, versions);
    record(run, second.applied);
    if (second.problems.length > 0) return failedApply(run, second.problems);
    return undefined;
  },
};

function record(run: Run, applied: { desired: DesiredObject; uid: string | undefined }[]): void {
  run.applied.push(...applied);
  for (const a of applied) run.inventory.set(keyOf(refOf(a.desired.object)), entryOf(a.desired, a.uid));
}

function failedApply(run: Run, problems: readonly { code: string; message: string }[]): StepFailure {
  return fail(
    ConditionType.Ready,
    problems[0]?.code ?? "APPLY_FAILED",
    `applying revision ${short(run.fetched?.head ?? "")} failed after ${run.applied.length} object(s): ${problems[0]?.message ?? ""}; the next reconcile retries`,
    problems.map((p) => `${p.code}: ${p.message}`),
  );
}

const pruneStep: Step<Run> = {
  name: "prune",
  async run(run) {
    const candidates = pruneCandidates(run);
    if (candidates.length === 0) return undefined;
    if (run.app.spec.prune !== true) {
      // Without prune, removed objects stay in the cluster and leave the inventory: gitward no longer
      // manages them, and will never delete them later.
      for (const e of candidates) run.inventory.delete(keyOf(e));
      return undefined;
    }
    run.writesBegan = true;
    const out = await prune(run.env.cluster, run.id, candidates, run.sa, run.env.concurrency ?? 16);
    for (const e of out.pruned) run.inventory.delete(keyOf(e));
    for (const s of out.skipped) {
      run.inventory.delete(keyOf(s.entry));
      run.env.log?.(`prune: ${s.why}`);
    }
    run.pruned.push(...out.pruned);
    if (out.failed.length > 0) {
      return fail(
        ConditionType.Ready,
        "PRUNE_FAILED",
        `pruning failed for ${out.failed.length} object(s): ${out.failed[0]?.message ?? ""}; they stay in the inventory`,
        out.failed.map((f) => f.message),
      );
    }
    return undefined;
  },
};

const health: Step<Run> = {
  name: "health",
  async run(run) {
    const workloads = (run.desired ?? []).map((d) => d.object).filter(isWorkload);
    if (workloads.length === 0) return undefined;
    const health = await waitHealthy(run.env.cluster, workloads, {
      timeoutMs: run.env.healthTimeoutMs ?? 60_000,
      sleep: run.env.sleep ?? realSleep,
      impersonate: run.sa,
    });
    const waiting = health.notReady;
    if (waiting.length === 0) return undefined;
    if (health.failed) {
      return fail(
        ConditionType.Healthy,
        "HEALTH_FAILED",
        `${waiting.length} workload(s) failed and will not become ready by waiting: ${waiting[0] ?? ""}`,
        waiting,
      );
    }
    return fail(
      ConditionType.Healthy,
      "HEALTH_TIMEOUT",
      `${waiting.length} workload(s) not ready in time: ${waiting[0] ?? ""}`,
      waiting,
    );
  },
  marks(run) {
    const n = (run.desired ?? []).filter((d) => isWorkload(d.object)).length;
    return { condition: ConditionType.Healthy, reason: "Healthy", message: `${n} workload(s) ready` };
  },
};

export const STEPS: readonly Step<Run>[] = [
  source,
  verify,
  renderStep,
  check,
  planStep,
  applyStep,
  pruneStep,
  health,
];

// ---- record ---------------------------------------------------------------------------------------

function conditionList(
  outcome: ReadonlyMap<ConditionType, ConditionState>,
  previous: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  const out: Condition[] = [];
  for (const type of [
    ConditionType.Ready,
    ConditionType.Verified,
    ConditionType.PolicyPassed,
    ConditionType.Healthy,
  ]) {
    const old = previous?.find((c) => c.type === type);
    const next: ConditionState =
      outcome.get(type) ??
      (old === undefined
        ? { status: "Unknown", reason: "NotChecked", message: "not reached in the last reconcile" }
        : { status: old.status, reason: old.reason, message: old.message });
    out.push({
      type,
      ...next,
      lastTransitionTime: old !== undefined && old.status === next.status ? old.lastTransitionTime : now,
    });
  }
  return out;
}

function auditRef(o: KubeObject): AuditObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
    digest: objectDigest(o),
  };
}

/** The revision (unless the message names it already), the message, and the audit record. */
function eventMessage(head: string | undefined, message: string, auditRecord: string | undefined): string {
  const revision = head === undefined || message.includes(short(head)) ? "" : `revision ${short(head)}: `;
  return `${revision}${message}${auditRecord === undefined ? "" : ` (audit record ${auditRecord})`}`;
}

/** Reconciles one Application gated by its TrustPolicy; never throws for expected failures. */
export async function reconcileApplication(
  app: Application,
  trust: TrustPolicy,
  env: ReconcileEnv,
): Promise<ReconcileReport> {
  const id = appIdOf(app);
  const previous = await env.state.load(id);
  if (app.spec.suspend === true && env.dryRun !== true) return suspendedPass(app, env, previous);
  const prevInventory = new Map((previous?.inventory ?? []).map((e) => [keyOf(e), e]));
  const run: Run = {
    app,
    trust,
    env,
    id,
    sa: serviceAccountUser(app.spec.destination.namespace, app.spec.destination.serviceAccountName),
    previous,
    prevInventory,
    findings: emptyFindings(),
    resolvedImages: {},
    applied: [],
    pruned: [],
    inventory: new Map(prevInventory),
    writesBegan: false,
  };
  if (env.dryRun === true) run.dryRunAnswers = new Map();
  let outcome;
  try {
    const steps = env.dryRun === true ? STEPS.slice(0, STEPS.indexOf(planStep) + 1) : STEPS;
    outcome = await runSteps(
      steps,
      run,
      (r) => r.writesBegan,
      (stage) => env.onStage?.(id, stage),
    );
  } finally {
    await run.removeCheckout?.();
  }
  if (env.dryRun === true) return dryRunReport(run, outcome);
  const head = run.fetched?.head;
  const failure = outcome.failure;
  if (failure === undefined && run.desired !== undefined) env.onDesired?.(id, run.desired);
  const changedSomething = run.applied.length > 0 || run.pruned.length > 0;
  const result: ReconcileResult =
    failure !== undefined ? failure.result : changedSomething ? "applied" : "unchanged";
  const now = (env.now ?? (() => new Date()))().toISOString();
  const conditions = new Map(outcome.conditions);
  if (failure === undefined) {
    conditions.set(ConditionType.Ready, {
      status: "True",
      reason: "ReconciliationSucceeded",
      message: `revision ${short(head ?? "")} is applied: ${run.applied.length} object(s) applied, ${run.plan?.unchanged ?? 0} unchanged, ${run.pruned.length} pruned`,
    });
  } else if (failure.condition !== ConditionType.Ready) {
    conditions.set(ConditionType.Ready, {
      status: "False",
      reason: failure.reason,
      message: failure.message,
    });
  }
  const prevStatus = previous?.status ?? {};
  // A refused revision never hides the good one still running: lastAppliedRevision moves only on success
  // or once writes of the new revision began.
  const appliedRevision = failure === undefined || run.writesBegan ? head : prevStatus.lastAppliedRevision;
  const signer = failure === undefined ? signerOf(run) : prevStatus.lastAppliedSigner;

  // The no-op: the same revision, nothing to write, nothing wrong, status already saying so.
  const drift = run.plan?.drift ?? [];
  const driftLeft = keepsDrift(run) ? drift.length : 0;
  const noop =
    failure === undefined &&
    !changedSomething &&
    prevStatus.lastAppliedRevision === head &&
    prevStatus.conditions?.every((c) => c.status === "True") === true &&
    run.inventory.size === prevInventory.size &&
    (prevStatus.driftedObjects ?? 0) === driftLeft &&
    prevStatus.suspended !== true &&
    prevStatus.lastHandledReconcileAt === requestOf(app) &&
    prevStatus.pinnedRevision === run.pin?.revision;
  const pinnedRevision =
    head === undefined || (run.pin !== undefined && failure !== undefined && !run.writesBegan)
      ? prevStatus.pinnedRevision
      : run.pin?.revision;
  const request = requestOf(app);
  const { suspended: _suspended, pinnedRevision: _pinned, ...kept } = prevStatus;

  const status: ApplicationStatus = {
    ...kept,
    ...(pinnedRevision === undefined ? {} : { pinnedRevision }),
    ...(request === undefined ? {} : { lastHandledReconcileAt: request }),
    conditions: conditionList(conditions, prevStatus.conditions, now),
    ...(head === undefined ? {} : { lastAttemptedRevision: head }),
    ...(appliedRevision === undefined ? {} : { lastAppliedRevision: appliedRevision }),
    ...(signer === undefined ? {} : { lastAppliedSigner: signer }),
    objectsApplied:
      failure === undefined || run.writesBegan ? run.inventory.size : (prevStatus.objectsApplied ?? 0),
    objectsPruned: run.pruned.length,
    lastReconcileTime: now,
    ...(Object.keys(run.resolvedImages).length > 0 ? { images: run.resolvedImages } : {}),
    driftedObjects: failure === undefined ? driftLeft : (prevStatus.driftedObjects ?? 0),
    ...(drift.length > 0 ? { lastDriftTime: now } : {}),
    ...(failure === undefined
      ? {}
      : {
          lastRefusal: {
            ...(head === undefined ? {} : { revision: head }),
            reason: failure.reason,
            message: failure.message,
            details: failure.details.slice(0, 20).map((d) => d.slice(0, 1_000)),
            time: now,
          },
        }),
  };

  let auditRecord: string | undefined;
  if (!noop) {
    if (env.audit !== undefined && head !== undefined) {
      const entry: AuditEntry = {
        application: { namespace: id.namespace, name: id.name },
        revision: head,
        signers: signersOf(run),
        findings: run.findings,
        applied: run.applied.map((a) => auditRef(a.desired.object)),
        pruned: run.pruned.map((e) => ({
          apiVersion: e.apiVersion,
          kind: e.kind,
          name: e.name,
          ...(e.namespace === undefined ? {} : { namespace: e.namespace }),
          digest: (e.hash ?? "").startsWith("sha256:") ? (e.hash as string) : objectDigest({ ...e }),
        })),
        result: result === "applied" && run.pin !== undefined ? "rolled-back" : result,
        ...(drift.length === 0 ? {} : { drift: drift.slice(0, 200).map(auditDrift) }),
        ...(Object.keys(run.resolvedImages).length === 0
          ? {}
          : {
              images: Object.entries(run.resolvedImages)
                .filter(([ref, digest]) => DIGEST.test(digest) && ref.length <= 253)
                .slice(0, 1000)
                .map(([ref, digest]) => ({ ref, digest })),
            }),
        ...(failure === undefined || !CODE_PATTERN.test(failure.reason)
          ? {}
          : { reason: failure.reason.slice(0, 128) }),
        actor: env.actor,
      };
      const rec = await env.audit.append(entry);
      auditRecord = rec.id;
      status.lastAuditRecord = rec.id;
    }
    await env.state.save(id, { status, inventory: [...run.inventory.values()], deployer: run.sa });
    await emitEvent(env.cluster, env.state.eventTarget(id), {
      type: failure === undefined ? "Normal" : "Warning",
      reason:
        failure === undefined ? (changedSomething ? "ReconciliationSucceeded" : "Unchanged") : failure.reason,
      message: eventMessage(
        head,
        failure?.message ?? conditions.get(ConditionType.Ready)?.message ?? "",
        auditRecord,
      ),
      now,
    }).catch((err: unknown) => {
      // An event is a courtesy: failing to write one does not change the outcome.
      env.log?.(`event not written: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  return {
    application: id,
    result,
    ...(failure === undefined ? {} : { reason: failure.reason, step: failure.step }),
    message: failure?.message ?? conditions.get(ConditionType.Ready)?.message ?? "",
    details: failure?.details ?? [],
    ...(head === undefined ? {} : { revision: head }),
    ...(signer === undefined ? {} : { signer }),
    applied: run.applied.map((a) => describeRef(refOf(a.desired.object))),
    unchanged: run.plan?.unchanged ?? 0,
    pruned: run.pruned.map((e) => describeRef(e)),
    drift,
    driftReverted: drift.length > 0 && !keepsDrift(run),
    status: noop ? prevStatus : status,
    ...(auditRecord === undefined ? {} : { auditRecord }),
    timings: outcome.timings,
  };
}

/** The report of a dry run, after handing the preview to env.onPlan; nothing is saved or recorded. */
function dryRunReport(run: Run, outcome: StepsOutcome): ReconcileReport {
  const { failure } = outcome;
  const p = run.plan;
  const prune = run.app.spec.prune === true ? pruneCandidates(run) : [];
  if (failure === undefined && p !== undefined) {
    run.env.onPlan?.(run.id, {
      desired: run.desired ?? [],
      plan: p,
      dryRun: run.dryRunAnswers ?? new Map(),
      prune,
      serviceAccount: run.sa,
    });
  }
  const head = run.fetched?.head;
  const signer = signerOf(run);
  return {
    application: run.id,
    result: failure?.result ?? "unchanged",
    ...(failure === undefined ? {} : { reason: failure.reason, step: failure.step }),
    message:
      failure?.message ??
      `dry run of revision ${short(head ?? "")}: ${p?.changes.length ?? 0} object(s) would be applied, ${p?.unchanged ?? 0} unchanged, ${prune.length} pruned; nothing was written`,
    details: failure?.details ?? [],
    ...(head === undefined ? {} : { revision: head }),
    ...(signer === undefined ? {} : { signer }),
    applied: [],
    unchanged: p?.unchanged ?? 0,
    pruned: [],
    drift: p?.drift ?? [],
    driftReverted: false,
    status: run.previous?.status ?? {},
    timings: outcome.timings,
  };
}

/** A drift finding as the audit log keeps it: the object, field paths (never values) and the manager. */
export function auditDrift(f: DriftFinding): DriftChange {
  return {
    object: {
      apiVersion: f.object.apiVersion,
      kind: f.object.kind,
      name: f.object.name,
      ...(f.object.namespace === undefined ? {} : { namespace: f.object.namespace }),
    },
    fields: f.fields.slice(0, 200).map((p) => p.slice(0, 512)),
    manager: f.manager,
  };
}

function signersOf(run: Run): AuditEntry["signers"] {
  const by = new Map<string, { name: string; key: string; commits: number }>();
  for (const c of run.verdict?.commits ?? []) {
    if (c.signer === undefined) continue;
    const name = c.signer.names[0] ?? "unknown";
    const k = `${name}\u0000${c.signer.fingerprint}`;
    const e = by.get(k) ?? { name, key: c.signer.fingerprint, commits: 0 };
    e.commits++;
    by.set(k, e);
  }
  return [...by.values()];
}

/** A pass over a suspended Application: nothing fetched or applied; the status says Suspended (once). */
async function suspendedPass(
  app: Application,
  env: ReconcileEnv,
  previous: AppState | undefined,
): Promise<ReconcileReport> {
  const id = appIdOf(app);
  const now = (env.now ?? (() => new Date()))().toISOString();
  const status = suspendedAlready(app, previous?.status)
    ? (previous?.status ?? {})
    : suspendedStatus(app, previous?.status, now);
  if (status !== previous?.status) {
    await env.state.save(id, {
      status,
      inventory: previous?.inventory ?? [],
      deployer: serviceAccountUser(app.spec.destination.namespace, app.spec.destination.serviceAccountName),
    });
  }
  const revision = previous?.status.lastAppliedRevision;
  return {
    application: id,
    result: "unchanged",
    reason: "SUSPENDED",
    message: status.conditions?.find((c) => c.type === "Ready")?.message ?? "suspended",
    details: [],
    ...(revision === undefined ? {} : { revision }),
    applied: [],
    unchanged: 0,
    pruned: [],
    drift: [],
    driftReverted: false,
    status,
    timings: {},
  };
}
