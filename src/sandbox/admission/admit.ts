// The validating admission stage of the sandbox's writes, in kube-apiserver's order: after defaulting
// and validation, before storing: ValidatingAdmissionPolicies, then validating webhooks. Api writes are
// synchronous, so a write is first computed as a dry run to learn the object that would be stored, then
// admitted, then done for real; if the object changed in between, the write starts over (as etcd's
// GuaranteedUpdate retries).
import type { Api, WriteContext } from "../api.js";
import type { Catalog, ResourceDef } from "../catalog.js";
import { errors } from "../errors.js";
import { text, type JsonObject } from "../fieldset.js";
import { metaOf, type Store } from "../store.js";
import { scaleOf } from "../scale.js";
import {
  admissionRequest,
  isExempt,
  namespaceObjectOf,
  type AdmissionAttributes,
  type Operation,
} from "./match.js";
import { hasPolicies, runPolicies } from "./policy.js";
import { callWebhooks, hasWebhooks, type ServiceUrls } from "./webhook.js";

/** What Api.commit saw just before storing: the object that would be written and the one it replaces. */
export interface Pending {
  def: ResourceDef;
  namespace: string;
  old: JsonObject | undefined;
  next: JsonObject;
  subresource: string | undefined;
}

const ATTEMPTS = 5;

class Changed extends Error {}

export class Admission {
  constructor(
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly api: Api,
    readonly services: ServiceUrls,
  ) {}

  /** Whether anything could take part (so writes without any configuration keep their one pass). */
  active(def: ResourceDef): boolean {
    return !isExempt(def) && (hasWebhooks(this.store) || hasPolicies(this.store));
  }

  /** Runs policies, then webhooks; resolves with their warnings, rejects with the refusal. */
  async admit(a: AdmissionAttributes): Promise<string[]> {
    const vars: Record<string, unknown> = {
      object: a.object,
      oldObject: a.oldObject,
      request: admissionRequest(a, ""),
      namespaceObject: namespaceObjectOf(this.store, a),
      params: null,
    };
    const warnings = runPolicies(this.store, this.catalog, a, vars);
    warnings.push(...(await callWebhooks(this.store, this.services, a, vars)));
    return warnings;
  }

  /**
   * A create, update or patch under admission. `write` runs the Api call with the context given and, on
   * the real pass of a create, the name the admitted object had (a generateName keeps it). `named`: the
   * request named the object (not a create by generateName).
   */
  async write<T>(
    def: ResourceDef,
    ctx: WriteContext,
    options: JsonObject,
    named: boolean,
    write: (c: WriteContext, generatedName: string | undefined) => T,
  ): Promise<T> {
    if (!this.active(def)) return write(ctx, undefined);
    for (let attempt = 0; ; attempt++) {
      let seen: Pending | undefined;
      const dry: WriteContext = { ...ctx, dryRun: true, warnings: [], admit: (p) => (seen = p) };
      write(dry, undefined);
      if (seen === undefined) return write(ctx, undefined);
      const pending: Pending = seen;
      const warnings = await this.admit(this.attributesOf(pending, ctx, options, named));
      ctx.warnings?.push(...warnings);
      const generated = pending.old === undefined ? text(metaOf(pending.next)["name"]) : undefined;
      const real: WriteContext = {
        ...ctx,
        admit: (p) => {
          if (rvOf(p.old) !== rvOf(pending.old)) throw new Changed();
        },
      };
      try {
        return write(real, generated);
      } catch (err) {
        if (!(err instanceof Changed) || attempt + 1 >= ATTEMPTS) {
          if (err instanceof Changed)
            throw errors.conflict(
              { group: def.group, resource: def.resource },
              "the object kept changing while it was admitted; try again",
            );
          throw err;
        }
      }
    }
  }

  /** A delete under admission: the stored object is the oldObject; `remove` does the delete. */
  async remove<T>(
    def: ResourceDef,
    namespace: string,
    name: string,
    ctx: WriteContext,
    options: JsonObject,
    remove: () => T,
  ): Promise<T> {
    if (!this.active(def)) return remove();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const old = this.api.getStored(def, namespace, name).obj;
      const warnings = await this.admit({
        def,
        operation: "DELETE",
        namespace: def.namespaced ? namespace : "",
        name,
        subresource: "",
        kind: kindOf(def),
        object: null,
        oldObject: old,
        user: ctx.user,
        dryRun: ctx.dryRun,
        options,
      });
      if (rvOf(this.api.getStored(def, namespace, name).obj) !== rvOf(old)) continue;
      ctx.warnings?.push(...warnings);
      return remove();
    }
    throw errors.conflict(
      { group: def.group, resource: def.resource, name },
      "the object kept changing while it was admitted; try again",
    );
  }

  private attributesOf(
    p: Pending,
    ctx: WriteContext,
    options: JsonObject,
    named: boolean,
  ): AdmissionAttributes {
    const sub = p.subresource ?? "";
    const operation: Operation = p.old === undefined ? "CREATE" : "UPDATE";
    const scale = sub === "scale";
    const as = (o: JsonObject | undefined): JsonObject | null =>
      o === undefined ? null : scale ? scaleOf(p.def, o) : o;
    // A create by generateName names nothing in the request; the object carries the generated name.
    const requestName = operation === "CREATE" && !named ? "" : text(metaOf(p.next)["name"]);
    return {
      def: p.def,
      operation,
      namespace: p.def.namespaced ? p.namespace : "",
      name: requestName,
      subresource: sub,
      kind: scale ? { group: "autoscaling", version: "v1", kind: "Scale" } : kindOf(p.def),
      object: as(p.next),
      oldObject: as(p.old),
      user: ctx.user,
      dryRun: ctx.dryRun,
      options: { ...options, ...(ctx.fieldManager === undefined ? {} : { fieldManager: ctx.fieldManager }) },
    };
  }
}

const kindOf = (def: ResourceDef): { group: string; version: string; kind: string } => ({
  group: def.group,
  version: def.version,
  kind: def.kind,
});

const rvOf = (o: JsonObject | undefined): string =>
  o === undefined ? "" : text(metaOf(o)["resourceVersion"]);

/** The options object of an AdmissionRequest for an operation. */
export function optionsFor(op: "Create" | "Update" | "Patch" | "Delete", dryRun: boolean): JsonObject {
  const out: JsonObject = { kind: `${op}Options`, apiVersion: "meta.k8s.io/v1" };
  if (dryRun) out["dryRun"] = ["All"];
  return out;
}
