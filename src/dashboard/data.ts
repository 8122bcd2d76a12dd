// What the dashboard reads, and nothing it could write: the Applications (CRD status in operator mode, the
// state ConfigMaps of a gitward.yaml otherwise), their inventories and the live objects in them, and the
// audit log with its chain status. Every read is bounded: a page never lists more than MAX_OBJECTS objects.
import { stat, readFile } from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { API_VERSION, type ApplicationStatus } from "../config/types.js";
import { verifyAuditLog, type AuditVerifyResult } from "../audit/verify.js";
import { recordProblem, type AuditRecord } from "../audit/record.js";
import type { InventoryEntry } from "../reconcile/inventory.js";
import { readInventoryFrom } from "../reconcile/inventory-parts.js";
import { STATE_LABEL } from "../reconcile/state.js";
import { CrdStateStore } from "../reconcile/cluster-config.js";
import { isRecord } from "../json/record.js";
import { healthOf, type Health } from "./health.js";

/** Live objects read for one Application page; the rest are counted, not read. */
export const MAX_OBJECTS = 500;
/** The largest audit log the dashboard reads records from (the chain is verified whatever its size). */
export const MAX_AUDIT_BYTES = 64 * 1024 * 1024;

export interface AppSummary {
  readonly namespace: string;
  readonly name: string;
  /** "crd" for an Application object, "config" for one of a gitward.yaml (state ConfigMap). */
  readonly source: "crd" | "config";
  readonly status: ApplicationStatus;
  readonly inventory: readonly InventoryEntry[];
  /** When the Application (or its state) was created, for its age. */
  readonly created?: string;
  readonly suspended: boolean;
}

export interface LiveObject {
  readonly entry: InventoryEntry;
  readonly health: Health;
}

export interface AuditView {
  readonly path: string;
  readonly verify: AuditVerifyResult;
  readonly records: readonly AuditRecord[];
  /** Set when the log is larger than MAX_AUDIT_BYTES: records are not shown, the chain still is. */
  readonly tooLarge?: number;
}

function statusOf(v: unknown): ApplicationStatus {
  return isRecord(v) ? v : {};
}

function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The cluster's CRDs are optional: a cluster that runs gitward from a gitward.yaml has none. */
async function listOrEmpty(
  cluster: ClusterClient,
  apiVersion: string,
  kind: string,
  opts: { labelSelector?: string } = {},
): Promise<KubeObject[]> {
  try {
    return await cluster.list(apiVersion, kind, opts);
  } catch (err) {
    // Not served, or not ours to list (the operator's identity lists only its own namespace's state).
    if (
      err instanceof ClusterError &&
      (err.code === ClusterErrorCode.UnknownKind || err.code === ClusterErrorCode.Forbidden)
    )
      return [];
    throw err;
  }
}

export async function loadApplications(
  cluster: ClusterClient,
  systemNamespace = "gitward-system",
): Promise<AppSummary[]> {
  const byKey = new Map<string, AppSummary>();
  // Applications of a gitward.yaml keep status and inventory in a state ConfigMap gitward-app-<name>.
  for (const cm of await listOrEmpty(cluster, "v1", "ConfigMap", { labelSelector: STATE_LABEL })) {
    const data = isRecord(cm["data"]) ? cm["data"] : {};
    const ns = cm.metadata.namespace ?? "";
    const name = cm.metadata.name.replace(/^gitward-app-/, "");
    byKey.set(`${ns}/${name}`, {
      namespace: ns,
      name,
      source: "config",
      status: statusOf(parseJson(data["status.json"])),
      inventory: await readInventoryFrom(cluster, cm).catch(() => []),
      ...createdOf(cm),
      suspended: false,
    });
  }
  // Applications of the cluster keep status in the CRD and the inventory in a ConfigMap beside it.
  const crdStates = new CrdStateStore(cluster, systemNamespace);
  for (const app of await listOrEmpty(cluster, API_VERSION, "Application")) {
    const id = { namespace: app.metadata.namespace ?? "", name: app.metadata.name };
    const spec = isRecord(app["spec"]) ? app["spec"] : {};
    const state = await crdStates.load(id).catch(() => undefined);
    byKey.set(`${id.namespace}/${id.name}`, {
      ...id,
      source: "crd",
      status: statusOf(app["status"]),
      inventory: state?.inventory ?? [],
      ...createdOf(app),
      suspended: spec["suspend"] === true,
    });
  }
  return [...byKey.values()].sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

function createdOf(obj: KubeObject): { created?: string } {
  const t = obj.metadata["creationTimestamp"];
  return typeof t === "string" ? { created: t } : {};
}

/** The live health of an Application's objects, at most MAX_OBJECTS of them. */
export async function liveObjects(cluster: ClusterClient, app: AppSummary): Promise<LiveObject[]> {
  const out: LiveObject[] = [];
  for (const entry of app.inventory.slice(0, MAX_OBJECTS)) {
    let obj: KubeObject | undefined;
    try {
      obj = await cluster.get({
        apiVersion: entry.apiVersion,
        kind: entry.kind,
        name: entry.name,
        ...(entry.namespace === undefined || entry.namespace === "" ? {} : { namespace: entry.namespace }),
      });
      out.push({ entry, health: healthOf(obj) });
    } catch {
      out.push({ entry, health: "Unknown" });
    }
  }
  return out;
}

export interface AppEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly time: string;
  readonly count: number;
}

/** Events about the Application (on its object or its state ConfigMap), newest first, at most 50. */
export async function appEvents(cluster: ClusterClient, app: AppSummary): Promise<AppEvent[]> {
  const names = new Set([app.name, `gitward-app-${app.name}`]);
  const events = await cluster.list("v1", "Event", { namespace: app.namespace }).catch(() => []);
  const out: AppEvent[] = [];
  for (const e of events) {
    const involved = isRecord(e["involvedObject"]) ? e["involvedObject"] : {};
    if (typeof involved["name"] !== "string" || !names.has(involved["name"])) continue;
    const text = (k: string): string => (typeof e[k] === "string" ? e[k] : "");
    out.push({
      type: text("type"),
      reason: text("reason"),
      message: text("message").slice(0, 4000),
      time: text("lastTimestamp") || text("eventTime") || text("firstTimestamp"),
      count: typeof e["count"] === "number" ? e["count"] : 1,
    });
  }
  return out.sort((a, b) => b.time.localeCompare(a.time)).slice(0, 50);
}

/** Reads the audit log's records (when it is not too large) and verifies its chain and signatures. */
export async function loadAudit(path: string, publicKey?: KeyObject): Promise<AuditView> {
  const verify = await verifyAuditLog(path, publicKey === undefined ? {} : { publicKey });
  const size = (await stat(path)).size;
  if (size > MAX_AUDIT_BYTES) return { path, verify, records: [], tooLarge: size };
  const records: AuditRecord[] = [];
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    if (line === "") continue;
    const rec = parseJson(line);
    // A damaged line is shown by the chain status, not as a record.
    if (recordProblem(rec) === undefined) records.push(rec as AuditRecord);
  }
  return { path, verify, records };
}

export function recordsOf(audit: AuditView | undefined, app: { namespace: string; name: string }) {
  return (audit?.records ?? []).filter(
    (r) => r.application.namespace === app.namespace && r.application.name === app.name,
  );
}
