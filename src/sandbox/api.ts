// The semantics of the Kubernetes API over the store: create, update, patch (JSON, merge, strategic,
// server-side apply with managedFields), delete with finalizers and garbage collection of dependents,
// namespaces that must exist and take their contents with them, CRDs that add resources, and the
// readiness simulation of workloads. Handlers in server.ts translate HTTP to these calls.
import { randomUUID, randomBytes } from "node:crypto";
import fastJsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { Catalog, defsFromCrd, groupVersionOf, type ResourceDef } from "./catalog.js";
import { ApiError, errors, type StatusCause } from "./errors.js";
import {
  changedSet,
  fromFieldsV1,
  intersect,
  isObject,
  jsonEqual,
  isLeaf,
  leaves,
  pathString,
  removeFields,
  setOf,
  subtract,
  text,
  toFieldsV1,
  union,
  valueAt,
  type FieldSet,
  type Json,
  type JsonObject,
} from "./fieldset.js";
import { mergeApply, mergePatch, strategicMerge } from "./merge.js";
import { metaOf, type Store, type Stored } from "./store.js";
import { validate } from "./validate.js";
import { validateCore } from "./core-validation.js";
import { schemaOf, validateCustom } from "./crd-validation.js";
import { confirmNoEscalation } from "./escalation.js";
import { modelOf, unknownCustomFields, unknownFields, type FieldValidation } from "./field-validation.js";
import type { UserInfo } from "./rbac.js";
import type { Pending } from "./admission/admit.js";
import { admissionConfigCauses } from "./admission/config.js";
import { ephemeralWrite } from "./ephemeral.js";

export type Readiness = { delayMs: number } | "never";

export interface WriteContext {
  user: UserInfo;
  dryRun: boolean;
  /** The fieldManager query parameter. */
  fieldManager: string | undefined;
  userAgent: string;
  /** How unknown fields in the request are handled; unset (the server's own writes): not checked. */
  fieldValidation?: FieldValidation;
  /** Warnings for the response's Warning headers. */
  warnings?: string[];
  /** Called with the object about to be stored, after defaulting and validation (admission/admit.ts). */
  admit?: (pending: Pending) => void;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

export interface ListOptions {
  labelSelector?: (o: JsonObject) => boolean;
  fieldSelector?: (o: JsonObject) => boolean;
  limit?: number;
  continueToken?: string;
}

export interface ListResult {
  items: Stored[];
  resourceVersion: string;
  continueToken?: string;
  remaining?: number;
}

interface ManagedEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  subresource: string | undefined;
  set: FieldSet;
}

const grOf = (def: { group: string; resource: string }): string => `${def.group}/${def.resource}`;
let lastSecond = 0;
let lastStamp = "";
/** RFC 3339 time to the second, as Kubernetes writes timestamps (made once per second: writes are hot). */
const now = (): string => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return lastStamp;
};
const clone = (o: JsonObject): JsonObject => JSON.parse(JSON.stringify(o)) as JsonObject;

/** Metadata fields that belong to the server: never owned by a field manager, never taken from a request. */
const serverMeta = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
];

const workloadKinds = new Set(["apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "batch/Job"]);
/** Kinds without a `metadata.generation` in Kubernetes. */
const noGeneration = new Set([
  "/ConfigMap",
  "/Secret",
  "/ServiceAccount",
  "/Event",
  "/Endpoints",
  "/Namespace",
]);

/** The part of an object that managed fields describe: no apiVersion, kind or server-owned metadata. */
function trackable(obj: JsonObject): JsonObject {
  const out: JsonObject = { ...obj };
  delete out["apiVersion"];
  delete out["kind"];
  const meta = isObject(obj["metadata"]) ? { ...obj["metadata"] } : {};
  for (const f of [...serverMeta, "name", "namespace"]) Reflect.deleteProperty(meta, f);
  if (Object.keys(meta).length > 0) out["metadata"] = meta;
  else delete out["metadata"];
  return out;
}

function decodeManaged(obj: JsonObject | undefined): ManagedEntry[] {
  const mf = obj === undefined ? undefined : metaOf(obj)["managedFields"];
  if (!Array.isArray(mf)) return [];
  const out: ManagedEntry[] = [];
  for (const e of mf) {
    if (!isObject(e)) continue;
    out.push({
      manager: typeof e["manager"] === "string" ? e["manager"] : "",
      operation: e["operation"] === "Apply" ? "Apply" : "Update",
      apiVersion: typeof e["apiVersion"] === "string" ? e["apiVersion"] : "",
      time: typeof e["time"] === "string" ? e["time"] : now(),
      subresource: typeof e["subresource"] === "string" ? e["subresource"] : undefined,
      set: fromFieldsV1(e["fieldsV1"]),
    });
  }
  return out;
}

function encodeManaged(entries: ManagedEntry[]): Json[] {
  return entries
    .filter((e) => e.set.size > 0)
    .map((e) => {
      const out: JsonObject = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: "FieldsV1",
        fieldsV1: toFieldsV1(e.set) as JsonObject,
      };
      if (e.subresource !== undefined) out["subresource"] = e.subresource;
      return out;
    });
}

/** Kinds with ports (in pod templates or services) whose protocol the server defaults. */
const defaultedKinds = new Set([
  "/Pod",
  "/PodTemplate",
  "/Service",
  "apps/Deployment",
  "apps/StatefulSet",
  "apps/DaemonSet",
  "apps/ReplicaSet",
  "batch/Job",
  "batch/CronJob",
]);

/** Defaults the server fills in that merge keys depend on (a port's protocol). */
function applyDefaults(value: Json, parentKey = ""): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (parentKey === "ports" && isObject(item) && item["protocol"] === undefined) {
        if (item["containerPort"] !== undefined || item["port"] !== undefined) item["protocol"] = "TCP";
      }
      applyDefaults(item, "");
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === "object" && v !== null) applyDefaults(v, k);
  }
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length] ?? "x").join("");
}

function managerFrom(ctx: WriteContext): string {
  if (ctx.fieldManager !== undefined && ctx.fieldManager !== "") return ctx.fieldManager;
  const ua = ctx.userAgent.split("/")[0] ?? "";
  return ua === "" ? "unknown" : ua.slice(0, 128);
}

export interface ApiHooks {
  /** A CRD changed the catalogue (discovery caches are rebuilt). */
  catalogChanged(): void;
  /**
   * Asked once per write whose resourceVersion precondition holds: true answers it 409 Conflict all the
   * same (the conflict fault), before anything is written.
   */
  conflictFault(): boolean;
}

export class Api {
  /** uid → "gr\0namespace\0name" of every stored object. */
  private readonly uids = new Map<string, string>();
  /** owner uid → dependents ("gr\0namespace\0name"). */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly readinessTimers = new Map<string, NodeJS.Timeout>();
  readiness: Readiness;

  constructor(
    readonly store: Store,
    readonly catalog: Catalog,
    readiness: Readiness,
    private readonly hooks: ApiHooks,
  ) {
    this.readiness = readiness;
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
    this.checkFields(def, body, ctx);
    const obj = this.checkBody(def, namespace, body, undefined);
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
    this.checkFields(def, body, ctx);
    const obj = this.checkBody(def, namespace, body, name);
    const rv = metaOf(obj)["resourceVersion"];
    if (rv !== undefined && rv !== "" && this.preconditionFails(rv, old)) throw this.staleConflict(def, name);
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
        obj: this.writeScale(def, namespace, old, (scale) => this.applyPatch(def, scale, type, patch), ctx),
        created: false,
      };
    }
    // Merge patches are checked as the partial objects they are; a JSON patch by its result.
    if (type !== "json") this.checkFields(def, patch, ctx);
    const next = this.applyPatch(def, clone(old), type, patch);
    if (!isObject(next)) throw errors.badRequest("the patch does not produce an object");
    if (type === "json") this.checkFields(def, next, ctx);
    const meta = metaOf(next);
    if (meta["name"] !== name) throw errors.badRequest("metadata.name cannot be changed by a patch");
    // The patched object keeps the stored resourceVersion unless the patch names one: a precondition.
    const rv = meta["resourceVersion"];
    if (rv !== undefined && rv !== metaOf(old)["resourceVersion"]) throw this.staleConflict(def, name);
    if (namesResourceVersion(type, patch) && this.hooks.conflictFault()) throw this.staleConflict(def, name);
    return {
      obj: this.commit(def, namespace, old, next, ctx, { kind: "update", subresource: sub }),
      created: false,
    };
  }

  private applyPatch(def: ResourceDef, target: JsonObject, type: PatchType, patch: Json): Json {
    switch (type) {
      case "json": {
        if (!Array.isArray(patch)) throw errors.badRequest("a JSON patch must be a list of operations");
        try {
          return fastJsonPatch.applyPatch(target, patch as unknown as Operation[], true, true).newDocument;
        } catch (err) {
          throw new ApiError(
            422,
            "Invalid",
            `the JSON patch cannot be applied: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      case "merge":
        if (!isObject(patch)) throw errors.badRequest("a merge patch must be an object");
        return mergePatch(target, patch);
      case "strategic":
        if (def.crd !== undefined) {
          throw new ApiError(
            415,
            "UnsupportedMediaType",
            "strategic merge patch is not supported for custom resources: use a merge or JSON patch",
          );
        }
        if (!isObject(patch)) throw errors.badRequest("a strategic merge patch must be an object");
        return strategicMerge(target, patch, def.schema);
      case "apply":
        throw errors.badRequest("apply is not a patch of a subresource here");
    }
  }

  private writeScale(
    def: ResourceDef,
    namespace: string,
    old: JsonObject,
    change: (scale: JsonObject) => Json,
    ctx: WriteContext,
  ): JsonObject {
    const scale = this.scaleOf(def, old);
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
    return this.scaleOf(def, saved);
  }

  scaleOf(def: ResourceDef, obj: JsonObject): JsonObject {
    const meta = metaOf(obj);
    const spec = isObject(obj["spec"]) ? obj["spec"] : {};
    const status = isObject(obj["status"]) ? obj["status"] : {};
    // A ReplicationController's selector is a plain map; the others' a LabelSelector.
    const sel = !isObject(spec["selector"])
      ? undefined
      : def.kind === "ReplicationController"
        ? spec["selector"]
        : spec["selector"]["matchLabels"];
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: {
        name: meta["name"] ?? "",
        namespace: meta["namespace"] ?? "",
        uid: meta["uid"] ?? "",
        resourceVersion: meta["resourceVersion"] ?? "",
        creationTimestamp: meta["creationTimestamp"] ?? null,
      },
      spec: { replicas: typeof spec["replicas"] === "number" ? spec["replicas"] : 1 },
      status: {
        replicas: typeof status["replicas"] === "number" ? status["replicas"] : 0,
        selector: isObject(sel)
          ? Object.entries(sel)
              .map(([k, v]) => `${k}=${text(v)}`)
              .join(",")
          : "",
      },
    };
  }

  /** Whether a write under resourceVersion `rv` must be refused: stale, or hit by the conflict fault. */
  private preconditionFails(rv: Json, current: JsonObject): boolean {
    return rv !== metaOf(current)["resourceVersion"] || this.hooks.conflictFault();
  }

  private staleConflict(def: ResourceDef, name: string): ApiError {
    return errors.conflict(
      { group: def.group, resource: def.resource, name },
      `Operation cannot be fulfilled on ${def.group === "" ? def.resource : `${def.resource}.${def.group}`} ${JSON.stringify(name)}: the object has been modified; please apply your changes to the latest version and try again`,
    );
  }

  /** A custom resource's openAPIV3Schema, from its CRD (undefined: none declared). */
  crdSchema(def: ResourceDef): Json | undefined {
    const crd = this.store.get("apiextensions.k8s.io/customresourcedefinitions", "", def.crd ?? "")?.obj;
    return crd === undefined ? undefined : schemaOf(crd, def.version);
  }

  /**
   * Unknown fields (built-in kinds by model, custom resources by CRD schema): refused (Strict), dropped
   * with a warning (Warn) or silently (Ignore). `applied` is the "namespace/name" of a server-side apply.
   */
  private checkFields(def: ResourceDef, body: Json, ctx: WriteContext, applied?: string): void {
    const mode = ctx.fieldValidation;
    if (mode === undefined) return;
    let unknown: string[];
    if (def.crd !== undefined) {
      const schema = this.crdSchema(def);
      if (schema === undefined) return;
      unknown = unknownCustomFields(schema, body, mode !== "Strict");
    } else {
      const model = modelOf(def.group, def.version, def.kind);
      if (model === undefined) return;
      unknown = unknownFields(model, body, mode !== "Strict");
    }
    if (unknown.length === 0) return;
    if (mode === "Warn") ctx.warnings?.push(...unknown.map((f) => `unknown field ${JSON.stringify(f)}`));
    if (mode !== "Strict") return;
    throw errors.badRequest(
      applied !== undefined
        ? `failed to create typed patch object (${applied}; ${groupVersionOf(def)}, Kind=${def.kind}): ${unknown.map((f) => `.${f}: field not declared in schema`).join(", ")}`
        : `${def.kind} in version ${JSON.stringify(def.version)} cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field ${JSON.stringify(f)}`).join(", ")}`,
    );
  }

  /** Checks a request body against the URL: kind, apiVersion, namespace and name must agree. */
  private checkBody(def: ResourceDef, namespace: string, body: Json, name: string | undefined): JsonObject {
    if (!isObject(body)) throw errors.badRequest("the request body must be a JSON or YAML object");
    const obj = body;
    const gv = groupVersionOf(def);
    if (obj["apiVersion"] === undefined) obj["apiVersion"] = gv;
    if (obj["kind"] === undefined) obj["kind"] = def.kind;
    if (obj["apiVersion"] !== gv || obj["kind"] !== def.kind) {
      throw errors.badRequest(
        `the API version in the data (${text(obj["apiVersion"])}) and kind (${text(obj["kind"])}) do not match the resource ${def.resource} of ${gv} (kind ${def.kind})`,
      );
    }
    if (obj["metadata"] !== undefined && !isObject(obj["metadata"]))
      throw errors.badRequest("metadata must be an object");
    const meta = metaOf(obj);
    if (def.namespaced) {
      if (meta["namespace"] === undefined || meta["namespace"] === "") meta["namespace"] = namespace;
      else if (meta["namespace"] !== namespace) {
        throw errors.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
    } else delete meta["namespace"];
    if (name !== undefined) {
      if (meta["name"] === undefined || meta["name"] === "") meta["name"] = name;
      else if (meta["name"] !== name) {
        throw errors.badRequest(
          `the name of the object (${text(meta["name"])}) does not match the name on the URL (${name})`,
        );
      }
    }
    return obj;
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
    this.checkFields(def, body, ctx, `${def.namespaced ? namespace : ""}/${name}`);
    const config = this.checkBody(def, namespace, body, name);
    const cmeta = metaOf(config);
    const rv = cmeta["resourceVersion"];
    if (rv !== undefined && rv !== "" && (old === undefined || this.preconditionFails(rv, old))) {
      throw this.staleConflict(def, name);
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
    if (conflicts.length > 0 && !force) throw this.applyConflict(def, name, conflicts);
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

  private applyConflict(
    def: ResourceDef,
    name: string,
    conflicts: { entry: ManagedEntry; paths: string[][] }[],
  ): ApiError {
    const total = conflicts.reduce((n, c) => n + c.paths.length, 0);
    const causes: StatusCause[] = [];
    const parts: string[] = [];
    for (const c of conflicts) {
      const who = `${JSON.stringify(c.entry.manager)} using ${c.entry.apiVersion}`;
      const fields = c.paths.map(pathString);
      for (const f of fields)
        causes.push({ type: "FieldManagerConflict", message: `conflict with ${who}`, field: f });
      parts.push(
        fields.length === 1
          ? `conflict with ${who}: ${fields[0] ?? ""}`
          : `conflicts with ${who}:\n- ${fields.join("\n- ")}`,
      );
    }
    const message = `Apply failed with ${total} conflict${total === 1 ? "" : "s"}: ${parts.join("\n")}`;
    return errors.conflict({ group: def.group, resource: def.resource, name }, message, causes);
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

    if (how.kind === "update") {
      const given = fmeta["managedFields"];
      const oldManaged = old === undefined ? undefined : metaOf(old)["managedFields"];
      if (given !== undefined && given !== null && !jsonEqual(given, oldManaged ?? null)) {
        // A client that sends managedFields replaces them (kubectl does so to migrate client-side apply).
        fmeta["managedFields"] = encodeManaged(decodeManaged(next));
      } else {
        const entries = decodeManaged(old);
        const after = trackable(next);
        const changed = changedSet(old === undefined ? undefined : trackable(old), after, def.schema);
        const manager = managerFrom(ctx);
        if (changed.size > 0) {
          for (const e of entries) e.set = subtract(e.set, changed);
          const mine = entries.find(
            (e) => e.manager === manager && e.operation === "Update" && e.subresource === sub,
          );
          if (mine !== undefined) {
            mine.set = union(mine.set, changed);
            mine.time = now();
          } else {
            entries.push({
              manager,
              operation: "Update",
              apiVersion: groupVersionOf(def),
              time: now(),
              subresource: sub,
              set: changed,
            });
          }
          const full = setOf(after, def.schema);
          for (const e of entries) e.set = intersect(e.set, full);
        }
        fmeta["managedFields"] = encodeManaged(entries);
      }
    }
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
    if (def.group === "apiextensions.k8s.io" && def.kind === "CustomResourceDefinition")
      this.prepareCrd(next, old);
    ctx.admit?.({ def, namespace: ns, old, next, subresource: sub });

    if (
      old !== undefined &&
      metaOf(old)["deletionTimestamp"] !== undefined &&
      strings(fmeta["finalizers"]).length === 0
    ) {
      // The last finalizer is gone from an object being deleted: it goes now.
      if (!ctx.dryRun) this.removeNow(def, ns, name);
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
      for (const d of this.defsOfCrd(text(metaOf(obj)["name"])))
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

  private defsOfCrd(crdName: string): ResourceDef[] {
    return this.catalog.all().filter((d) => d.crd === crdName);
  }

  private prepareCrd(crd: JsonObject, old: JsonObject | undefined): void {
    const spec = isObject(crd["spec"]) ? crd["spec"] : {};
    const names = isObject(spec["names"]) ? spec["names"] : {};
    const group = spec["group"];
    const causes: StatusCause[] = [];
    if (typeof group !== "string" || group === "")
      causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.group" });
    if (typeof names["plural"] !== "string")
      causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.names.plural" });
    if (typeof names["kind"] !== "string")
      causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.names.kind" });
    const name = text(metaOf(crd)["name"]);
    if (causes.length === 0 && name !== `${text(names["plural"])}.${text(group)}`) {
      causes.push({
        type: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group`,
        field: "metadata.name",
      });
    }
    const versions = Array.isArray(spec["versions"]) ? spec["versions"] : [];
    if (versions.length === 0)
      causes.push({ type: "FieldValueRequired", message: "Required value", field: "spec.versions" });
    if (causes.length > 0)
      throw errors.invalid(
        "CustomResourceDefinition",
        { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name },
        causes,
      );
    const storage = versions.find((v) => isObject(v) && v["storage"] === true);
    // As the CRD controller: a condition's lastTransitionTime moves only when it transitions, so an apply
    // that changes nothing stores nothing (same resourceVersion) once the names were accepted.
    const oldStatus = old !== undefined && isObject(old["status"]) ? old["status"] : undefined;
    const oldConditions = Array.isArray(oldStatus?.["conditions"]) ? oldStatus["conditions"] : [];
    const since = isObject(oldConditions[0]) ? oldConditions[0]["lastTransitionTime"] : undefined;
    const t =
      typeof since === "string" && jsonEqual(oldStatus?.["acceptedNames"] ?? null, names) ? since : now();
    crd["status"] = {
      acceptedNames: names,
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          lastTransitionTime: t,
          reason: "NoConflicts",
          message: "no conflicts found",
        },
        {
          type: "Established",
          status: "True",
          lastTransitionTime: t,
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        },
      ],
      storedVersions: isObject(storage) && typeof storage["name"] === "string" ? [storage["name"]] : [],
    };
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

  // ---- deletion ----------------------------------------------------------------------------------

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
    const stored = this.getStored(def, ns, name);
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
    if (pre?.resourceVersion !== undefined && this.hooks.conflictFault()) throw this.staleConflict(def, name);
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
      this.store.put(grOf(def), marked);
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
      this.store.put("/namespaces", marked);
    }
    const system: WriteContext = {
      user: { name: "system:serviceaccount:kube-system:namespace-controller", groups: [] },
      dryRun: false,
      fieldManager: undefined,
      userAgent: "",
    };
    for (const def of this.catalog.all()) {
      if (!def.namespaced || def.createOnly) continue;
      for (const s of this.store.list(grOf(def), name)) {
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
    const d = this.catalog.find("", "v1", "namespaces");
    if (d === undefined) throw errors.internal("namespaces are not served");
    return d;
  }

  private namespaceEmpty(name: string): boolean {
    for (const def of this.catalog.all()) {
      if (def.namespaced && this.store.list(grOf(def), name).length > 0) return false;
    }
    return true;
  }

  private orphanDependents(uid: string): void {
    for (const ref of [...(this.dependents.get(uid) ?? [])]) {
      const [gr = "", ns = "", name = ""] = ref.split("\0");
      const s = this.store.get(gr, ns, name);
      if (s === undefined) continue;
      const obj = clone(s.obj);
      const m = metaOf(obj);
      const refs = Array.isArray(m["ownerReferences"]) ? m["ownerReferences"] : [];
      m["ownerReferences"] = refs.filter((r) => !(isObject(r) && r["uid"] === uid));
      if (m["ownerReferences"].length === 0) delete m["ownerReferences"];
      this.store.put(gr, obj);
      this.index(gr, s.obj, obj);
    }
  }

  /** Deletes the dependents of a removed owner that have no other owner left (the garbage collector). */
  private deleteDependents(uid: string): void {
    const deps = this.dependents.get(uid);
    this.dependents.delete(uid);
    if (deps === undefined) return;
    const system: WriteContext = {
      user: { name: "system:serviceaccount:kube-system:generic-garbage-collector", groups: [] },
      dryRun: false,
      fieldManager: undefined,
      userAgent: "",
    };
    for (const ref of deps) {
      const [gr = "", ns = "", name = ""] = ref.split("\0");
      const s = this.store.get(gr, ns, name);
      if (s === undefined) continue;
      const others = ownerUids(s.obj).filter((o) => o !== uid && this.uids.has(o));
      if (others.length > 0) continue;
      const def = this.catalog.all().find((d) => grOf(d) === gr);
      if (def === undefined) continue;
      try {
        this.delete(def, ns, name, {}, system);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
  }

  /** Removes an object from the store now, with everything that follows from it. */
  private removeNow(def: ResourceDef, ns: string, name: string): JsonObject | undefined {
    const gr = grOf(def);
    const gone = this.store.remove(gr, ns, name);
    if (gone === undefined) return undefined;
    const meta = metaOf(gone.obj);
    const uid = text(meta["uid"]);
    this.uids.delete(uid);
    for (const o of ownerUids(gone.obj)) this.dependents.get(o)?.delete(`${gr}\0${ns}\0${name}`);
    const timer = this.readinessTimers.get(`${gr}\0${ns}\0${name}`);
    if (timer !== undefined) clearTimeout(timer);
    if (def.group === "apiextensions.k8s.io" && def.kind === "CustomResourceDefinition") {
      for (const d of this.defsOfCrd(name)) {
        this.catalog.remove(d.group, d.version, d.resource);
        this.store.dropTable(grOf(d));
      }
      this.hooks.catalogChanged();
    }
    this.deleteDependents(uid);
    if (ns !== "") {
      const nsObj = this.store.get("/namespaces", "", ns);
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

/** Whether a patch sets metadata.resourceVersion, which makes it a write under that precondition. */
function namesResourceVersion(type: PatchType, patch: Json): boolean {
  if (type === "json") {
    return (
      Array.isArray(patch) &&
      patch.some(
        (op) =>
          isObject(op) &&
          (op["op"] === "add" || op["op"] === "replace" || op["op"] === "test") &&
          op["path"] === "/metadata/resourceVersion",
      )
    );
  }
  const meta = isObject(patch) ? patch["metadata"] : undefined;
  const rv = isObject(meta) ? meta["resourceVersion"] : undefined;
  return typeof rv === "string" && rv !== "";
}

function keyFor(obj: JsonObject): string {
  const m = metaOf(obj);
  return `${typeof m["namespace"] === "string" ? m["namespace"] : ""}/${text(m["name"])}`;
}

function strings(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function ownerUids(obj: JsonObject): string[] {
  const refs = metaOf(obj)["ownerReferences"];
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r) => (isObject(r) && typeof r["uid"] === "string" ? [r["uid"]] : []));
}

function stripRv(obj: JsonObject): JsonObject {
  const c: JsonObject = { ...obj, metadata: { ...metaOf(obj) } };
  const m = c["metadata"] as JsonObject;
  delete m["resourceVersion"];
  // Only the times of managed fields changing is no change: the object keeps its resourceVersion.
  const mf = m["managedFields"];
  if (Array.isArray(mf)) m["managedFields"] = mf.map((e) => (isObject(e) ? { ...e, time: null } : e));
  return c;
}

/** Whether anything but metadata and status changed (generation counts spec changes). */
function specChanged(old: JsonObject, next: JsonObject): boolean {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  for (const k of keys) {
    if (k === "metadata" || k === "status" || k === "apiVersion" || k === "kind") continue;
    if (!jsonEqual(old[k], next[k])) return true;
  }
  return false;
}

/** A path as a field set with one leaf. */
function pathSet(path: readonly string[]): FieldSet {
  const root: FieldSet = new Map();
  let node = root;
  for (const p of path) {
    const child: FieldSet = new Map();
    node.set(p, child);
    node = child;
  }
  return root;
}

function convertStringData(secret: JsonObject): void {
  const sd = secret["stringData"];
  const data = isObject(secret["data"]) ? secret["data"] : {};
  if (isObject(sd)) {
    for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(text(v), "utf8").toString("base64");
    delete secret["stringData"];
  }
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw errors.badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${k}`,
      );
    }
  }
  if (Object.keys(data).length > 0) secret["data"] = data;
  secret["type"] ??= "Opaque";
}

/** The status a controller would write once a workload's pods are all ready (or its job completed). */
function readyStatus(kind: string, obj: JsonObject): JsonObject {
  const meta = metaOf(obj);
  const spec = isObject(obj["spec"]) ? obj["spec"] : {};
  const gen = meta["generation"] ?? 1;
  const replicas = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
  const t = now();
  switch (kind) {
    case "Deployment":
      return {
        observedGeneration: gen,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          {
            type: "Available",
            status: "True",
            lastUpdateTime: t,
            lastTransitionTime: t,
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
          },
          {
            type: "Progressing",
            status: "True",
            lastUpdateTime: t,
            lastTransitionTime: t,
            reason: "NewReplicaSetAvailable",
            message: `ReplicaSet "${text(meta["name"])}" has successfully progressed.`,
          },
        ],
      };
    case "StatefulSet":
      return {
        observedGeneration: gen,
        replicas,
        readyReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        currentRevision: `${text(meta["name"])}-${text(gen)}`,
        updateRevision: `${text(meta["name"])}-${text(gen)}`,
        collisionCount: 0,
      };
    case "DaemonSet":
      return {
        observedGeneration: gen,
        currentNumberScheduled: 1,
        desiredNumberScheduled: 1,
        numberAvailable: 1,
        numberMisscheduled: 0,
        numberReady: 1,
        updatedNumberScheduled: 1,
      };
    default: {
      const completions = typeof spec["completions"] === "number" ? spec["completions"] : 1;
      return {
        startTime: t,
        completionTime: t,
        succeeded: completions,
        active: 0,
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          {
            type: "SuccessCriteriaMet",
            status: "True",
            lastProbeTime: t,
            lastTransitionTime: t,
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
          },
          {
            type: "Complete",
            status: "True",
            lastProbeTime: t,
            lastTransitionTime: t,
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
          },
        ],
      };
    }
  }
}
