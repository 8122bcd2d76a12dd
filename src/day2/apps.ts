// Reading and changing Application objects in the cluster for the day-to-day commands: one row per
// Application for `gitward get apps` (from its status, as the operator wrote it), and the spec and
// annotation changes of suspend, resume, rollback and reconcile --now, each a JSON merge patch.
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { API_VERSION, type ApplicationStatus } from "../config/types.js";
import { RECONCILE_REQUEST_ANNOTATION } from "./app-control.js";

export interface AppRow {
  readonly namespace: string;
  readonly name: string;
  readonly ready: "True" | "False" | "Unknown";
  /** The revision in force (lastAppliedRevision). */
  readonly revision?: string;
  /** The latest revision the operator saw (lastAttemptedRevision); differs from revision when refused. */
  readonly latest?: string;
  readonly signer?: string;
  /** The verdict code and message of the last failure, when Ready is not True. */
  readonly lastError?: { readonly reason: string; readonly message: string };
  readonly driftedObjects: number;
  readonly suspended: boolean;
  readonly pinnedRevision?: string;
  readonly lastReconcileTime?: string;
  readonly created?: string;
}

export function appRef(namespace: string, name: string): ObjectRef {
  return { apiVersion: API_VERSION, kind: "Application", namespace, name };
}

export function statusOf(obj: KubeObject): ApplicationStatus {
  const s = obj["status"];
  return typeof s === "object" && s !== null && !Array.isArray(s) ? s : {};
}

export function appRow(obj: KubeObject): AppRow {
  const status = statusOf(obj);
  const spec = (obj["spec"] ?? {}) as { suspend?: unknown };
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const failed = ready !== undefined && ready.status !== "True" && ready.reason !== "Suspended";
  return {
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name,
    ready: ready?.status ?? "Unknown",
    ...(status.lastAppliedRevision === undefined ? {} : { revision: status.lastAppliedRevision }),
    ...(status.lastAttemptedRevision === undefined ? {} : { latest: status.lastAttemptedRevision }),
    ...(status.lastAppliedSigner === undefined ? {} : { signer: status.lastAppliedSigner }),
    ...(failed ? { lastError: { reason: ready.reason, message: ready.message } } : {}),
    driftedObjects: status.driftedObjects ?? 0,
    suspended: spec.suspend === true,
    ...(status.pinnedRevision === undefined ? {} : { pinnedRevision: status.pinnedRevision }),
    ...(status.lastReconcileTime === undefined ? {} : { lastReconcileTime: status.lastReconcileTime }),
    ...(typeof obj.metadata["creationTimestamp"] === "string"
      ? { created: obj.metadata["creationTimestamp"] }
      : {}),
  };
}

/** The Applications of one namespace (or every one), sorted by namespace and name. */
export async function listApps(cluster: ClusterClient, namespace: string | undefined): Promise<KubeObject[]> {
  const items = await cluster.list(API_VERSION, "Application", namespace === undefined ? {} : { namespace });
  return items.sort((a, b) =>
    `${a.metadata.namespace ?? ""}/${a.metadata.name}`.localeCompare(
      `${b.metadata.namespace ?? ""}/${b.metadata.name}`,
    ),
  );
}

/** One Application, or a NOT_FOUND error naming it and where to look. */
export async function getApp(cluster: ClusterClient, namespace: string, name: string): Promise<KubeObject> {
  const obj = await cluster.get(appRef(namespace, name));
  if (obj === undefined) {
    throw new ClusterError(
      ClusterErrorCode.NotFound,
      `Application ${namespace}/${name} not found (list them with \`gitward get apps -A\`; give -n NAMESPACE)`,
      404,
    );
  }
  return obj;
}

/** A JSON merge patch of the Application's spec or metadata (null removes a field). */
export async function patchApp(
  cluster: ClusterClient,
  namespace: string,
  name: string,
  patch: Record<string, unknown>,
): Promise<KubeObject> {
  await getApp(cluster, namespace, name);
  return cluster.mergePatch(appRef(namespace, name), patch);
}

/** Asks the operator to reconcile now: a new value of the request annotation, returned as the token. */
export async function requestReconcile(
  cluster: ClusterClient,
  namespace: string,
  name: string,
  now: () => Date = () => new Date(),
): Promise<string> {
  const token = now().toISOString();
  await patchApp(cluster, namespace, name, {
    metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: token } },
  });
  return token;
}
