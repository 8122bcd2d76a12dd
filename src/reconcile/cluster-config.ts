// In-cluster configuration for `gitward run --in-cluster`: the Applications, TrustPolicies and AlertSinks
// read from gitward's CRDs and watched, and a StateStore that keeps an Application's status in its status
// subresource. (Being written: see the interface below.)
import type { ClusterClient } from "../cluster/client.js";
import type { ConfigSet } from "../config/load.js";
import { ConfigError } from "../config/errors.js";
import type { AppId } from "./inventory.js";
import type { AppState, StateStore } from "./state.js";

export interface ClusterConfigWatch {
  stop(): Promise<void>;
}

export interface ClusterConfigOptions {
  readonly onChange: (config: ConfigSet) => Promise<void>;
  readonly log: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

export function watchClusterConfig(
  _cluster: ClusterClient,
  _opts: ClusterConfigOptions,
): Promise<ClusterConfigWatch> {
  return Promise.reject(new ConfigError("--in-cluster is not available yet", "gitward run"));
}

export class CrdStateStore implements StateStore {
  constructor(
    private readonly cluster: ClusterClient,
    private readonly systemNamespace: string,
  ) {}
  load(_app: AppId): Promise<AppState | undefined> {
    return Promise.reject(new Error(`not available (${this.cluster.serverUrl}, ${this.systemNamespace})`));
  }
  save(_app: AppId, _state: AppState): Promise<void> {
    return Promise.reject(new Error("not available"));
  }
  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string } {
    return {
      apiVersion: "gitward.dev/v1alpha1",
      kind: "Application",
      namespace: app.namespace,
      name: app.name,
    };
  }
}
