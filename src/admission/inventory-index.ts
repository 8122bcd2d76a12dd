// Which live objects gitward manages, for the admission guard "only gitward changes what gitward manages":
// the inventories of every Application (the ConfigMaps labelled gitward.dev/state, reconcile/state.ts and
// cluster-config.ts), read from the cluster into an index by group, resource, namespace and name. The index
// is a short-lived cache (default 5 s), refreshed by one request at a time; a failed refresh keeps the last
// index for a while (default 60 s), after which lookups fail and the guard denies (fail closed).
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { serviceAccountUser } from "../cluster/client.js";
import { groupOf } from "../cluster/core-kinds.js";
import { API_VERSION } from "../config/schema.js";
import { isRecord } from "../json/record.js";
import { resourceOf } from "../policy/vap.js";
import type { AppId } from "../reconcile/inventory.js";
import { readInventoryFrom } from "../reconcile/inventory-parts.js";
import { DEPLOYER_ANNOTATION, STATE_LABEL } from "../reconcile/state.js";

export interface ManagedBy {
  readonly app: AppId;
  /** The user the operator applies this Application's objects as (its deployer service account). */
  readonly deployer?: string;
  /** The Application's last applied revision, for the audit record of a break-glass change. */
  readonly revision?: string;
}

export interface ResourceKey {
  readonly group: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

export class InventoryUnavailableError extends Error {
  override readonly name = "InventoryUnavailableError";
}

export interface InventoryIndexOptions {
  readonly cluster: ClusterClient;
  readonly ttlMs?: number;
  readonly maxStaleMs?: number;
  readonly now?: () => number;
}

const APP_CONFIGMAP = /^gitward-app-(.+)$/;
const CRD_CONFIGMAP = /^gitward-inventory-(.+)$/;

function keyText(k: ResourceKey): string {
  return [k.group, k.resource, k.namespace, k.name].join("\u0000");
}

export class InventoryIndex {
  private index = new Map<string, ManagedBy>();
  private deployerSet = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private lastError: unknown;
  private readonly now: () => number;

  constructor(private readonly opts: InventoryIndexOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The Application that manages the object, undefined when none; throws InventoryUnavailableError. */
  async lookup(key: ResourceKey): Promise<ManagedBy | undefined> {
    const age = this.now() - this.loadedAt;
    if (age > (this.opts.ttlMs ?? 5_000)) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      // A fresh-enough index answers at once; the refresh runs behind it.
      if (age > (this.opts.maxStaleMs ?? 60_000)) await this.refreshing;
    }
    if (this.now() - this.loadedAt > (this.opts.maxStaleMs ?? 60_000)) {
      const why = this.lastError instanceof Error ? this.lastError.message : "not read yet";
      throw new InventoryUnavailableError(`the inventories of gitward's Applications cannot be read: ${why}`);
    }
    return this.index.get(keyText(key));
  }

  /** True when `user` is the deployer service account of an Application in the cluster. */
  async isDeployer(user: string): Promise<boolean> {
    await this.lookup({ group: "", resource: "", namespace: "", name: "" });
    return this.deployerSet.has(user);
  }

  /** Forgets the index, so the next lookup reads the cluster (tests, and after gitward applied). */
  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  private async refresh(): Promise<void> {
    try {
      const cms = await this.opts.cluster.list("v1", "ConfigMap", { labelSelector: `${STATE_LABEL}=true` });
      const apps = await this.applications();
      const next = new Map<string, ManagedBy>();
      for (const cm of cms) {
        const name = cm.metadata.name;
        const appName = APP_CONFIGMAP.exec(name)?.[1] ?? CRD_CONFIGMAP.exec(name)?.[1];
        const namespace = cm.metadata.namespace;
        if (appName === undefined || namespace === undefined) continue;
        const app: AppId = { namespace, name: appName };
        const known = apps.get(`${namespace}/${appName}`);
        const revision = known?.revision ?? revisionOf(cm);
        const managed: ManagedBy = {
          app,
          ...deployerOf(known, cm),
          ...(revision === undefined ? {} : { revision }),
        };
        for (const e of await readInventoryFrom(this.opts.cluster, cm)) {
          next.set(
            keyText({
              group: groupOf(e.apiVersion),
              resource: resourceOf(e.kind),
              namespace: e.namespace ?? "",
              name: e.name,
            }),
            managed,
          );
        }
      }
      this.index = next;
      this.deployerSet = new Set(
        [...apps.values(), ...next.values()]
          .map((a) => a.deployer)
          .filter((d): d is string => d !== undefined),
      );
      this.loadedAt = this.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err;
    }
  }

  /** Applications in the cluster (when the CRD is installed): deployer and last applied revision. */
  private async applications(): Promise<Map<string, { deployer?: string; revision?: string }>> {
    const out = new Map<string, { deployer?: string; revision?: string }>();
    let items: KubeObject[];
    try {
      items = await this.opts.cluster.list(API_VERSION, "Application");
    } catch {
      // No CRD (gitward.yaml mode): the TrustPolicy's admission.operators name who applies.
      return out;
    }
    for (const a of items) {
      const dest = isRecord(a["spec"]) ? a["spec"]["destination"] : undefined;
      const ns = isRecord(dest) ? dest["namespace"] : undefined;
      const sa = isRecord(dest) ? dest["serviceAccountName"] : undefined;
      const status = a["status"];
      const rev = isRecord(status) ? status["lastAppliedRevision"] : undefined;
      out.set(`${a.metadata.namespace ?? ""}/${a.metadata.name}`, {
        ...(typeof ns === "string" && typeof sa === "string" ? { deployer: serviceAccountUser(ns, sa) } : {}),
        ...(typeof rev === "string" ? { revision: rev } : {}),
      });
    }
    return out;
  }
}

/**
 * The Application's deployer: from its object when the cluster has one, else (gitward.yaml mode) from the
 * state ConfigMap that gitward's own reconcile wrote, and only when it names a service account.
 */
function deployerOf(known: { deployer?: string } | undefined, cm: KubeObject): { deployer?: string } {
  if (known !== undefined) return known.deployer === undefined ? {} : { deployer: known.deployer };
  const named = cm.metadata.annotations?.[DEPLOYER_ANNOTATION];
  return typeof named === "string" && SERVICE_ACCOUNT_USER.test(named) ? { deployer: named } : {};
}

const SERVICE_ACCOUNT_USER =
  /^system:serviceaccount:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?:[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

/** gitward.yaml mode keeps the status beside the inventory (data["status.json"]). */
function revisionOf(cm: KubeObject): string | undefined {
  const data = cm["data"];
  const text = isRecord(data) ? data["status.json"] : undefined;
  if (typeof text !== "string") return undefined;
  try {
    const status: unknown = JSON.parse(text);
    const rev = isRecord(status) ? status["lastAppliedRevision"] : undefined;
    return typeof rev === "string" ? rev : undefined;
  } catch {
    return undefined;
  }
}
