// The semantics of the Kubernetes API over the store: create, update, patch (JSON, merge, strategic,
// server-side apply with managedFields), delete with finalizers and garbage collection of dependents,
// namespaces that must exist and take their contents with them, CRDs that add resources, and the
// readiness simulation of workloads. Handlers in server.ts translate HTTP to these calls.
// The shared rules live beside it: object-rules.ts (server-owned metadata), managed-fields.ts (ownership),
// write-request.ts (body, fields, patches), deletion.ts (finalizers, garbage collection, namespaces),
// crd-names.ts, scale.ts and readiness.ts. A little over 600 lines because commit(), the one path every
// write takes, and the server-side apply that feeds it are each kept whole, in the order Kubernetes runs them.
import { randomUUID } from "node:crypto";
import { Catalog, defsFromCrd, groupVersionOf, type ResourceDef } from "./catalog.js";
import { errors } from "./errors.js";
import {
  isObject,
  jsonEqual,
  isLeaf,
  leaves,
  removeFields,
  setOf,
  subtract,
  text,
  union,
  valueAt,
  type FieldSet,
  type Json,
  type JsonObject,
} from "./fieldset.js";
import { mergeApply } from "./merge.js";
import { metaOf, type Store, type Stored } from "./store.js";
import { validate } from "./validate.js";
import { validateCore } from "./core-validation.js";
import { validateCustom } from "./crd-validation.js";
import { confirmNoEscalation } from "./escalation.js";
import { admissionConfigCauses } from "./admission/config.js";
import { ephemeralWrite } from "./ephemeral.js";
import type { ApiHooks, ListOptions, ListResult, PatchType, WriteContext } from "./api-types.js";
import { acceptCrd, defsOfCrd } from "./crd-names.js";
import { Deletion } from "./deletion.js";
import {
  applyConflict,
  decodeManaged,
  recordUpdate,
  encodeManaged,
  pathSet,
  trackable,
  type ManagedEntry,
} from "./managed-fields.js";
import {
  applyDefaults,
  clone,
  convertStringData,
  defaultedKinds,
  grOf,
  keyFor,
  noGeneration,
  now,
  ownerUids,
  randomSuffix,
  serverMeta,
  specChanged,
  stripRv,
  strings,
} from "./object-rules.js";
import { readyStatus, workloadKinds, type Readiness } from "./readiness.js";
import { scaleOf } from "./scale.js";
import {
  applyPatch,
  checkBody,
  checkFields,
  crdSchemaOf,
  namesResourceVersion,
  staleConflict,
} from "./write-request.js";

// The names other modules use with the Api.
export type { ApiHooks, ListOptions, ListResult, PatchType, WriteContext } from "./api-types.js";
export type { Readiness } from "./readiness.js";

export class Api {
  /** uid → "gr\0namespace\0name" of every stored object. */
  private readonly uids = new Map<string, string>();
  /** owner uid → dependents ("gr\0namespace\0name"). */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly readinessTimers = new Map<string, NodeJS.Timeout>();
  private readonly deletion: Deletion;
  readiness: Readiness;

  constructor(
    readonly store: Store,
    readonly catalog: Catalog,
    readiness: Readiness,
    private readonly hooks: ApiHooks,
  ) {
    this.readiness = readiness;
    this.deletion = new Deletion({
      store,
      catalog,
      hooks,
      uids: this.uids,
      dependents: this.dependents,
      readinessTimers: this.readinessTimers,
      getStored: (def, namespace, name) => this.getStored(def, namespace, name),
      index: (gr, old, obj) => {
        this.index(gr, old, obj);
      },
    });
  }

  /** Rebuilds indexes and CRD resources after loading a snapshot, and re-arms readiness timers. */
  afterLoad(): void {
    for (const gr of this.store.resources()) {
      for (const s of this.store.list(gr, undefined)) this.index(gr, undefined, s.obj);
    }
    for (const s of this.store.list("apiextensions.k8s.io/customresourcedefinitions", undefined)) {
      for (const d of defsFromCrd(s.obj)) this.catalog.add(d);
    }
    for (const def of this.catalog.all()) {
      if (!workloadKinds.has(`${def.group}/${def.kind}`)) continue;
      for (const s of this.store.list(grOf(def), undefined)) this.scheduleReadiness(def, s.obj);
    }
  }

  stop(): void {
    for (const t of this.readinessTimers.values()) clearTimeout(t);
    this.readinessTimers.clear();
  }

  // ---- reads -------------------------------------------------------------------------------------

  getStored(def: ResourceDef, namespace: string, name: string): Stored {
    const s = this.store.get(grOf(def), def.namespaced ? namespace : "", name);
    if (s === undefined) throw errors.notFound({ group: def.group, resource: def.resource, name });
    return s;
  }

  list(def: ResourceDef, namespace: string | undefined, opts: ListOptions): ListResult {
    let all = this.store.list(grOf(def), def.namespaced ? namespace : undefined);
    const rv = text(this.store.resourceVersion);
    const ls = opts.labelSelector;
    const fs = opts.fieldSelector;
    if (ls !== undefined || fs !== undefined) {
      all = all.filter((s) => (ls === undefined || ls(s.obj)) && (fs === undefined || fs(s.obj)));
    }
    let start = 0;
    if (opts.continueToken !== undefined && opts.continueToken !== "") {
      let after: string;
      try {
        const t = JSON.parse(Buffer.from(opts.continueToken, "base64url").toString("utf8")) as {
          after?: unknown;
        };
        if (typeof t.after !== "string") throw new Error("no key");
        after = t.after;
      } catch {
        throw errors.badRequest("invalid continue token");
      }
      start = all.findIndex((s) => keyFor(s.obj) > after);
      if (start < 0) start = all.length;
    }
    if (opts.limit !== undefined && opts.limit > 0 && start + opts.limit < all.length) {
      const items = all.slice(start, start + opts.limit);
      const last = items[items.length - 1];
      const token = Buffer.from(
        JSON.stringify({ after: last === undefined ? "" : keyFor(last.obj), rv }),
      ).toString("base64url");
      return { items, resourceVersion: rv, continueToken: token, remaining: all.length - start - opts.limit };
    }
    return { items: start === 0 ? all : all.slice(start), resourceVersion: rv };
  }

  // ---- writes ------------------------------------------------------------------------------------

  create(def: ResourceDef, namespace: string, body: Json, ctx: WriteContext): JsonObject {
    checkFields(this.store, def, body, ctx);
    const obj = checkBody(def, namespace, body, undefined);
    const meta = metaOf(obj);
    if ((meta["name"] === undefined || meta["name"] === "") && typeof meta["generateName"] === "string") {
      meta["name"] = `${meta["generateName"]}${randomSuffix()}`;
    }
    const name = typeof meta["name"] === "string" ? meta["name"] : "";
    if (name !== "" && this.store.get(grOf(def), def.namespaced ? namespace : "", name) !== undefined) {
      throw errors.alreadyExists({ group: def.group, resource: def.resource, name });
    }
    return this.commit(def, namespace, undefined, obj, ctx, { kind: "update", subresource: undefined });
  }

  update(
    def: ResourceDef,
    namespace: string,
    name: string,
    body: Json,
    ctx: WriteContext,
    sub?: string,
  ): JsonObject {
    const old = this.getStored(def, namespace, name).obj;
    if (sub === "scale") return this.writeScale(def, namespace, old, () => body, ctx);
    checkFields(this.store, def, body, ctx);
    const obj = checkBody(def, namespace, body, name);
    const rv = metaOf(obj)["resourceVersion"];
    if (rv !== undefined && rv !== "" && this.preconditionFails(rv, old)) throw staleConflict(def, name);
    return this.commit(def, namespace, old, obj, ctx, { kind: "update", subresource: sub });
  }

  patch(
    def: ResourceDef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: Json,
    ctx: WriteContext,
    sub: string | undefined,
    force: boolean,
  ): { obj: JsonObject; created: boolean } {
    const stored = this.store.get(grOf(def), def.namespaced ? namespace : "", name);
    if (type === "apply") {
      return {
        obj: this.apply(def, namespace, name, stored?.obj, patch, ctx, sub, force),
        created: stored === undefined,
      };
    }
    if (stored === undefined) throw errors.notFound({ group: def.group, resource: def.resource, name });
    const old = stored.obj;
    if (sub === "scale") {
      return {
        obj: this.writeScale(def, namespace, old, (scale) => applyPatch(def, scale, type, patch), ctx),
        created: false,
      };
    }
    // Merge patches are checked as the partial objects they are; a JSON patch by its result.
    if (type !== "json") checkFields(this.store, def, patch, ctx);
    const next = applyPatch(def, clone(old), type, patch);
    if (!isObject(next)) throw errors.badRequest("the patch does not produce an object");
    if (type === "json") checkFields(this.store, def, next, ctx);
    const meta = metaOf(next);
    if (meta["name"] !== name) throw errors.badRequest("metadata.name cannot be changed by a patch");
    // The patched object keeps the stored resourceVersion unless the patch names one: a precondition.
    const rv = meta["resourceVersion"];
    if (rv !== undefined && rv !== metaOf(old)["resourceVersion"]) throw staleConflict(def, name);
    if (namesResourceVersion(type, patch) && this.hooks.conflictFault()) throw staleConflict(def, name);
    return {
      obj: this.commit(def, namespace, old, next, ctx, { kind: "update", subresource: sub }),
      created: false,
    };
  }

  private writeScale(
    def: ResourceDef,
    namespace: string,
    old: JsonObject,
    change: (scale: JsonObject) => Json,
    ctx: WriteContext,
  ): JsonObject {
    const scale = scaleOf(def, old);
    const next = change(scale);
    const replicas = isObject(next) && isObject(next["spec"]) ? next["spec"]["replicas"] : undefined;
    if (typeof replicas !== "number" || replicas < 0 || !Number.isInteger(replicas)) {
      throw errors.invalid("Scale", { group: "autoscaling", resource: "scale" }, [
        { type: "FieldValueInvalid", message: "must be a non-negative integer", field: "spec.replicas" },
      ]);
    }
    const obj = clone(old);
    obj["spec"] = { ...(isObject(obj["spec"]) ? obj["spec"] : {}), replicas };
    const saved = this.commit(def, namespace, old, obj, ctx, { kind: "update", subresource: "scale" });
    return scaleOf(def, saved);
  }

  /** Whether a write under resourceVersion `rv` must be refused: stale, or hit by the conflict fault. */
  private preconditionFails(rv: Json, current: JsonObject): boolean {
    return rv !== metaOf(current)["resourceVersion"] || this.hooks.conflictFault();
  }

  /** A custom resource's openAPIV3Schema, from its CRD (undefined: none declared). */
  crdSchema(def: ResourceDef): Json | undefined {
    return crdSchemaOf(this.store, def);
  }

  /** Server-side apply: merge the configuration, move ownership, report or force conflicts, remove dropped fields. */
  private apply(
    def: ResourceDef,
    namespace: string,
    name: string,
    old: JsonObject | undefined,
    body: Json,
    ctx: WriteContext,
    sub: string | undefined,
    force: boolean,
  ): JsonObject {
    const manager = ctx.fieldManager;
    if (manager === undefined || manager === "") {
      throw errors.invalid("PatchOptions", { group: "meta.k8s.io", resource: "patchoptions" }, [
        {
          type: "FieldValueRequired",
          message: "Required value: is required for apply patch",
          field: "fieldManager",
        },
      ]);
    }
    if (sub === "scale")
      throw errors.badRequest("apply to the scale subresource is not supported by the sandbox");
    checkFields(this.store, def, body, ctx, `${def.namespaced ? namespace : ""}/${name}`);
    const config = checkBody(def, namespace, body, name);
    const cmeta = metaOf(config);
    const rv = cmeta["resourceVersion"];
    if (rv !== undefined && rv !== "" && (old === undefined || this.preconditionFails(rv, old))) {
      throw staleConflict(def, name);
    }
    const hasStatus = def.subresources.includes("status");
    let applied = trackable(config);
    if (sub === "status") applied = isObject(applied["status"]) ? { status: applied["status"] } : {};
    else if (hasStatus) delete applied["status"];
    if (defaultedKinds.has(`${def.group}/${def.kind}`)) applyDefaults(applied);
    const appliedSet = setOf(applied, def.schema);
    const entries = decodeManaged(old);
    const live = old === undefined ? {} : trackable(old);
    const isMine = (e: ManagedEntry): boolean =>
      e.manager === manager && e.operation === "Apply" && e.subresource === sub;

    // Conflicts: fields another manager owns whose live value differs from the applied one.
    const conflicts: { entry: ManagedEntry; paths: string[][] }[] = [];
    for (const e of entries) {
      if (isMine(e)) continue;
      const paths = leaves(appliedSet).filter((p) => {
        if (!isLeaf(e.set, p)) return false;
        if (p[p.length - 1] === ".") return false;
        const [was, want] = [valueAt(live, p), valueAt(applied, p)];
        // A map is compared by its fields, each owned on its own: an empty map conflicts with nothing.
        if (isObject(was) && isObject(want)) return false;
        return !jsonEqual(was, want);
      });
      if (paths.length > 0) conflicts.push({ entry: e, paths });
    }
    if (conflicts.length > 0 && !force) throw applyConflict(def, name, conflicts);
    for (const c of conflicts) {
      let drop: FieldSet = new Map();
      for (const p of c.paths) drop = union(drop, pathSet(p));
      c.entry.set = subtract(c.entry.set, drop);
    }

    const mine = entries.find(isMine);
    let merged = mergeApply(old === undefined ? {} : clone(old), applied, def.schema);
    if (!isObject(merged)) merged = {};
    if (mine !== undefined) {
      const dropped = subtract(mine.set, appliedSet);
      let keep = appliedSet;
      for (const e of entries) if (e !== mine) keep = union(keep, e.set);
      if (dropped.size > 0) removeFields(merged, dropped, keep);
      mine.set = appliedSet;
      mine.time = now();
      mine.apiVersion = groupVersionOf(def);
    } else {
      entries.push({
        manager,
        operation: "Apply",
        apiVersion: groupVersionOf(def),
        time: now(),
        subresource: sub,
        set: appliedSet,
      });
    }
    const next = merged;
    next["apiVersion"] = groupVersionOf(def);
    next["kind"] = def.kind;
    const meta = metaOf(next);
    meta["name"] = name;
    if (def.namespaced) meta["namespace"] = namespace;
    meta["managedFields"] = encodeManaged(entries);
    return this.commit(def, namespace, old, next, ctx, { kind: "given", subresource: sub });
  }

  /**
   * The one path every write takes: server-owned metadata, status and subresource rules, generation,
   * managed fields of an update, validation, finalizers, dry-run, then the store and its side effects.
   */
  private commit(
    def: ResourceDef,
    namespace: string,
    old: JsonObject | undefined,
    next: JsonObject,
    ctx: WriteContext,
    how: { kind: "update" | "given"; subresource: string | undefined },
  ): JsonObject {
    const meta = metaOf(next);
    const ns = def.namespaced ? namespace : "";
    next["apiVersion"] = groupVersionOf(def);
    next["kind"] = def.kind;
    if (def.namespaced) meta["namespace"] = namespace;
    const hasStatus = def.subresources.includes("status");
    const sub = how.subresource;

    if (old === undefined) {
      if (def.namespaced) this.requireNamespace(namespace);
      for (const f of serverMeta) if (f !== "managedFields") Reflect.deleteProperty(meta, f);
      meta["uid"] = randomUUID();
      meta["creationTimestamp"] = now();
      if (!noGeneration.has(`${def.group}/${def.kind}`)) meta["generation"] = 1;
      if (hasStatus && sub !== "status") delete next["status"];
      if (def.group === "" && def.kind === "Namespace") next["status"] = { phase: "Active" };
    } else {
      const oldMeta = metaOf(old);
      if (sub === "ephemeralcontainers") ephemeralWrite(old, next);
      if (sub === "status" || sub === "approval") {
        // A status write (and a CSR's approval) changes only the status.
        const status = next["status"];
        for (const k of Object.keys(next)) Reflect.deleteProperty(next, k);
        Object.assign(next, clone(old));
        if (status === undefined) delete next["status"];
        else next["status"] = status;
        if (how.kind === "given") metaOf(next)["managedFields"] = meta["managedFields"] ?? null;
      } else if (hasStatus && sub !== "scale") {
        if (old["status"] === undefined) delete next["status"];
        else next["status"] = old["status"];
      }
      const m = metaOf(next);
      for (const f of [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
      ]) {
        if (oldMeta[f] === undefined) Reflect.deleteProperty(m, f);
        else m[f] = oldMeta[f] ?? null;
      }
      m["resourceVersion"] = oldMeta["resourceVersion"] ?? "";
      if (m["generation"] !== undefined && specChanged(old, next))
        m["generation"] = Number(oldMeta["generation"] ?? 0) + 1;
      if (oldMeta["deletionTimestamp"] !== undefined) {
        const added = strings(m["finalizers"]).filter((f) => !strings(oldMeta["finalizers"]).includes(f));
        if (added.length > 0) {
          throw errors.forbiddenMessage(
            `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          );
        }
      }
    }
    const fmeta = metaOf(next);
    if (defaultedKinds.has(`${def.group}/${def.kind}`)) applyDefaults(next);
    if (def.group === "" && def.kind === "Secret") convertStringData(next);

    if (how.kind === "update") recordUpdate(def, old, next, ctx, sub);
    if (Array.isArray(fmeta["managedFields"]) && fmeta["managedFields"].length === 0)
      delete fmeta["managedFields"];

    confirmNoEscalation(this.store, {
      def,
      namespace: ns,
      // A POST to the collection names no object; an update, patch or apply names it on the URL.
      requestName: old === undefined && how.kind === "update" ? "" : text(fmeta["name"]),
      old,
      next,
      user: ctx.user,
    });
    if (def.group === "" && def.kind === "Namespace") {
      // kube-apiserver labels every namespace with its name (namespaceSelectors rely on it).
      const labels = isObject(fmeta["labels"]) ? fmeta["labels"] : {};
      labels["kubernetes.io/metadata.name"] = text(fmeta["name"]);
      fmeta["labels"] = labels;
    }
    const causes = [
      ...validate(def, next),
      ...validateCore(def, next, old),
      ...admissionConfigCauses(def, next),
    ];
    if (def.crd !== undefined) {
      const crd = this.store.get("apiextensions.k8s.io/customresourcedefinitions", "", def.crd);
      if (crd !== undefined) causes.push(...validateCustom(crd.obj, def.version, next));
    }
    if (causes.length > 0) {
      throw errors.invalid(
        def.kind,
        { group: def.group, resource: def.resource, name: text(fmeta["name"] ?? "") },
        causes,
      );
    }
    const name = text(fmeta["name"]);
    if (def.group === "apiextensions.k8s.io" && def.kind === "CustomResourceDefinition") acceptCrd(next, old);
    ctx.admit?.({ def, namespace: ns, old, next, subresource: sub });

    if (
      old !== undefined &&
      metaOf(old)["deletionTimestamp"] !== undefined &&
      strings(fmeta["finalizers"]).length === 0
    ) {
      // The last finalizer is gone from an object being deleted: it goes now.
      if (!ctx.dryRun) this.deletion.removeNow(def, ns, name);
      return next;
    }
    if (old !== undefined && jsonEqual(stripRv(old), stripRv(next))) return old;
    if (ctx.dryRun) return next;
    this.put(def, next, old);
    return next;
  }

  private requireNamespace(namespace: string): void {
    const ns = this.store.get("/namespaces", "", namespace);
    if (ns === undefined) throw errors.notFound({ group: "", resource: "namespaces", name: namespace });
    if (metaOf(ns.obj)["deletionTimestamp"] !== undefined) {
      throw errors.forbiddenMessage(
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        { group: "", resource: "namespaces", name: namespace },
      );
    }
  }

  /** Stores an object and keeps indexes, CRD resources, default service accounts and readiness in step. */
  private put(def: ResourceDef, obj: JsonObject, old: JsonObject | undefined): void {
    const gr = grOf(def);
    this.store.put(gr, obj);
    this.index(gr, old, obj);
    if (def.group === "apiextensions.k8s.io" && def.kind === "CustomResourceDefinition") {
      for (const d of defsOfCrd(this.catalog, text(metaOf(obj)["name"])))
        this.catalog.remove(d.group, d.version, d.resource);
      for (const d of defsFromCrd(obj)) this.catalog.add(d);
      this.hooks.catalogChanged();
    }
    if (def.group === "" && def.kind === "Namespace" && old === undefined) {
      const name = text(metaOf(obj)["name"]);
      const sa = this.catalog.find("", "v1", "serviceaccounts");
      if (sa !== undefined && this.store.get("/serviceaccounts", name, "default") === undefined) {
        this.putInternal(sa, {
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "default", namespace: name },
        });
      }
    }
    if (workloadKinds.has(`${def.group}/${def.kind}`)) this.scheduleReadiness(def, obj);
  }

  /** Creates an object as the server itself (bootstrap objects, default service accounts). */
  putInternal(def: ResourceDef, obj: JsonObject): void {
    const meta = metaOf(obj);
    meta["uid"] = randomUUID();
    meta["creationTimestamp"] = now();
    this.put(def, obj, undefined);
  }

  private index(gr: string, old: JsonObject | undefined, obj: JsonObject): void {
    const meta = metaOf(obj);
    const ref = `${gr}\0${typeof meta["namespace"] === "string" ? meta["namespace"] : ""}\0${text(meta["name"])}`;
    if (typeof meta["uid"] === "string") this.uids.set(meta["uid"], ref);
    if (old !== undefined) for (const o of ownerUids(old)) this.dependents.get(o)?.delete(ref);
    for (const o of ownerUids(obj)) {
      let set = this.dependents.get(o);
      if (set === undefined) {
        set = new Set();
        this.dependents.set(o, set);
      }
      set.add(ref);
    }
  }

  // ---- deletion (deletion.ts) -------------------------------------------------------------------

  /**
   * Deletes an object: with finalizers it is only marked (deletionTimestamp); otherwise it goes, and its
   * dependents with it (background or foreground) or lose their owner reference (orphan).
   */
  delete(...args: Parameters<Deletion["delete"]>): ReturnType<Deletion["delete"]> {
    return this.deletion.delete(...args);
  }

  deleteCollection(
    def: ResourceDef,
    namespace: string | undefined,
    opts: ListOptions,
    ctx: WriteContext,
  ): JsonObject[] {
    const out: JsonObject[] = [];
    for (const s of this.list(def, namespace, { ...opts, limit: 0 }).items) {
      const m = metaOf(s.obj);
      out.push(this.delete(def, text(m["namespace"] ?? ""), text(m["name"]), {}, ctx).obj);
    }
    return out;
  }

  // ---- readiness simulation ----------------------------------------------------------------------

  private scheduleReadiness(def: ResourceDef, obj: JsonObject): void {
    if (this.readiness === "never") return;
    const meta = metaOf(obj);
    if (meta["deletionTimestamp"] !== undefined) return;
    const status = isObject(obj["status"]) ? obj["status"] : {};
    if (
      def.kind === "Job"
        ? status["completionTime"] !== undefined
        : status["observedGeneration"] === meta["generation"]
    )
      return;
    const key = `${grOf(def)}\0${text(meta["namespace"] ?? "")}\0${text(meta["name"])}`;
    const existing = this.readinessTimers.get(key);
    if (existing !== undefined) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.readinessTimers.delete(key);
      this.markReady(def, text(meta["namespace"] ?? ""), text(meta["name"]));
    }, this.readiness.delayMs);
    timer.unref();
    this.readinessTimers.set(key, timer);
  }

  private markReady(def: ResourceDef, namespace: string, name: string): void {
    const s = this.store.get(grOf(def), namespace, name);
    if (s === undefined) return;
    const next = clone(s.obj);
    next["status"] = readyStatus(def.kind, next);
    const ctx: WriteContext = {
      user: { name: "system:kube-controller-manager", groups: [] },
      dryRun: false,
      fieldManager: "kube-controller-manager",
      userAgent: "kube-controller-manager",
    };
    this.commit(def, namespace, s.obj, next, ctx, { kind: "update", subresource: "status" });
  }
}
