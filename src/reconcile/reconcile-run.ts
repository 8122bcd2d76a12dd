// What one reconcile pass carries from step to step (the Run), what it is given (ReconcileEnv) and what it
// hands back (ReconcileReport, PlanPreview), with the few helpers every step uses to refuse or fail.
// Types and helpers only: the steps are in gate-steps.ts and write-steps.ts, the record in record.ts.
import type { Application, ApplicationStatus, TrustPolicy } from "../config/types.js";
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import type { AuditActor, FindingsSummary } from "../audit/record.js";
import type { AuditSink } from "../audit/writer.js";
import type { RegistryClient } from "../images/client.js";
import type { RenderTools } from "../render/tool.js";
import type { Manifest } from "../render/types.js";
import type { SealingKeyRing } from "../secrets/keys.js";
import type { FetchedSource, SourceCredentials } from "../source/fetch.js";
import type { RangeVerdict } from "../trust/commit/verdict.js";
import type { VulnGateEnv } from "../vuln/reconcile-gate.js";
import type { LiveVersions, Plan } from "./apply.js";
import type { DesiredObject } from "./desired.js";
import type { AppId, InventoryEntry } from "./inventory.js";
import type { ConditionType, StepFailure } from "./steps.js";
import type { AppState, StateStore } from "./state.js";
import type { DriftFinding } from "./drift.js";
import type { ActivePin } from "../day2/app-control.js";
import type { RevisionCache } from "./revision-cache.js";

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

export interface Run {
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

export const emptyFindings = (): FindingsSummary => ({
  total: 0,
  bySeverity: { low: 0, medium: 0, high: 0, critical: 0 },
  codes: [],
});

export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_./:-]*$/;
export const short = (sha: string) => sha.slice(0, 12);

export function refuse(
  condition: ConditionType,
  reason: string,
  message: string,
  details: readonly string[] = [],
): StepFailure {
  return { result: "refused", condition, reason, message, details };
}

export function fail(
  condition: ConditionType,
  reason: string,
  message: string,
  details: readonly string[] = [],
): StepFailure {
  return { result: "failed", condition, reason, message, details };
}

export function signerOf(run: Run): string | undefined {
  const head = run.verdict?.commits.find((c) => c.commit === run.fetched?.head);
  return head?.signer?.names[0] ?? run.previous?.status.lastAppliedSigner;
}

export function keepsDrift(run: Run): boolean {
  return run.env.honorDriftMode === true && (run.app.spec.drift ?? "alert") === "alert";
}
