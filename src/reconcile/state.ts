// Where the status and inventory of an Application from `--config gitward.yaml` live between runs: a
// ConfigMap `gitward-app-<name>` in the Application's namespace (ADR 0006). It is written by gitward's own
// identity with server-side apply; an Application read from the cluster (the operator) keeps its status
// in the CRD's status subresource instead, through the same StateStore interface.
import type { ApplicationStatus } from "../config/types.js";
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { ClusterErrorCode, ClusterError } from "../cluster/errors.js";
import { parseInventory, type AppId, type InventoryEntry } from "./inventory.js";

export interface AppState {
  readonly status: ApplicationStatus;
  readonly inventory: readonly InventoryEntry[];
}

export interface StateStore {
  load(app: AppId): Promise<AppState | undefined>;
  save(app: AppId, state: AppState): Promise<void>;
  /** The object events about this application are attached to. */
  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string };
}

export const STATE_LABEL = "gitward.dev/state";

export function stateName(app: AppId): string {
  return `gitward-app-${app.name}`.slice(0, 253);
}

function parseStatus(text: string | undefined): ApplicationStatus {
  if (text === undefined) return {};
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export class ConfigMapStateStore implements StateStore {
  constructor(private readonly cluster: ClusterClient) {}

  async load(app: AppId): Promise<AppState | undefined> {
    const cm = await this.cluster.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: app.namespace,
      name: stateName(app),
    });
    if (cm === undefined) return undefined;
    const data = (cm["data"] ?? {}) as Record<string, string>;
    return { status: parseStatus(data["status.json"]), inventory: parseInventory(data["inventory.json"]) };
  }

  async save(app: AppId, state: AppState): Promise<void> {
    const cm: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: stateName(app), namespace: app.namespace, labels: { [STATE_LABEL]: "true" } },
      data: {
        "status.json": JSON.stringify(state.status),
        "inventory.json": JSON.stringify(state.inventory),
      },
    };
    try {
      await this.cluster.apply(cm);
    } catch (err) {
      // After a wipe (restore) the application's own namespace may be gone: make it, then write again.
      if (!(err instanceof ClusterError) || err.code !== ClusterErrorCode.NotFound) throw err;
      await this.cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: app.namespace } });
      await this.cluster.apply(cm);
    }
  }

  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string } {
    return { apiVersion: "v1", kind: "ConfigMap", namespace: app.namespace, name: stateName(app) };
  }
}
