// Deletion as Kubernetes does it: preconditions, finalizers (mark, then remove once the last is gone),
// propagation to dependents (background, foreground, orphan: the garbage collector), namespaces that take
// their contents with them, and a CRD that takes its resources. The Api calls in here for every removal.
import type { Catalog, ResourceDef } from "./catalog.js";
import { ApiError, errors } from "./errors.js";
import { isObject, text, type JsonObject } from "./fieldset.js";
import { metaOf, type Store, type Stored } from "./store.js";
import type { ApiHooks, WriteContext } from "./api-types.js";
import { clone, grOf, now, ownerUids, strings } from "./object-rules.js";
import { staleConflict } from "./write-request.js";
import { defsOfCrd } from "./crd-names.js";

/** What deletion needs of the Api: its store and catalogue, and the indexes it keeps in step. */
export interface DeletionHost {
  readonly store: Store;
  readonly catalog: Catalog;
  readonly hooks: ApiHooks;
  /** uid → "gr\0namespace\0name" of every stored object. */
  readonly uids: Map<string, string>;
  /** owner uid → dependents ("gr\0namespace\0name"). */
  readonly dependents: Map<string, Set<string>>;
  readonly readinessTimers: Map<string, NodeJS.Timeout>;
  getStored(def: ResourceDef, namespace: string, name: string): Stored;
  index(gr: string, old: JsonObject | undefined, obj: JsonObject): void;
}

export class Deletion {
  constructor(private readonly host: DeletionHost) {}

  /**
   * Deletes an object: with finalizers it is only marked (deletionTimestamp); otherwise it goes, and its
   * dependents with it (background or foreground) or lose their owner reference (orphan).
   */
  delete(
    def: ResourceDef,
    namespace: string,
    name: string,
    opts: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } },
    ctx: WriteContext,
  ): { obj: JsonObject; removed: boolean } {
    const ns = def.namespaced ? namespace : "";
    const stored = this.host.getStored(def, ns, name);
    const meta = metaOf(stored.obj);
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== meta["uid"]) {
      throw errors.conflict(
        { group: def.group, resource: def.resource, name },
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${text(meta["uid"])}`,
      );
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta["resourceVersion"]) {
      throw errors.conflict(
        { group: def.group, resource: def.resource, name },
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${text(meta["resourceVersion"])}`,
      );
    }
    if (pre?.resourceVersion !== undefined && this.host.hooks.conflictFault()) throw staleConflict(def, name);
    if (ctx.dryRun) return { obj: stored.obj, removed: true };
    if (def.group === "" && def.kind === "Namespace") return this.deleteNamespace(stored.obj);
    const policy = opts.propagationPolicy ?? "Background";
    if (policy === "Orphan") this.orphanDependents(text(meta["uid"]));
    if (policy === "Foreground") this.deleteDependents(text(meta["uid"]));
    if (strings(meta["finalizers"]).length > 0) {
      if (meta["deletionTimestamp"] !== undefined) return { obj: stored.obj, removed: false };
      const marked = clone(stored.obj);
      metaOf(marked)["deletionTimestamp"] = now();
      metaOf(marked)["deletionGracePeriodSeconds"] = 0;
      this.host.store.put(grOf(def), marked);
      return { obj: marked, removed: false };
    }
    const gone = this.removeNow(def, ns, name);
    return { obj: gone ?? stored.obj, removed: true };
  }

  private deleteNamespace(nsObj: JsonObject): { obj: JsonObject; removed: boolean } {
    const name = text(metaOf(nsObj)["name"]);
    let marked = nsObj;
    if (metaOf(nsObj)["deletionTimestamp"] === undefined) {
      marked = clone(nsObj);
      metaOf(marked)["deletionTimestamp"] = now();
      marked["status"] = { ...(isObject(marked["status"]) ? marked["status"] : {}), phase: "Terminating" };
      this.host.store.put("/namespaces", marked);
    }
    const system: WriteContext = {
      user: { name: "system:serviceaccount:kube-system:namespace-controller", groups: [] },
      dryRun: false,
      fieldManager: undefined,
      userAgent: "",
    };
    for (const def of this.host.catalog.all()) {
      if (!def.namespaced || def.createOnly) continue;
      for (const s of this.host.store.list(grOf(def), name)) {
        const m = metaOf(s.obj);
        if (m["deletionTimestamp"] !== undefined) continue;
        try {
          this.delete(def, name, text(m["name"]), {}, system);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    if (this.namespaceEmpty(name)) {
      const removed = this.removeNow(this.nsDef(), "", name);
      return { obj: removed ?? marked, removed: true };
    }
    return { obj: marked, removed: false };
  }

  private nsDef(): ResourceDef {
    const d = this.host.catalog.find("", "v1", "namespaces");
    if (d === undefined) throw errors.internal("namespaces are not served");
    return d;
  }

  private namespaceEmpty(name: string): boolean {
    for (const def of this.host.catalog.all()) {
      if (def.namespaced && this.host.store.list(grOf(def), name).length > 0) return false;
    }
    return true;
  }

  private orphanDependents(uid: string): void {
    for (const ref of [...(this.host.dependents.get(uid) ?? [])]) {
      const [gr = "", ns = "", name = ""] = ref.split("\0");
      const s = this.host.store.get(gr, ns, name);
      if (s === undefined) continue;
      const obj = clone(s.obj);
      const m = metaOf(obj);
      const refs = Array.isArray(m["ownerReferences"]) ? m["ownerReferences"] : [];
      m["ownerReferences"] = refs.filter((r) => !(isObject(r) && r["uid"] === uid));
      if (m["ownerReferences"].length === 0) delete m["ownerReferences"];
      this.host.store.put(gr, obj);
      this.host.index(gr, s.obj, obj);
    }
  }

  /** Deletes the dependents of a removed owner that have no other owner left (the garbage collector). */
  private deleteDependents(uid: string): void {
    const deps = this.host.dependents.get(uid);
    this.host.dependents.delete(uid);
    if (deps === undefined) return;
    const system: WriteContext = {
      user: { name: "system:serviceaccount:kube-system:generic-garbage-collector", groups: [] },
      dryRun: false,
      fieldManager: undefined,
      userAgent: "",
    };
    for (const ref of deps) {
      const [gr = "", ns = "", name = ""] = ref.split("\0");
      const s = this.host.store.get(gr, ns, name);
      if (s === undefined) continue;
      const others = ownerUids(s.obj).filter((o) => o !== uid && this.host.uids.has(o));
      if (others.length > 0) continue;
      const def = this.host.catalog.all().find((d) => grOf(d) === gr);
      if (def === undefined) continue;
      try {
        this.delete(def, ns, name, {}, system);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
  }

  /** Removes an object from the store now, with everything that follows from it. */
  removeNow(def: ResourceDef, ns: string, name: string): JsonObject | undefined {
    const gr = grOf(def);
    const gone = this.host.store.remove(gr, ns, name);
    if (gone === undefined) return undefined;
    const meta = metaOf(gone.obj);
    const uid = text(meta["uid"]);
    this.host.uids.delete(uid);
    for (const o of ownerUids(gone.obj)) this.host.dependents.get(o)?.delete(`${gr}\0${ns}\0${name}`);
    const timer = this.host.readinessTimers.get(`${gr}\0${ns}\0${name}`);
    if (timer !== undefined) clearTimeout(timer);
    if (def.group === "apiextensions.k8s.io" && def.kind === "CustomResourceDefinition") {
      for (const d of defsOfCrd(this.host.catalog, name)) {
        this.host.catalog.remove(d.group, d.version, d.resource);
        this.host.store.dropTable(grOf(d));
      }
      this.host.hooks.catalogChanged();
    }
    this.deleteDependents(uid);
    if (ns !== "") {
      const nsObj = this.host.store.get("/namespaces", "", ns);
      if (
        nsObj !== undefined &&
        metaOf(nsObj.obj)["deletionTimestamp"] !== undefined &&
        this.namespaceEmpty(ns)
      ) {
        this.removeNow(this.nsDef(), "", ns);
      }
    }
    return gone.obj;
  }
}
