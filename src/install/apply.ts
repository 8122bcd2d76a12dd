// Applies and removes the install: server-side apply as field manager gitward-install, Namespaces and CRDs
// first (CRDs waited for until Established, so a schema change lands before anything relies on it), then
// the rest; on an existing install the same apply upgrades in place. Uninstall goes the other way round
// and touches what Applications applied only when asked to (prune by their inventory, as their account).
import {
  describeRef,
  refOf,
  serviceAccountUser,
  type ClusterClient,
  type KubeObject,
} from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { API_VERSION } from "../config/types.js";
import { inventoryName } from "../reconcile/cluster-config.js";
import { readInventoryFrom } from "../reconcile/inventory-parts.js";
import { isFoundation, mapLimit, prune } from "../reconcile/apply.js";
import { SEALING_KEY_LABEL } from "../secrets/keys.js";
import { INSTALL_FIELD_MANAGER, KEY_NAMESPACE, PART_OF, PART_OF_LABEL } from "./layout.js";

export type StepAction = "created" | "configured" | "unchanged" | "deleted" | "absent" | "kept";

export interface Step {
  readonly what: string;
  readonly action: StepAction;
  readonly note?: string;
}

const isCrd = (o: KubeObject): boolean => o.kind === "CustomResourceDefinition";

/**
 * Applies `objects` in waves: Namespaces, then CRDs (each waited for), then everything else. With
 * `dryRun`, the API server validates each object (dryRun=All) and nothing is stored; objects in a
 * namespace that this install would create are reported, not sent (the server would answer NotFound).
 */
export async function applyInstall(
  cluster: ClusterClient,
  objects: readonly KubeObject[],
  opts: { dryRun?: boolean; onStep?: (s: Step) => void } = {},
): Promise<Step[]> {
  const steps: Step[] = [];
  const record = (s: Step): void => {
    steps.push(s);
    opts.onStep?.(s);
  };
  const missingNamespaces = new Set<string>();
  const applyOne = async (o: KubeObject): Promise<void> => {
    const ref = refOf(o);
    const what = describeRef(ref);
    if (opts.dryRun === true && ref.namespace !== undefined && missingNamespaces.has(ref.namespace)) {
      record({ what, action: "created", note: "dry run, in a namespace this install creates" });
      return;
    }
    const before = await cluster.get(ref, { metadataOnly: true }).catch((err: unknown) => {
      if (err instanceof ClusterError && err.code === ClusterErrorCode.UnknownKind) return undefined;
      throw err;
    });
    const after = await cluster.apply(o, {
      fieldManager: INSTALL_FIELD_MANAGER,
      ...(opts.dryRun === true ? { dryRun: true } : {}),
    });
    if (before === undefined && o.kind === "Namespace") missingNamespaces.add(o.metadata.name);
    const action: StepAction =
      before === undefined
        ? "created"
        : before.metadata.resourceVersion === after.metadata.resourceVersion
          ? "unchanged"
          : "configured";
    record({ what, action, ...(opts.dryRun === true ? { note: "dry run" } : {}) });
  };
  const namespaces = objects.filter((o) => isFoundation(o) && !isCrd(o));
  const crds = objects.filter(isCrd);
  const rest = objects.filter((o) => !isFoundation(o));
  for (const o of namespaces) await applyOne(o);
  for (const crd of crds) {
    await applyOne(crd);
    if (opts.dryRun !== true) await cluster.waitForCrdEstablished(crd.metadata.name);
  }
  await mapLimit(rest, 8, applyOne);
  return steps;
}

/** The order uninstall deletes kinds in: the workloads first, so nothing acts while the rest goes. */
const DELETE_ORDER = [
  "CronJob",
  "Deployment",
  "PodDisruptionBudget",
  "Service",
  "NetworkPolicy",
  "RoleBinding",
  "ClusterRoleBinding",
  "Role",
  "ClusterRole",
  "ServiceAccount",
];
const rank = (o: KubeObject): number => {
  const i = DELETE_ORDER.indexOf(o.kind);
  return i === -1 ? DELETE_ORDER.length : i;
};

export interface UninstallOptions {
  /** Delete what each Application applied (its inventory) first, as its own account. */
  readonly pruneApplications?: boolean;
  /** Delete gitward-keys even when it holds sealing keys (what was sealed to them cannot be unsealed). */
  readonly deleteKeys?: boolean;
  readonly onStep?: (s: Step) => void;
}

export interface UninstallReport {
  readonly steps: Step[];
  /** Applications whose applied objects were left in the cluster (without --prune-applications). */
  readonly keptApplications: string[];
}

/**
 * Removes the install: (with pruneApplications) each Application's objects, then the workloads, network,
 * RBAC, the application-namespace RoleBindings install made (by label), the CRDs (and with them every
 * Application, TrustPolicy and AlertSink) and the namespaces, last gitward-keys unless it holds keys.
 */
export async function uninstall(
  cluster: ClusterClient,
  objects: readonly KubeObject[],
  opts: UninstallOptions = {},
): Promise<UninstallReport> {
  const steps: Step[] = [];
  const record = (s: Step): void => {
    steps.push(s);
    opts.onStep?.(s);
  };
  const apps = await listApplications(cluster);
  const keptApplications: string[] = [];
  if (opts.pruneApplications === true) {
    for (const app of apps) await pruneApplication(cluster, app, record);
  } else {
    keptApplications.push(...apps.map((a) => `${a.metadata.namespace ?? ""}/${a.metadata.name}`));
  }
  const remove = async (o: KubeObject, note?: string): Promise<void> => {
    const ref = refOf(o);
    const gone = await cluster.delete(ref).catch((err: unknown) => {
      if (err instanceof ClusterError && err.code === ClusterErrorCode.UnknownKind) return "not-found";
      throw err;
    });
    record({
      what: describeRef(ref),
      action: gone === "deleted" ? "deleted" : "absent",
      ...(note === undefined ? {} : { note }),
    });
  };
  // The grants of --application-namespace, found by the install's label wherever they are.
  const grants: KubeObject[] = [];
  for (const kind of ["RoleBinding", "Role"])
    grants.push(
      ...(
        await cluster.list("rbac.authorization.k8s.io/v1", kind, {
          labelSelector: `${PART_OF_LABEL}=${PART_OF}`,
        })
      ).filter((b) => !objects.some((o) => o.kind === kind && sameRef(o, b))),
    );
  const bindings = grants;
  const rest = [...objects.filter((o) => !isFoundation(o)), ...bindings].sort((a, b) => rank(a) - rank(b));
  for (const o of rest) await remove(o);
  // Each Application by itself before the CRDs: its inventory ConfigMap names it as owner and goes with
  // it (the garbage collector); the objects it applied carry no owner reference and stay unless pruned.
  for (const app of apps) await remove(app, opts.pruneApplications === true ? undefined : "its objects stay");
  for (const crd of objects.filter(isCrd)) await remove(crd);
  for (const ns of objects.filter((o) => o.kind === "Namespace")) {
    if (ns.metadata.name === KEY_NAMESPACE && opts.deleteKeys !== true) {
      const keys = await cluster
        .list("v1", "Secret", {
          namespace: KEY_NAMESPACE,
          labelSelector: SEALING_KEY_LABEL,
          metadataOnly: true,
        })
        .catch(() => []);
      if (keys.length > 0) {
        record({
          what: describeRef(refOf(ns)),
          action: "kept",
          note: `it holds ${keys.length} sealing key(s): what was sealed to them could not be unsealed again; back them up, then delete with --delete-keys`,
        });
        continue;
      }
    }
    await remove(ns);
  }
  return { steps, keptApplications };
}

function sameRef(a: KubeObject, b: KubeObject): boolean {
  return a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;
}

async function listApplications(cluster: ClusterClient): Promise<KubeObject[]> {
  try {
    return await cluster.list(API_VERSION, "Application");
  } catch (err) {
    // No CRD: nothing was ever installed, or it is gone already.
    if (err instanceof ClusterError && err.code === ClusterErrorCode.UnknownKind) return [];
    throw err;
  }
}

/**
 * Deletes what one Application applied, by its inventory, as its own service account (so no more than it
 * could write), through the reconcile's prune: only objects still labelled as the Application's, each with
 * its recorded uid. A failure stops the uninstall: nothing else is removed while objects would be orphaned.
 */
async function pruneApplication(
  cluster: ClusterClient,
  app: KubeObject,
  record: (s: Step) => void,
): Promise<void> {
  const id = { namespace: app.metadata.namespace ?? "", name: app.metadata.name };
  const spec = app["spec"] as
    { destination?: { namespace?: string; serviceAccountName?: string } } | undefined;
  const cm = await cluster.get({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: id.namespace,
    name: inventoryName(id),
  });
  const inventory = await readInventoryFrom(cluster, cm);
  const account = serviceAccountUser(
    spec?.destination?.namespace ?? id.namespace,
    spec?.destination?.serviceAccountName ?? "default",
  );
  const outcome = await prune(cluster, id, inventory, account, 8);
  for (const e of outcome.pruned)
    record({ what: describeRef(e), action: "deleted", note: `Application ${id.namespace}/${id.name}` });
  for (const s of outcome.skipped) record({ what: describeRef(s.entry), action: "kept", note: s.why });
  if (outcome.failed.length > 0) {
    throw new ClusterError(
      ClusterErrorCode.Forbidden,
      `Application ${id.namespace}/${id.name}: ${outcome.failed.length} object(s) could not be pruned (${outcome.failed
        .slice(0, 3)
        .map((f) => f.message)
        .join("; ")}); nothing of gitward was removed, fix this and run uninstall again`,
    );
  }
}
