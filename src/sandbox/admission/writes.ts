// The HTTP handlers' side of admission: each write verb of server.ts calls one of these with the Api call
// to make, and gets the Api's answer once admission allowed it (or the admission's refusal as ApiError).
import type { Api, ListOptions, WriteContext } from "../api.js";
import type { ResourceDef } from "../catalog.js";
import { isObject, text, type Json, type JsonObject } from "../fieldset.js";
import { metaOf } from "../store.js";
import { optionsFor, type Admission } from "./admit.js";

/** A create, update or patch (of an object or a subresource) under admission. */
export function admittedWrite<T>(
  admission: Admission,
  def: ResourceDef,
  ctx: WriteContext,
  op: "Create" | "Update" | "Patch",
  body: Json,
  write: (c: WriteContext, body: Json) => T,
): Promise<T> {
  if (!admission.active(def)) return Promise.resolve(write(ctx, body));
  const meta = isObject(body) && isObject(body["metadata"]) ? body["metadata"] : {};
  const named = op !== "Create" || (typeof meta["name"] === "string" && meta["name"] !== "");
  return admission.write(def, ctx, optionsFor(op, ctx.dryRun), named, (c, generated) => {
    // Api calls change the body they get: each pass starts from the request's own.
    const b = structuredClone(body);
    if (generated !== undefined && generated !== "" && !named && isObject(b)) {
      const m: JsonObject = isObject(b["metadata"]) ? b["metadata"] : {};
      m["name"] = generated;
      b["metadata"] = m;
    }
    return write(c, b);
  });
}

export function admittedDelete<T>(
  admission: Admission,
  def: ResourceDef,
  namespace: string,
  name: string,
  ctx: WriteContext,
  remove: () => T,
): Promise<T> {
  return admission.remove(def, namespace, name, ctx, optionsFor("Delete", ctx.dryRun), remove);
}

/** kube-apiserver admits a collection delete object by object. */
export async function admittedDeleteCollection(
  admission: Admission,
  api: Api,
  def: ResourceDef,
  namespace: string | undefined,
  opts: ListOptions,
  ctx: WriteContext,
): Promise<JsonObject[]> {
  if (!admission.active(def)) return api.deleteCollection(def, namespace, opts, ctx);
  const out: JsonObject[] = [];
  for (const s of api.list(def, namespace, { ...opts, limit: 0 }).items) {
    const m = metaOf(s.obj);
    const ns = text(m["namespace"] ?? "");
    const name = text(m["name"]);
    out.push(
      await admittedDelete(admission, def, ns, name, ctx, () => api.delete(def, ns, name, {}, ctx).obj),
    );
  }
  return out;
}
