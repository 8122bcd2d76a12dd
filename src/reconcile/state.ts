// Where the status and inventory of an Application from `--config gitward.yaml` live between runs: a
// ConfigMap `gitward-app-<name>` in the Application's namespace (ADR 0006). It is written by gitward's own
// identity with server-side apply; an Application read from the cluster (the operator) keeps its status
// in the CRD's status subresource instead, through the same StateStore interface.
import type { ApplicationStatus } from "../config/types.js";
import { ReadByVersion } from "../cluster/by-version.js";
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import { ClusterErrorCode, ClusterError } from "../cluster/errors.js";
import { frozenInventory, inventoryFromConfigMap, type AppId, type InventoryEntry } from "./inventory.js";
import { assertInventoryFits, hasParts, PartsCache, writeInventory } from "./inventory-parts.js";

export interface AppState {
  readonly status: ApplicationStatus;
  readonly inventory: readonly InventoryEntry[];
  /**
   * The user the Application applies as (its deployer service account). Kept on the state ConfigMap so
   * the admission webhook, which has no Application object to read in gitward.yaml mode, lets gitward's
   * own reconciles change what it manages.
   */
  readonly deployer?: string;
}

export interface StateStore {
  load(app: AppId): Promise<AppState | undefined>;
  save(app: AppId, state: AppState): Promise<void>;
  /** Throws InventoryTooLargeError when an inventory of these entries could not be saved. */
  assertFits(entries: readonly InventoryEntry[]): void;
  /** The object events about this application are attached to. */
  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string };
}

export const STATE_LABEL = "gitward.dev/state";
/** The annotation of a state ConfigMap naming the Application's deployer (AppState.deployer). */
export const DEPLOYER_ANNOTATION = "gitward.dev/deployer";

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

/** Freezes the state kept in the cache, so a caller that changed it would fail loudly, not corrupt it. */
function frozen(state: AppState): AppState {
  return Object.freeze({
    status: deepFrozen(structuredClone(state.status)),
    inventory: frozenInventory(state.inventory),
  });
}

function deepFrozen<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFrozen(x);
    Object.freeze(v);
  }
  return v;
}

/** A state ConfigMap as read: whole when its inventory is inline, or its head naming the parts. */
type Stored = AppState | { readonly status: ApplicationStatus; readonly head: KubeObject };

export interface StateStoreOptions {
  /** The most bytes an inventory part holds (inventory-parts.ts); tests make it small. */
  readonly partBytes?: number;
}

export class ConfigMapStateStore implements StateStore {
  /**
   * Read in full only when the ConfigMap's version moved: the inventory of thousands of entries is not
   * read and parsed again on every pass.
   */
  private readonly states: ReadByVersion<Stored>;
  private readonly parts: PartsCache<AppState>;

  constructor(
    private readonly cluster: ClusterClient,
    private readonly opts: StateStoreOptions = {},
  ) {
    this.states = new ReadByVersion(cluster, (cm) => {
      const data = (cm["data"] ?? {}) as Record<string, string>;
      const status = parseStatus(data["status.json"]);
      if (hasParts(cm)) return { status, head: cm };
      return frozen({ status, inventory: inventoryFromConfigMap(cm) });
    });
    this.parts = new PartsCache(cluster);
  }

  async load(app: AppId): Promise<AppState | undefined> {
    const stored = await this.states.read(this.ref(app));
    if (stored === undefined || !("head" in stored)) return stored;
    return this.parts.resolve(stored, stored.head, (inventory) =>
      frozen({ status: stored.status, inventory }),
    );
  }

  private ref(app: AppId): ObjectRef {
    return { apiVersion: "v1", kind: "ConfigMap", namespace: app.namespace, name: stateName(app) };
  }

  async save(app: AppId, state: AppState): Promise<void> {
    const write = () =>
      writeInventory({
        cluster: this.cluster,
        head: { apiVersion: "v1", kind: "ConfigMap", namespace: app.namespace, name: stateName(app) },
        entries: state.inventory,
        ...(this.opts.partBytes === undefined ? {} : { partBytes: this.opts.partBytes }),
        writeHead: (fields) =>
          this.cluster.apply({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
              name: stateName(app),
              namespace: app.namespace,
              labels: { [STATE_LABEL]: "true" },
              annotations: {
                ...fields.annotations,
                ...(state.deployer === undefined ? {} : { [DEPLOYER_ANNOTATION]: state.deployer }),
              },
            },
            data: { "status.json": JSON.stringify(state.status), ...fields.data },
            ...(Object.keys(fields.binaryData).length === 0 ? {} : { binaryData: fields.binaryData }),
          }),
      });
    this.states.forget(this.ref(app));
    let written: KubeObject;
    try {
      written = await write();
    } catch (err) {
      // After a wipe (restore) the application's own namespace may be gone: make it, then write again.
      if (!(err instanceof ClusterError) || err.code !== ClusterErrorCode.NotFound) throw err;
      await this.cluster.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: app.namespace } });
      written = await write();
    }
    this.states.remember(this.ref(app), written, frozen(state));
  }

  assertFits(entries: readonly InventoryEntry[]): void {
    assertInventoryFits(entries, this.opts.partBytes);
  }

  eventTarget(app: AppId): { apiVersion: string; kind: string; namespace: string; name: string } {
    return { apiVersion: "v1", kind: "ConfigMap", namespace: app.namespace, name: stateName(app) };
  }
}
