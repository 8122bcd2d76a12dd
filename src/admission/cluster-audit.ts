// `gitward audit cluster` (Gatekeeper's audit): every live object of the kinds the webhook judges, checked
// as if it were created now, through the same AdmissionDecider, so the report names the objects the policy
// would now deny with the same verdict codes. Objects a controller owns (a Deployment's ReplicaSets and
// Pods) are reported through their owner; kube-system and gitward's own namespace are skipped, as the
// webhook skips them.
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import type { CheckReport } from "../policy/check.js";
import { gatePassed, type GateResult } from "../policy/report.js";
import { SEVERITIES, type Finding, type Severity } from "../policy/types.js";
import type { AdmissionDecider } from "./decide.js";
import type { AdmissionRequest } from "./review.js";

const AUDITED: readonly { apiVersion: string; kind: string; resource: string }[] = [
  { apiVersion: "v1", kind: "Pod", resource: "pods" },
  { apiVersion: "v1", kind: "ReplicationController", resource: "replicationcontrollers" },
  { apiVersion: "apps/v1", kind: "Deployment", resource: "deployments" },
  { apiVersion: "apps/v1", kind: "StatefulSet", resource: "statefulsets" },
  { apiVersion: "apps/v1", kind: "DaemonSet", resource: "daemonsets" },
  { apiVersion: "apps/v1", kind: "ReplicaSet", resource: "replicasets" },
  { apiVersion: "batch/v1", kind: "Job", resource: "jobs" },
  { apiVersion: "batch/v1", kind: "CronJob", resource: "cronjobs" },
];

export interface ClusterAuditOptions {
  readonly cluster: ClusterClient;
  readonly decider: AdmissionDecider;
  readonly failOn: Severity;
  readonly skipNamespaces?: readonly string[];
  readonly version: string;
}

function controlled(o: KubeObject): boolean {
  const refs = o.metadata["ownerReferences"];
  return Array.isArray(refs) && refs.some((r) => (r as { controller?: unknown }).controller === true);
}

/** A CREATE of the live object by nobody gitward trusts: what the webhook would decide for it today. */
function requestFor(o: KubeObject, resource: string): AdmissionRequest {
  const slash = o.apiVersion.indexOf("/");
  const group = slash < 0 ? "" : o.apiVersion.slice(0, slash);
  const version = slash < 0 ? o.apiVersion : o.apiVersion.slice(slash + 1);
  const raw = {
    uid: o.metadata.uid ?? "audit",
    kind: { group, version, kind: o.kind },
    resource: { group, version, resource },
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? "",
    operation: "CREATE",
    userInfo: { username: "gitward:audit", groups: [] },
    object: o,
    oldObject: null,
    dryRun: true,
  };
  return {
    uid: raw.uid,
    kind: raw.kind,
    resource: raw.resource,
    subResource: "",
    name: raw.name,
    namespace: raw.namespace,
    operation: "CREATE",
    userInfo: { username: "gitward:audit", groups: [] },
    object: o,
    oldObject: null,
    dryRun: true,
    raw,
  };
}

export async function auditCluster(opts: ClusterAuditOptions): Promise<GateResult> {
  const skip = new Set(opts.skipNamespaces ?? ["kube-system", "gitward-system"]);
  const findings: Finding[] = [];
  let objects = 0;
  for (const k of AUDITED) {
    const items = await opts.cluster.list(k.apiVersion, k.kind);
    for (const o of items) {
      if (skip.has(o.metadata.namespace ?? "") || controlled(o)) continue;
      objects++;
      // Annotation exemptions count for objects gitward applied (reviewed in signed commits): those in an
      // Application's inventory, not whoever carries the ownership label.
      const req = requestFor(o, k.resource);
      const found = await opts.decider.policyFindings(
        req,
        req.object ?? {},
        await opts.decider.isManaged(req),
      );
      findings.push(...found.findings);
    }
  }
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length]),
  ) as Record<Severity, number>;
  const rules = new Map<string, { id: string; severity: Severity; title: string }>();
  for (const f of findings) rules.set(f.ruleId, { id: f.ruleId, severity: f.severity, title: f.remediation });
  const report: CheckReport = {
    schemaVersion: 1,
    findings,
    exemptions: [],
    packs: [],
    rules: [...rules.values()],
    errors: [],
    summary: { objects, findings: findings.length, bySeverity, exemptions: 0 },
  };
  return {
    schemaVersion: 1,
    tool: { name: "gitward", version: opts.version },
    target: { path: "cluster", render: "live" },
    failOn: opts.failOn,
    passed: gatePassed(report, [], opts.failOn),
    renderErrors: [],
    precheckErrors: [],
    report,
  };
}
