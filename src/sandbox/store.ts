// The sandbox's object store: one Map per resource, a global resourceVersion counter, a bounded log of
// change events for watches (older resourceVersions answer 410 Gone), cached JSON per object so lists
// serialise fast, and an optional snapshot file under --data-dir so objects survive a restart.
import { readFile } from "node:fs/promises";
import { writeFileSync, renameSync, mkdirSync } from "node:fs";
import path from "node:path";
import { text as textOf, type JsonObject } from "./fieldset.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface Stored {
  obj: JsonObject;
  /** JSON of `obj`, made on first need and dropped on change. */
  json: string | undefined;
  /** JSON of its PartialObjectMetadata (metadata-only lists), made on first need like `json`. */
  metadataJson?: string;
}

export interface StoreEvent {
  rv: number;
  type: EventType;
  /** "group/resource" */
  gr: string;
  namespace: string;
  stored: Stored;
  /** The object before a MODIFIED event (watches with selectors turn "stopped matching" into DELETED). */
  previous?: JsonObject;
}

export interface Watcher {
  gr: string;
  namespace: string | undefined;
  deliver(event: StoreEvent): void;
}

export function jsonOf(s: Stored): string {
  s.json ??= JSON.stringify(s.obj);
  return s.json;
}

/** The object as a PartialObjectMetadata item, as the API server's metadata-only lists return it. */
export function metadataJsonOf(s: Stored): string {
  s.metadataJson ??= JSON.stringify({
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: metaOf(s.obj),
  });
  return s.metadataJson;
}

export function metaOf(obj: JsonObject): JsonObject {
  const m = obj["metadata"];
  if (typeof m === "object" && m !== null && !Array.isArray(m)) return m;
  const fresh: JsonObject = {};
  obj["metadata"] = fresh;
  return fresh;
}

export const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;

interface Snapshot {
  format: 1;
  resourceVersion: number;
  objects: { gr: string; obj: JsonObject }[];
  extra: Record<string, unknown>;
}

export class Store {
  private readonly tables = new Map<string, Map<string, Stored>>();
  private readonly log: StoreEvent[] = [];
  private logStart = 0;
  private rv = 1;
  /** Events kept for watches that resume from a resourceVersion; older ones get 410 Gone. */
  readonly logCapacity: number;
  private readonly watchers = new Set<Watcher>();
  private saveTimer: NodeJS.Timeout | undefined;
  extra: Record<string, unknown> = {};

  constructor(
    private readonly dataDir: string | undefined,
    logCapacity = 50_000,
  ) {
    this.logCapacity = logCapacity;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch can resume from. */
  get oldestResumable(): number {
    return this.log[this.logStart]?.rv ?? this.rv;
  }

  table(gr: string): Map<string, Stored> {
    let t = this.tables.get(gr);
    if (t === undefined) {
      t = new Map();
      this.tables.set(gr, t);
    }
    return t;
  }

  get(gr: string, namespace: string, name: string): Stored | undefined {
    return this.tables.get(gr)?.get(keyOf(namespace, name));
  }

  /** Objects of a resource (in one namespace, or all), sorted by namespace and name as etcd returns them. */
  list(gr: string, namespace: string | undefined): Stored[] {
    const t = this.tables.get(gr);
    if (t === undefined) return [];
    const entries: [string, Stored][] = [];
    if (namespace === undefined) for (const e of t) entries.push(e);
    else {
      const prefix = `${namespace}/`;
      for (const e of t) if (e[0].startsWith(prefix)) entries.push(e);
    }
    // The map key is "namespace/name", the order etcd keys have.
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return entries.map((e) => e[1]);
  }

  resources(): string[] {
    return [...this.tables.keys()];
  }

  /** Stores a new or changed object with the next resourceVersion and tells the watchers. */
  put(gr: string, obj: JsonObject): Stored {
    const meta = metaOf(obj);
    const namespace = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
    const name = textOf(meta["name"]);
    const key = keyOf(namespace, name);
    const table = this.table(gr);
    const before = table.get(key);
    this.rv++;
    meta["resourceVersion"] = String(this.rv);
    const stored: Stored = { obj, json: undefined };
    table.set(key, stored);
    if (before === undefined) this.emit({ rv: this.rv, type: "ADDED", gr, namespace, stored });
    else this.emit({ rv: this.rv, type: "MODIFIED", gr, namespace, stored, previous: before.obj });
    return stored;
  }

  remove(gr: string, namespace: string, name: string): Stored | undefined {
    const table = this.tables.get(gr);
    const current = table?.get(keyOf(namespace, name));
    if (table === undefined || current === undefined) return undefined;
    table.delete(keyOf(namespace, name));
    this.rv++;
    // The DELETED event carries the object at the deletion's resourceVersion, as Kubernetes sends it.
    const obj = structuredClone(current.obj);
    metaOf(obj)["resourceVersion"] = String(this.rv);
    const stored: Stored = { obj, json: undefined };
    this.emit({ rv: this.rv, type: "DELETED", gr, namespace, stored });
    return stored;
  }

  /** Removes a whole resource (its CRD went away) without events for each object. */
  dropTable(gr: string): void {
    this.tables.delete(gr);
    this.changed();
  }

  watch(w: Watcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /** Events after `rv` for a resource, or undefined when they are no longer kept (410 Gone). */
  eventsSince(rv: number, gr: string): StoreEvent[] | undefined {
    if (rv < this.oldestResumable - 1) return undefined;
    const out: StoreEvent[] = [];
    for (let i = this.logStart; i < this.log.length; i++) {
      const e = this.log[i];
      if (e !== undefined && e.rv > rv && e.gr === gr) out.push(e);
    }
    return out;
  }

  private emit(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length - this.logStart > this.logCapacity) {
      this.logStart++;
      // Compact now and then instead of shifting on every event.
      if (this.logStart > this.logCapacity) {
        this.log.splice(0, this.logStart);
        this.logStart = 0;
      }
    }
    for (const w of this.watchers) {
      if (w.gr === event.gr && (w.namespace === undefined || w.namespace === event.namespace))
        w.deliver(event);
    }
    this.changed();
  }

  /** Something changed: write the snapshot soon (batched, so a burst of writes costs one file write). */
  changed(): void {
    if (this.dataDir === undefined || this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      try {
        this.saveNow();
      } catch (err) {
        process.stderr.write(
          `sandbox: cannot save state: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
    }, 50);
  }

  private snapshot(): string {
    const objects: string[] = [];
    for (const [gr, t] of this.tables) {
      for (const s of t.values()) objects.push(`{"gr":${JSON.stringify(gr)},"obj":${jsonOf(s)}}`);
    }
    return `{"format":1,"resourceVersion":${this.rv},"extra":${JSON.stringify(this.extra)},"objects":[${objects.join(",\n")}]}`;
  }

  private statePath(): string {
    return path.join(this.dataDir ?? ".", "state.json");
  }

  /**
   * Writes the snapshot now (batched writes and stop), cancelling a pending batched write.
   * Synchronous on purpose: an asynchronous write still in flight when the next one (or the one
   * on stop) starts would share the temporary file, and its late rename would either fail or put
   * an older snapshot over a newer one. Building the snapshot is synchronous anyway.
   */
  saveNow(): void {
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.dataDir === undefined) return;
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.statePath()}.tmp`;
    writeFileSync(tmp, this.snapshot(), { mode: 0o600 });
    renameSync(tmp, this.statePath());
  }

  /** Loads the snapshot of an earlier run; false when there is none. */
  async load(): Promise<boolean> {
    if (this.dataDir === undefined) return false;
    let text: string;
    try {
      text = await readFile(this.statePath(), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    const snap = JSON.parse(text) as Partial<Snapshot>;
    if (snap.format !== 1)
      throw new Error(`${this.statePath()}: unknown state format ${String(snap.format)}`);
    for (const { gr, obj } of snap.objects ?? []) {
      const meta = metaOf(obj);
      const ns = typeof meta["namespace"] === "string" ? meta["namespace"] : "";
      this.table(gr).set(keyOf(ns, textOf(meta["name"])), { obj, json: undefined });
    }
    this.rv = snap.resourceVersion ?? 1;
    this.extra = snap.extra ?? {};
    return true;
  }

  cancelPendingSave(): void {
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
  }
}
