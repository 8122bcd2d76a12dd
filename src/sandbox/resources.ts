// Requests for resources: the URL parsed into a route, the verb authorized (RBAC), then get, list, watch,
// create, update, patch, delete and deletecollection handed to api.ts through admission, and the answer
// written as an object, a Table or PartialObjectMetadata.
import type http from "node:http";
import type { Catalog, ResourceDef } from "./catalog.js";
import { groupVersionOf } from "./catalog.js";
import type { WriteContext } from "./api.js";
import { errors } from "./errors.js";
import { text, type JsonObject } from "./fieldset.js";
import { authorize, type Attributes, type UserInfo } from "./rbac.js";
import { jsonOf, metadataJsonOf, metaOf } from "./store.js";
import { toTable, type IncludeObject } from "./table.js";
import { fieldValidationOf } from "./field-validation.js";
import { admittedWrite, admittedDelete, admittedDeleteCollection } from "./admission/writes.js";
import { scaleOf } from "./scale.js";
import { deleteOptions, listOptions, parseBody, patchType, readBody, sendJson, sendRaw } from "./http-io.js";
import { review, tokenRequest } from "./reviews.js";
import type { ServerParts } from "./server-parts.js";
import { serveWatch } from "./watch.js";

export interface Route {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  watch: boolean;
}

export function parseRoute(catalog: Catalog, seg: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === "api" && seg[1] === "v1") {
    group = "";
    version = "v1";
    rest = seg.slice(2);
  } else if (seg[0] === "apis" && seg.length >= 4) {
    group = seg[1] ?? "";
    version = seg[2] ?? "";
    rest = seg.slice(3);
  } else return undefined;
  let watch = false;
  if (rest[0] === "watch") {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    !(rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const def = catalog.find(group, version, rest[0] ?? "");
  if (def === undefined) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  return { def, namespace, name: rest[1], sub: rest[2], watch };
}

export async function serveResource(
  parts: ServerParts,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  route: Route,
  user: UserInfo,
  method: string,
  accept: string,
): Promise<void> {
  const q = url.searchParams;
  const { def, name, sub } = route;
  const namespace = route.namespace;
  const watch = route.watch || q.get("watch") === "true" || q.get("watch") === "1";
  let verb: string;
  switch (method) {
    case "GET":
      verb = watch ? "watch" : name === undefined ? "list" : "get";
      break;
    case "POST":
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = name === undefined ? "deletecollection" : "delete";
      break;
    default:
      throw errors.methodNotAllowed(method);
  }
  if (def.createOnly && verb !== "create") throw errors.methodNotAllowed(method);
  if (name === undefined && (verb === "update" || verb === "patch")) throw errors.methodNotAllowed(method);
  if (name !== undefined && verb === "create" && sub === undefined) throw errors.methodNotAllowed(method);
  if (def.namespaced && namespace === undefined && !["list", "watch", "create"].includes(verb))
    throw errors.notFoundPath();
  if (def.namespaced && namespace === undefined && verb === "create" && !def.createOnly)
    throw errors.notFoundPath();
  const attrs: Attributes = { verb, resourceRequest: true, apiGroup: def.group, resource: def.resource };
  if (sub !== undefined) attrs.subresource = sub;
  if (namespace !== undefined) attrs.namespace = namespace;
  if (name !== undefined) attrs.name = name;
  if (verb === "watch" || verb === "list") {
    const byName = /(?:^|,)metadata\.name=([^,]+)/.exec(q.get("fieldSelector") ?? "");
    if (byName?.[1] !== undefined) attrs.name = byName[1];
  }
  const decision = authorize(parts.store, user, attrs);
  if (!decision.allowed) {
    throw errors.forbidden(
      user.name,
      verb,
      {
        group: def.group,
        resource: sub === undefined ? def.resource : `${def.resource}/${sub}`,
        ...(name === undefined ? {} : { name }),
      },
      namespace,
    );
  }

  const ns = namespace ?? "";
  const asTable = accept.includes("as=Table");
  const asMeta = accept.includes("as=PartialObjectMetadata");
  const include = (q.get("includeObject") ?? "Metadata") as IncludeObject;
  const dryRun = q.getAll("dryRun").includes("All");
  if (q.getAll("dryRun").some((d) => d !== "All")) throw errors.badRequest("dryRun: only All is supported");
  const fieldValidation = fieldValidationOf(q.get("fieldValidation"));
  if (fieldValidation === undefined) {
    throw errors.badRequest(
      `fieldValidation: Unsupported value: ${JSON.stringify(q.get("fieldValidation"))}: supported values: "Ignore", "Strict", "Warn"`,
    );
  }
  const warnings: string[] = [];
  const ctx: WriteContext = {
    user,
    dryRun,
    fieldManager: q.get("fieldManager") ?? undefined,
    userAgent: req.headers["user-agent"] ?? "",
    fieldValidation,
    warnings,
  };
  const body = method === "GET" ? undefined : await readBody(req);
  const sendObject = (code: number, obj: JsonObject): void => {
    if (warnings.length > 0)
      res.setHeader(
        "Warning",
        warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
    if (asTable && !sub) {
      sendJson(res, code, toTable(def, [obj], text(metaOf(obj)["resourceVersion"] ?? ""), include));
      return;
    }
    if (asMeta) {
      sendJson(res, code, {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: metaOf(obj),
      });
      return;
    }
    // The stored object's JSON is cached for lists and watches: make it once, here.
    const stored = parts.store.get(
      `${def.group}/${def.resource}`,
      def.namespaced ? ns : "",
      text(metaOf(obj)["name"]),
    );
    if (stored?.obj === obj) {
      sendRaw(res, code, jsonOf(stored));
      return;
    }
    sendJson(res, code, obj);
  };

  if (def.createOnly) {
    sendJson(res, 201, review(parts, def, ns, parseBody(req, body, false), user));
    return;
  }
  if (sub !== undefined && !def.subresources.includes(sub)) throw errors.notFoundPath();

  switch (verb) {
    case "get": {
      const stored = parts.api.getStored(def, ns, name ?? "");
      if (sub === "scale") {
        sendJson(res, 200, scaleOf(def, stored.obj));
        return;
      }
      if (!asTable && !asMeta) {
        sendRaw(res, 200, jsonOf(stored));
        return;
      }
      sendObject(200, stored.obj);
      return;
    }
    case "list": {
      const opts = listOptions(q);
      const result = parts.api.list(def, namespace, opts);
      const extra: JsonObject = {};
      if (result.continueToken !== undefined) extra["continue"] = result.continueToken;
      if (result.remaining !== undefined) extra["remainingItemCount"] = result.remaining;
      if (asTable) {
        sendJson(
          res,
          200,
          toTable(
            def,
            result.items.map((s) => s.obj),
            result.resourceVersion,
            include,
            extra,
          ),
        );
        return;
      }
      const listKind = asMeta ? "PartialObjectMetadataList" : `${def.kind}List`;
      const listApi = asMeta ? "meta.k8s.io/v1" : groupVersionOf(def);
      const meta = JSON.stringify({ resourceVersion: result.resourceVersion, ...extra });
      const items = result.items.map(asMeta ? metadataJsonOf : jsonOf);
      sendRaw(
        res,
        200,
        `{"kind":"${listKind}","apiVersion":"${listApi}","metadata":${meta},"items":[${items.join(",")}]}`,
      );
      return;
    }
    case "watch": {
      serveWatch(parts, req, res, def, namespace, q, asTable, include);
      return;
    }
    case "create": {
      if (sub === "token") {
        sendJson(res, 201, tokenRequest(parts, ns, name ?? "", parseBody(req, body, false), dryRun));
        return;
      }
      const given = parseBody(req, body, false);
      const obj = await admittedWrite(parts.admission, def, ctx, "Create", given, (c, b) =>
        parts.api.create(def, ns, b, c),
      );
      sendObject(201, obj);
      return;
    }
    case "update": {
      const given = parseBody(req, body, false);
      const obj = await admittedWrite(parts.admission, def, ctx, "Update", given, (c, b) =>
        parts.api.update(def, ns, name ?? "", b, c, sub),
      );
      sendObject(200, obj);
      return;
    }
    case "patch": {
      const type = patchType(req.headers["content-type"]);
      const patch = parseBody(req, body, type === "apply");
      const force = q.get("force") === "true";
      if (force && type !== "apply") throw errors.badRequest("force is only allowed for apply patches");
      const r = await admittedWrite(parts.admission, def, ctx, "Patch", patch, (c, p) =>
        parts.api.patch(def, ns, name ?? "", type, p, c, sub, force),
      );
      sendObject(r.created ? 201 : 200, r.obj);
      return;
    }
    case "delete": {
      const opts = deleteOptions(req, body, q);
      const r = await admittedDelete(parts.admission, def, ns, name ?? "", ctx, () =>
        parts.api.delete(def, ns, name ?? "", opts, ctx),
      );
      if (r.removed && !dryRun) {
        sendJson(res, 200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: {
            name: name ?? "",
            group: def.group,
            kind: def.resource,
            uid: metaOf(r.obj)["uid"] ?? "",
          },
        });
        return;
      }
      sendObject(r.removed ? 200 : 202, r.obj);
      return;
    }
    case "deletecollection": {
      const items = await admittedDeleteCollection(
        parts.admission,
        parts.api,
        def,
        namespace,
        listOptions(q),
        ctx,
      );
      sendJson(res, 200, {
        kind: `${def.kind}List`,
        apiVersion: groupVersionOf(def),
        metadata: { resourceVersion: text(parts.store.resourceVersion) },
        items,
      });
      return;
    }
  }
  throw errors.methodNotAllowed(method);
}
