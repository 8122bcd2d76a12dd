// `startSandbox`: a Kubernetes API server for tests and trials, on Node's http module. It authenticates
// bearer tokens, applies impersonation and RBAC, routes discovery, OpenAPI and resource requests to
// api.ts, streams watches, and injects faults (latency, 500/429/409 answers, dropped watches) on request.
// This file starts the server and routes discovery and OpenAPI; authn.ts, resources.ts, watch.ts,
// reviews.ts and http-io.ts hold the rest, sharing one ServerParts (server-parts.ts).
import type http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Api, type Readiness } from "./api.js";
import { Tokens } from "./auth.js";
import { authenticate, impersonate } from "./authn.js";
import { Catalog, type ResourceDef } from "./catalog.js";
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
import { text, type Json, type JsonObject } from "./fieldset.js";
import { authorize, defaultRbacObjects } from "./rbac.js";
import { Store } from "./store.js";
import { servingCert } from "./tls.js";
import { Admission } from "./admission/admit.js";
import { JSON_TYPE, sendError, sendJson } from "./http-io.js";
import { parseRoute, serveResource } from "./resources.js";
import { tokenRequest } from "./reviews.js";
import type { ActiveWatch, Faults, ServerParts } from "./server-parts.js";

export type { Faults } from "./server-parts.js";

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
  const parts: ServerParts = {
    store,
    catalog,
    api,
    admission,
    tokens,
    watches,
    bookmarkMs,
    faults: () => faults,
  };

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
    let user = authenticate(req, store, tokens);
    user = impersonate(req, user, store);
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
    await serveResource(parts, req, res, url, route, user, method, accept);
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
      const r = tokenRequest(parts, namespace, name, body, false);
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
