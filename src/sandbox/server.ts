// `startSandbox`: a Kubernetes API server for tests and trials, on Node's http module. It authenticates
// bearer tokens, applies impersonation and RBAC, routes discovery, OpenAPI and resource requests to
// api.ts, streams watches, and injects faults (latency, 500/429/409 answers, dropped watches) on request.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { Api, type PatchType, type Readiness, type WriteContext } from "./api.js";
import { scaleOf } from "./scale.js";
import { serviceAccountUser, Tokens } from "./auth.js";
import { Catalog, groupVersionOf, type ResourceDef } from "./catalog.js";
import {
  aggregated,
  apiGroup,
  apiGroupList,
  apiVersions,
  openApiV2Doc,
  openApiV3Doc,
  openApiV3Index,
  resourceList,
  version,
} from "./discovery.js";
import { ApiError, errors } from "./errors.js";
import { isObject, text, type Json, type JsonObject } from "./fieldset.js";
import { authorize, defaultRbacObjects, rulesFor, type Attributes, type UserInfo } from "./rbac.js";
import { combine, fieldSelector, labelSelector } from "./selectors.js";
import { jsonOf, metadataJsonOf, metaOf, Store, type StoreEvent } from "./store.js";
import { toTable, type IncludeObject } from "./table.js";
import { decodeProtobuf } from "./protobuf.js";
import { fieldValidationOf } from "./field-validation.js";
import { checkJsonTextNesting, checkValueNesting, checkYamlTextNesting } from "./nesting.js";
import { servingCert } from "./tls.js";
import { Admission } from "./admission/admit.js";
import { admittedWrite, admittedDelete, admittedDeleteCollection } from "./admission/writes.js";

export interface Faults {
  /** Added to every API request, in milliseconds. */
  latencyMs?: number;
  /** Share of API requests (0..1) answered 500 InternalError. */
  errorRate?: number;
  /** Share of API requests (0..1) answered 429 TooManyRequests with Retry-After. */
  throttleRate?: number;
  /**
   * Share of writes with a resourceVersion precondition (0..1) answered 409 Conflict although the version
   * is current, as if another writer had got there first: an update or patch naming
   * metadata.resourceVersion, a delete with preconditions.resourceVersion. Nothing is written and the
   * object is left as it is, so the 409 says only that the write did not happen (no competing write, and
   * no watch event, is simulated). Writes without such a precondition are never hit.
   */
  conflictRate?: number;
  /** Watches are cut (the connection dropped, no final event) after this many milliseconds. */
  dropWatchesAfterMs?: number;
}

export interface SandboxOptions {
  /** 0 or unset: a free port chosen by the system. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Objects are kept here and survive a restart. */
  dataDir?: string;
  /** When workloads report ready (default after 0 ms); "never" keeps them unready. */
  readiness?: Readiness;
  faults?: Faults;
  /** The admin token (default: random, or the one kept in dataDir). */
  adminToken?: string;
  /** How often a watch that asked for bookmarks gets one (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** How many change events are kept for watches that resume from a resourceVersion (default 50,000). */
  watchHistory?: number;
  /**
   * Where admission webhooks' `clientConfig.service` references are served, since the sandbox has no
   * cluster network: "namespace/name" (or "namespace/name:port") → base URL such as https://127.0.0.1:8443.
   * The call goes to that URL plus service.path, verifying the certificate for `name.namespace.svc`.
   */
  webhookServices?: Record<string, string>;
}

export interface MintOptions {
  groups?: string[];
  expirationSeconds?: number;
}

export interface Sandbox {
  url: string;
  /** PEM of the self-signed serving certificate (the CA to trust). */
  caPem: string;
  /** A kubeconfig (YAML) for the admin user, whose token is a member of system:masters. */
  kubeconfig: string;
  adminToken: string;
  writeKubeconfig(file: string): Promise<void>;
  stop(): Promise<void>;
  /** Replaces the fault settings (an empty object turns faults off). */
  setFaults(faults: Faults): void;
  /** Cuts every open watch connection now; returns how many were cut. */
  dropWatches(): number;
  setReadiness(readiness: Readiness): void;
  /** A token for any user name and groups (system:authenticated is added). */
  mintToken(user: string, options?: MintOptions): string;
  /** A token for an existing service account, as the TokenRequest API would issue. */
  serviceAccountToken(namespace: string, name: string, options?: { expirationSeconds?: number }): string;
  /** A kubeconfig (YAML) that uses another token. */
  kubeconfigFor(token: string, user?: string): string;
  /** Sets (or with undefined removes) the base URL of a webhook service, as the webhookServices option. */
  setWebhookService(service: string, url: string | undefined): void;
}

const MAX_BODY = 3 * 1024 * 1024;
const JSON_TYPE = "application/json";

interface Route {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  sub: string | undefined;
  watch: boolean;
}

interface ActiveWatch {
  res: http.ServerResponse;
  end(): void;
}

export function kubeconfigYaml(url: string, caPem: string, token: string, user = "admin"): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: gitward-sandbox",
    "    cluster:",
    `      server: ${url}`,
    `      certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
    "contexts:",
    "  - name: gitward-sandbox",
    "    context:",
    "      cluster: gitward-sandbox",
    `      user: ${JSON.stringify(user)}`,
    "      namespace: default",
    "current-context: gitward-sandbox",
    "preferences: {}",
    "users:",
    `  - name: ${JSON.stringify(user)}`,
    "    user:",
    `      token: ${JSON.stringify(token)}`,
    "",
  ].join("\n");
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? "127.0.0.1";
  const store = new Store(options.dataDir, options.watchHistory);
  const catalog = new Catalog();
  let discoveryCache = new Map<string, string>();
  let faults: Faults = { ...options.faults };
  const api = new Api(store, catalog, options.readiness ?? { delayMs: 0 }, {
    catalogChanged: () => {
      discoveryCache = new Map();
    },
    conflictFault: () => faults.conflictRate !== undefined && Math.random() < faults.conflictRate,
  });
  const admission = new Admission(
    store,
    catalog,
    api,
    new Map(Object.entries(options.webhookServices ?? {})),
  );
  const tokens = new Tokens();
  const bookmarkMs = options.bookmarkIntervalMs ?? 1000;
  const watches = new Set<ActiveWatch>();

  const loaded = await store.load();
  if (loaded) {
    tokens.restore(store.extra["tokens"]);
    api.afterLoad();
  } else bootstrap(api, catalog);
  store.extra = {
    get tokens() {
      return tokens.toJSON();
    },
  };

  const adminToken = options.adminToken ?? (await adminTokenFor(options.dataDir));
  tokens.register(adminToken, {
    user: { name: "admin", groups: ["system:masters", "system:authenticated"] },
  });

  const tls = await servingCert(host, options.dataDir);
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      sendError(
        res,
        err instanceof ApiError ? err : errors.internal(err instanceof Error ? err.message : String(err)),
      );
    });
  });
  server.keepAliveTimeout = 60_000;

  function authenticate(req: http.IncomingMessage): UserInfo {
    const h = req.headers.authorization;
    if (h === undefined || !h.startsWith("Bearer ")) throw errors.unauthorized();
    const entry = tokens.lookup(h.slice(7).trim());
    if (entry === undefined) throw errors.unauthorized();
    if (entry.serviceAccount !== undefined) {
      // A service-account token dies with its account (a new account of the same name has a new uid).
      const sa = store.get("/serviceaccounts", entry.serviceAccount.namespace, entry.serviceAccount.name);
      if (sa === undefined || metaOf(sa.obj)["uid"] !== entry.serviceAccount.uid) throw errors.unauthorized();
    }
    return entry.user;
  }

  function impersonate(req: http.IncomingMessage, user: UserInfo): UserInfo {
    const asUser = header(req, "impersonate-user");
    const asGroups = headerList(req, "impersonate-group");
    const asUid = header(req, "impersonate-uid");
    const extras = Object.keys(req.headers).filter((h) => h.startsWith("impersonate-extra-"));
    if (asUser === undefined) {
      if (asGroups.length > 0 || asUid !== undefined || extras.length > 0) {
        throw errors.badRequest(
          "requested impersonation of groups or extra fields without impersonating a user",
        );
      }
      return user;
    }
    const check = (a: Attributes, what: { group: string; resource: string; name: string }): void => {
      if (!authorize(store, user, a).allowed)
        throw errors.forbidden(user.name, "impersonate", what, a.namespace);
    };
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
    if (sa !== null) {
      const [, ns = "", name = ""] = sa;
      check(
        {
          verb: "impersonate",
          resourceRequest: true,
          apiGroup: "",
          resource: "serviceaccounts",
          namespace: ns,
          name,
        },
        { group: "", resource: "serviceaccounts", name },
      );
    } else {
      check(
        { verb: "impersonate", resourceRequest: true, apiGroup: "", resource: "users", name: asUser },
        { group: "", resource: "users", name: asUser },
      );
    }
    for (const g of asGroups) {
      check(
        { verb: "impersonate", resourceRequest: true, apiGroup: "", resource: "groups", name: g },
        { group: "", resource: "groups", name: g },
      );
    }
    if (asUid !== undefined) {
      check(
        {
          verb: "impersonate",
          resourceRequest: true,
          apiGroup: "authentication.k8s.io",
          resource: "uids",
          name: asUid,
        },
        { group: "authentication.k8s.io", resource: "uids", name: asUid },
      );
    }
    const extra: Record<string, string[]> = {};
    for (const h of extras) {
      const key = decodeURIComponent(h.slice("impersonate-extra-".length));
      const values = headerList(req, h);
      for (const v of values) {
        check(
          {
            verb: "impersonate",
            resourceRequest: true,
            apiGroup: "authentication.k8s.io",
            resource: "userextras",
            subresource: key,
            name: v,
          },
          { group: "authentication.k8s.io", resource: `userextras/${key}`, name: v },
        );
      }
      extra[key] = values;
    }
    let groups = asGroups;
    if (sa !== null && groups.length === 0) groups = serviceAccountUser(sa[1] ?? "", sa[2] ?? "").groups;
    else if (!groups.includes("system:authenticated") && asUser !== "system:anonymous")
      groups = [...groups, "system:authenticated"];
    const out: UserInfo = { name: asUser, groups };
    if (asUid !== undefined) out.uid = asUid;
    if (extras.length > 0) out.extra = extra;
    return out;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const p = url.pathname;
    if (p === "/healthz" || p === "/livez" || p === "/readyz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      return;
    }
    if (faults.latencyMs !== undefined && faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.errorRate !== undefined && Math.random() < faults.errorRate) {
      throw errors.internal(
        "an error on the server (injected fault) has prevented the request from succeeding",
      );
    }
    if (faults.throttleRate !== undefined && Math.random() < faults.throttleRate)
      throw errors.tooManyRequests();
    let user = authenticate(req);
    user = impersonate(req, user);
    const seg = p
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    const method = req.method ?? "GET";
    const accept = req.headers.accept ?? "";

    const nonResource = (): void => {
      const d = authorize(store, user, { verb: method.toLowerCase(), resourceRequest: false, path: p });
      if (!d.allowed)
        throw errors.forbiddenMessage(
          `forbidden: User ${JSON.stringify(user.name)} cannot ${method.toLowerCase()} path ${JSON.stringify(p)}`,
        );
      if (method !== "GET") throw errors.methodNotAllowed(method);
    };

    if (seg[0] === "version" && seg.length === 1) {
      nonResource();
      sendJson(res, 200, version());
      return;
    }
    if (seg[0] === "openapi") {
      nonResource();
      if (seg[1] === "v3" && seg.length === 2) {
        sendJson(res, 200, openApiV3Index(catalog));
        return;
      }
      if (seg[1] === "v2" && seg.length === 2) {
        // client-go asks for the protobuf form; JSON is what the sandbox has.
        if (accept.includes("protobuf") && !accept.includes("json")) throw errors.notAcceptable(accept);
        sendJson(res, 200, openApiV2Doc(catalog, crdSchema));
        return;
      }
      if (seg[1] === "v3") {
        const doc =
          seg[2] === "api" && seg.length === 4
            ? openApiV3Doc(catalog, "", seg[3] ?? "", crdSchema)
            : seg[2] === "apis" && seg.length === 5
              ? openApiV3Doc(catalog, seg[3] ?? "", seg[4] ?? "", crdSchema)
              : undefined;
        if (doc !== undefined) {
          sendJson(res, 200, doc);
          return;
        }
      }
      throw errors.notFoundPath();
    }
    const wantsAggregated = accept.includes("g=apidiscovery.k8s.io") && accept.includes("v=v2;");
    if (seg[0] === "api" && seg.length <= 2) {
      nonResource();
      if (seg.length === 1) {
        if (wantsAggregated) {
          sendCached(res, "agg-core", () => JSON.stringify(aggregated(catalog, true)), aggregatedType);
          return;
        }
        sendJson(res, 200, apiVersions());
        return;
      }
      if (seg[1] !== "v1") throw errors.notFoundPath();
      sendCached(res, "core-v1", () => JSON.stringify(resourceList(catalog, "", "v1")));
      return;
    }
    if (seg[0] === "apis" && seg.length <= 3) {
      nonResource();
      if (seg.length === 1) {
        if (wantsAggregated) {
          sendCached(res, "agg-apis", () => JSON.stringify(aggregated(catalog, false)), aggregatedType);
          return;
        }
        sendCached(res, "apis", () => JSON.stringify(apiGroupList(catalog)));
        return;
      }
      const g = apiGroup(catalog, seg[1] ?? "");
      if (g === undefined) throw errors.notFoundPath();
      if (seg.length === 2) {
        sendJson(res, 200, g);
        return;
      }
      if (catalog.inGroupVersion(seg[1] ?? "", seg[2] ?? "").length === 0) throw errors.notFoundPath();
      sendCached(res, `gv:${seg[1] ?? ""}/${seg[2] ?? ""}`, () =>
        JSON.stringify(resourceList(catalog, seg[1] ?? "", seg[2] ?? "")),
      );
      return;
    }
    const route = parseRoute(catalog, seg);
    if (route === undefined) throw errors.notFoundPath();
    await serveResource(req, res, url, route, user, method, accept);
  }

  const crdSchema = (def: ResourceDef): Json | undefined => api.crdSchema(def);

  const aggregatedType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
  function sendCached(res: http.ServerResponse, key: string, make: () => string, type = JSON_TYPE): void {
    let body = discoveryCache.get(key);
    if (body === undefined) {
      body = make();
      discoveryCache.set(key, body);
    }
    res.writeHead(200, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) }).end(body);
  }

  async function serveResource(
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
    const decision = authorize(store, user, attrs);
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
      const stored = store.get(
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
      sendJson(res, 201, review(def, ns, parseBody(req, body, false), user));
      return;
    }
    if (sub !== undefined && !def.subresources.includes(sub)) throw errors.notFoundPath();

    switch (verb) {
      case "get": {
        const stored = api.getStored(def, ns, name ?? "");
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
        const result = api.list(def, namespace, opts);
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
        serveWatch(req, res, def, namespace, q, asTable, include);
        return;
      }
      case "create": {
        if (sub === "token") {
          sendJson(res, 201, tokenRequest(ns, name ?? "", parseBody(req, body, false), dryRun));
          return;
        }
        const given = parseBody(req, body, false);
        const obj = await admittedWrite(admission, def, ctx, "Create", given, (c, b) =>
          api.create(def, ns, b, c),
        );
        sendObject(201, obj);
        return;
      }
      case "update": {
        const given = parseBody(req, body, false);
        const obj = await admittedWrite(admission, def, ctx, "Update", given, (c, b) =>
          api.update(def, ns, name ?? "", b, c, sub),
        );
        sendObject(200, obj);
        return;
      }
      case "patch": {
        const type = patchType(req.headers["content-type"]);
        const patch = parseBody(req, body, type === "apply");
        const force = q.get("force") === "true";
        if (force && type !== "apply") throw errors.badRequest("force is only allowed for apply patches");
        const r = await admittedWrite(admission, def, ctx, "Patch", patch, (c, p) =>
          api.patch(def, ns, name ?? "", type, p, c, sub, force),
        );
        sendObject(r.created ? 201 : 200, r.obj);
        return;
      }
      case "delete": {
        const opts = deleteOptions(req, body, q);
        const r = await admittedDelete(admission, def, ns, name ?? "", ctx, () =>
          api.delete(def, ns, name ?? "", opts, ctx),
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
        const items = await admittedDeleteCollection(admission, api, def, namespace, listOptions(q), ctx);
        sendJson(res, 200, {
          kind: `${def.kind}List`,
          apiVersion: groupVersionOf(def),
          metadata: { resourceVersion: text(store.resourceVersion) },
          items,
        });
        return;
      }
    }
    throw errors.methodNotAllowed(method);
  }

  function review(def: ResourceDef, ns: string, body: Json, user: UserInfo): JsonObject {
    if (!isObject(body)) throw errors.badRequest("the request body must be an object");
    const spec = isObject(body["spec"]) ? body["spec"] : {};
    const out: JsonObject = {
      kind: def.kind,
      apiVersion: groupVersionOf(def),
      metadata: { creationTimestamp: null },
      spec,
    };
    const access = (subject: UserInfo): JsonObject => {
      const ra = spec["resourceAttributes"];
      const na = spec["nonResourceAttributes"];
      let attrs: Attributes;
      if (isObject(ra)) {
        attrs = {
          verb: str(ra["verb"]),
          resourceRequest: true,
          apiGroup: str(ra["group"]),
          resource: str(ra["resource"]),
        };
        if (str(ra["subresource"]) !== "") attrs.subresource = str(ra["subresource"]);
        const rns = def.kind === "LocalSubjectAccessReview" ? ns : str(ra["namespace"]);
        if (rns !== "") attrs.namespace = rns;
        if (str(ra["name"]) !== "") attrs.name = str(ra["name"]);
      } else if (isObject(na)) {
        attrs = { verb: str(na["verb"]), resourceRequest: false, path: str(na["path"]) };
      } else
        throw errors.invalid(def.kind, { group: "authorization.k8s.io", resource: def.resource }, [
          {
            type: "FieldValueRequired",
            message:
              "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            field: "spec.resourceAttributes",
          },
        ]);
      const d = authorize(store, subject, attrs);
      return d.allowed ? { allowed: true, reason: d.reason } : { allowed: false };
    };
    switch (def.kind) {
      case "SelfSubjectAccessReview":
        out["status"] = access(user);
        return out;
      case "SubjectAccessReview":
      case "LocalSubjectAccessReview": {
        const subject: UserInfo = {
          name: str(spec["user"]),
          groups: Array.isArray(spec["groups"]) ? spec["groups"].map(String) : [],
        };
        out["status"] = access(subject);
        if (def.kind === "LocalSubjectAccessReview")
          out["metadata"] = { namespace: ns, creationTimestamp: null };
        return out;
      }
      case "SelfSubjectRulesReview": {
        const rules = rulesFor(store, user, str(spec["namespace"]));
        out["status"] = {
          resourceRules: rules.filter((r) => isObject(r) && r["nonResourceURLs"] === undefined),
          nonResourceRules: rules.filter((r) => isObject(r) && r["nonResourceURLs"] !== undefined),
          incomplete: false,
        };
        return out;
      }
      case "TokenReview": {
        const entry = tokens.lookup(str(spec["token"]));
        out["status"] =
          entry === undefined
            ? { authenticated: false, error: "invalid bearer token" }
            : {
                authenticated: true,
                user: {
                  username: entry.user.name,
                  groups: entry.user.groups,
                  ...(entry.user.uid === undefined ? {} : { uid: entry.user.uid }),
                },
              };
        return out;
      }
      case "SelfSubjectReview":
        out["status"] = {
          userInfo: {
            username: user.name,
            groups: user.groups,
            ...(user.uid === undefined ? {} : { uid: user.uid }),
          },
        };
        return out;
    }
    throw errors.notFoundPath();
  }

  function tokenRequest(ns: string, name: string, body: Json, dryRun: boolean): JsonObject {
    const sa = api.getStored(catalog.find("", "v1", "serviceaccounts") as ResourceDef, ns, name).obj;
    const spec = isObject(body) && isObject(body["spec"]) ? body["spec"] : {};
    const seconds = typeof spec["expirationSeconds"] === "number" ? spec["expirationSeconds"] : 3600;
    if (seconds < 600) {
      throw errors.invalid(
        "TokenRequest",
        { group: "authentication.k8s.io", resource: "tokenrequests", name },
        [
          {
            type: "FieldValueInvalid",
            message: "may not specify a duration less than 10 minutes",
            field: "spec.expirationSeconds",
          },
        ],
      );
    }
    const expires = Date.now() + seconds * 1000;
    const uid = text(metaOf(sa)["uid"]);
    const token = dryRun
      ? ""
      : tokens.mint({
          user: serviceAccountUser(ns, name, uid),
          expires,
          serviceAccount: { namespace: ns, name, uid },
        });
    store.changed();
    return {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace: ns, creationTimestamp: null },
      spec: {
        audiences: Array.isArray(spec["audiences"]) ? spec["audiences"] : ["https://kubernetes.default.svc"],
        expirationSeconds: seconds,
        boundObjectRef: null,
      },
      status: { token, expirationTimestamp: new Date(expires).toISOString().replace(/\.\d{3}Z$/, "Z") },
    };
  }

  function serveWatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    def: ResourceDef,
    namespace: string | undefined,
    q: URLSearchParams,
    asTable: boolean,
    include: IncludeObject,
  ): void {
    const gr = `${def.group}/${def.resource}`;
    const sel = combine(labelSelector(q.get("labelSelector")), fieldSelector(q.get("fieldSelector")));
    const rvParam = q.get("resourceVersion") ?? "";
    const bookmarks = q.get("allowWatchBookmarks") === "true";
    const initial = q.get("sendInitialEvents") === "true";
    res.writeHead(200, { "Content-Type": JSON_TYPE, "Cache-Control": "no-cache" });
    res.flushHeaders();
    const line = (type: string, objJson: string): void => {
      res.write(`{"type":"${type}","object":${objJson}}\n`);
    };
    const send = (e: { type: string; obj: JsonObject; json: () => string }): void => {
      if (asTable) {
        const rv = text(metaOf(e.obj)["resourceVersion"]);
        line(e.type, JSON.stringify(toTable(def, [e.obj], rv, include)));
      } else line(e.type, e.json());
    };
    const render = (e: { type: string; obj: JsonObject; json: () => string }): void => {
      if (sel === undefined || sel(e.obj)) send(e);
    };
    const deliver = (e: StoreEvent): void => {
      let type: string = e.type;
      if (sel !== undefined && e.type === "MODIFIED" && e.previous !== undefined) {
        // As Kubernetes does for a filtered watch: an object that starts matching is ADDED, one that
        // stops matching is DELETED (its new state is sent so the client sees why).
        const was = sel(e.previous);
        const is = sel(e.stored.obj);
        if (!was && !is) return;
        if (!was) type = "ADDED";
        else if (!is) {
          send({ type: "DELETED", obj: e.stored.obj, json: () => jsonOf(e.stored) });
          return;
        }
      }
      render({ type, obj: e.stored.obj, json: () => jsonOf(e.stored) });
    };
    const ns = def.namespaced ? namespace : undefined;
    if (rvParam === "" || rvParam === "0" || initial) {
      for (const s of store.list(gr, ns)) render({ type: "ADDED", obj: s.obj, json: () => jsonOf(s) });
      if (initial && bookmarks) {
        line(
          "BOOKMARK",
          JSON.stringify({
            kind: def.kind,
            apiVersion: groupVersionOf(def),
            metadata: {
              resourceVersion: text(store.resourceVersion),
              annotations: { "k8s.io/initial-events-end": "true" },
            },
          }),
        );
      }
    } else {
      const rv = Number(rvParam);
      const events = Number.isInteger(rv) ? store.eventsSince(rv, gr) : undefined;
      if (events === undefined) {
        const gone = errors.gone(`too old resource version: ${rvParam} (${store.oldestResumable})`);
        line("ERROR", JSON.stringify(gone.toStatus()));
        res.end();
        return;
      }
      for (const e of events) if (ns === undefined || e.namespace === ns) deliver(e);
    }
    const unsubscribe = store.watch({ gr, namespace: ns, deliver });
    const timers: NodeJS.Timeout[] = [];
    const active: ActiveWatch = {
      res,
      end: () => {
        cleanup();
        res.destroy();
      },
    };
    const cleanup = (): void => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      watches.delete(active);
    };
    watches.add(active);
    if (bookmarks) {
      const t = setInterval(() => {
        line(
          "BOOKMARK",
          JSON.stringify({
            kind: def.kind,
            apiVersion: groupVersionOf(def),
            metadata: { resourceVersion: text(store.resourceVersion) },
          }),
        );
      }, bookmarkMs);
      timers.push(t);
    }
    const timeout = Number(q.get("timeoutSeconds") ?? "0");
    if (timeout > 0) {
      timers.push(
        setTimeout(() => {
          cleanup();
          res.end();
        }, timeout * 1000),
      );
    }
    if (faults.dropWatchesAfterMs !== undefined)
      timers.push(
        setTimeout(() => {
          active.end();
        }, faults.dropWatchesAfterMs),
      );
    req.on("close", cleanup);
    res.on("close", cleanup);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `https://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  const kubeconfig = kubeconfigYaml(url, tls.certPem, adminToken);
  let stopped = false;

  return {
    url,
    caPem: tls.certPem,
    kubeconfig,
    adminToken,
    async writeKubeconfig(file: string): Promise<void> {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, kubeconfig, { mode: 0o600 });
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const w of [...watches]) w.end();
      api.stop();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      store.saveNow();
    },
    setFaults(f: Faults): void {
      faults = { ...f };
    },
    dropWatches(): number {
      const n = watches.size;
      for (const w of [...watches]) w.end();
      return n;
    },
    setReadiness(r: Readiness): void {
      api.readiness = r;
    },
    mintToken(user: string, opts: MintOptions = {}): string {
      const groups = [...(opts.groups ?? [])];
      if (!groups.includes("system:authenticated")) groups.push("system:authenticated");
      const entry =
        opts.expirationSeconds === undefined
          ? { user: { name: user, groups } }
          : { user: { name: user, groups }, expires: Date.now() + opts.expirationSeconds * 1000 };
      const t = tokens.mint(entry);
      store.changed();
      return t;
    },
    serviceAccountToken(namespace: string, name: string, opts: { expirationSeconds?: number } = {}): string {
      const body: JsonObject = { spec: { expirationSeconds: opts.expirationSeconds ?? 3600 } };
      const r = tokenRequest(namespace, name, body, false);
      return text((r["status"] as JsonObject)["token"]);
    },
    kubeconfigFor(token: string, user = "sandbox-user"): string {
      return kubeconfigYaml(url, tls.certPem, token, user);
    },
    setWebhookService(service: string, target: string | undefined): void {
      if (target === undefined) admission.services.delete(service);
      else admission.services.set(service, target);
    },
  };
}

/** The admin token: given, kept in dataDir across restarts (mode 0600), or fresh. */
async function adminTokenFor(dataDir: string | undefined): Promise<string> {
  const fresh = `gwa_${randomBytes(24).toString("base64url")}`;
  if (dataDir === undefined) return fresh;
  const file = path.join(dataDir, "admin-token");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(file, fresh + "\n", { mode: 0o600 });
    return fresh;
  }
}

function bootstrap(api: Api, catalog: Catalog): void {
  const nsDef = catalog.find("", "v1", "namespaces");
  if (nsDef === undefined) return;
  for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    api.putInternal(nsDef, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  }
  for (const { resource, obj } of defaultRbacObjects()) {
    const def = catalog.find("rbac.authorization.k8s.io", "v1", resource);
    if (def !== undefined) api.putInternal(def, obj);
  }
}

function parseRoute(catalog: Catalog, seg: string[]): Route | undefined {
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

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function headerList(req: http.IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  // Node joins repeated headers with ", "; impersonation values are names without commas.
  return (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

function str(v: Json | undefined): string {
  return typeof v === "string" ? v : "";
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > MAX_BODY) {
      reject(errors.tooLarge(MAX_BODY));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(errors.tooLarge(MAX_BODY));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/** Parses a request body as JSON, or as YAML where the content type says so (one document, few aliases). */
function parseBody(req: http.IncomingMessage, body: Buffer | undefined, yamlAllowed: boolean): Json {
  const type = (req.headers["content-type"] ?? JSON_TYPE).split(";")[0]?.trim() ?? "";
  const bodyText = body?.toString("utf8") ?? "";
  if (bodyText.trim() === "") throw errors.badRequest("the request body is empty");
  if (type === "application/vnd.kubernetes.protobuf" && body !== undefined) {
    const decoded = decodeProtobuf(body);
    checkValueNesting(decoded);
    return decoded;
  }
  const isYaml = yamlAllowed || type === "application/yaml" || type === "application/apply-patch+yaml";
  if (!isYaml && !type.endsWith("json")) throw errors.unsupportedMediaType(type);
  // Attacker-controlled input: depth is judged before anything deep is built.
  if (/^\s*[[{]/.test(bodyText)) checkJsonTextNesting(bodyText);
  try {
    return JSON.parse(bodyText) as Json;
  } catch (err) {
    if (!isYaml)
      throw errors.badRequest(
        `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
  }
  // Attacker-controlled input: one document, duplicate keys rejected, aliases bounded.
  checkYamlTextNesting(bodyText);
  let value: Json;
  try {
    const doc = parseDocument(bodyText, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0)
      throw errors.badRequest(`the body is not valid YAML: ${doc.errors[0]?.message ?? ""}`);
    value = doc.toJS({ maxAliasCount: 100 }) as Json;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw errors.badRequest(
      `the body is not valid YAML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  checkValueNesting(value);
  return value;
}

function patchType(contentType: string | undefined): PatchType {
  const t = (contentType ?? "").split(";")[0]?.trim();
  switch (t) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+json":
      return "apply";
    default:
      throw errors.unsupportedMediaType(t ?? "");
  }
}

function listOptions(q: URLSearchParams): {
  labelSelector?: (o: JsonObject) => boolean;
  fieldSelector?: (o: JsonObject) => boolean;
  limit?: number;
  continueToken?: string;
} {
  const out: {
    labelSelector?: (o: JsonObject) => boolean;
    fieldSelector?: (o: JsonObject) => boolean;
    limit?: number;
    continueToken?: string;
  } = {};
  const ls = labelSelector(q.get("labelSelector"));
  if (ls !== undefined) out.labelSelector = ls;
  const fs = fieldSelector(q.get("fieldSelector"));
  if (fs !== undefined) out.fieldSelector = fs;
  const limit = q.get("limit");
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid limit ${JSON.stringify(limit)}`);
    out.limit = n;
  }
  const cont = q.get("continue");
  if (cont !== null && cont !== "") out.continueToken = cont;
  return out;
}

function deleteOptions(
  req: http.IncomingMessage,
  body: Buffer | undefined,
  q: URLSearchParams,
): { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } {
  const out: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {};
  const pp = q.get("propagationPolicy");
  if (pp !== null) out.propagationPolicy = pp;
  if (body !== undefined && body.length > 0) {
    const opts = parseBody(req, body, false);
    if (isObject(opts)) {
      if (typeof opts["propagationPolicy"] === "string") out.propagationPolicy = opts["propagationPolicy"];
      if (opts["orphanDependents"] === true) out.propagationPolicy = "Orphan";
      const pre = opts["preconditions"];
      if (isObject(pre)) {
        out.preconditions = {};
        if (typeof pre["uid"] === "string") out.preconditions.uid = pre["uid"];
        if (typeof pre["resourceVersion"] === "string")
          out.preconditions.resourceVersion = pre["resourceVersion"];
      }
    }
  }
  if (
    out.propagationPolicy !== undefined &&
    !["Background", "Foreground", "Orphan"].includes(out.propagationPolicy)
  ) {
    throw errors.badRequest(`unknown propagationPolicy ${JSON.stringify(out.propagationPolicy)}`);
  }
  return out;
}

function sendRaw(res: http.ServerResponse, code: number, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(code, { "Content-Type": JSON_TYPE, "Content-Length": bytes.length }).end(bytes);
}

function sendJson(res: http.ServerResponse, code: number, value: unknown): void {
  sendRaw(res, code, JSON.stringify(value));
}

function sendError(res: http.ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { "Content-Type": JSON_TYPE };
  if (err.code === 429) headers["Retry-After"] = "1";
  if (err.code === 413) headers["Connection"] = "close";
  const body = JSON.stringify(err.toStatus());
  res.writeHead(err.code, { ...headers, "Content-Length": text(Buffer.byteLength(body)) }).end(body);
}
