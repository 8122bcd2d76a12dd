// A small Kubernetes API client for the reconcile: discovery (which resource serves a kind, namespaced or
// not), server-side apply as field manager `gitward`, get/list/delete with uid preconditions, dry runs,
// impersonation of an application's service account, and retries with backoff and jitter on 429/5xx.
//
// kubeconfig.ts reads the authentication and TLS settings; the requests go through node:https here
// because @kubernetes/client-node's generated API classes offer no per-request impersonation header, no
// retries and no pooled concurrency, all of which a reconcile of thousands of objects needs (and the
// package alone costs about 90 MB of memory).
import http from "node:http";
import https from "node:https";
import { stringify } from "yaml";
import { BACKOFF_DEFAULTS, backoffDelay, realSleep, type BackoffOptions } from "./backoff.js";
import { ClusterError, ClusterErrorCode, codeForStatus, isRetryable } from "./errors.js";
import {
  kubeconfigFromText,
  loadKubeconfig,
  type LoadOptions,
  type RequestCredentials,
  type ResolvedKubeconfig,
} from "./kubeconfig.js";

export const FIELD_MANAGER = "gitward";

/** Accept header for a list of metadata only, JSON as the fallback of servers that do not offer it. */
const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
const METADATA_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/** A Kubernetes object as JSON. Fields other than these are not interpreted here. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** One line of a watch stream. ERROR carries a Status object (410 Gone: the resourceVersion is too old). */
export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: KubeObject;
}

function isWatchEvent(v: unknown): v is WatchEvent {
  if (typeof v !== "object" || v === null) return false;
  const e = v as { type?: unknown; object?: unknown };
  return (
    typeof e.type === "string" &&
    ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"].includes(e.type) &&
    typeof e.object === "object" &&
    e.object !== null
  );
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface ResourceInfo {
  /** The URL path of the collection, without namespace: "/api/v1" + "configmaps" etc. are joined later. */
  readonly groupVersionPath: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface CallOptions {
  /** Act as this user (e.g. "system:serviceaccount:shop:deployer") through impersonation headers. */
  readonly impersonate?: string;
  readonly dryRun?: boolean;
}

export interface ClusterClientOptions {
  readonly backoff?: BackoffOptions;
  /** Parallel requests at most (default 16); the agent keeps this many connections alive. */
  readonly maxSockets?: number;
  /** Per-request timeout in ms (default 30,000). */
  readonly timeoutMs?: number;
}

interface Reply {
  status: number;
  body: unknown;
  retryAfterMs?: number;
  /** The server's Date header, when it sent one (doctor compares clocks with it). */
  date?: string;
  /** The credentials the request was made with (a 401 forgets exactly these). */
  creds: RequestCredentials;
}

export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace === undefined ? {} : { namespace: obj.metadata.namespace }),
  };
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? "" : ref.namespace + "/"}${ref.name}`;
}

/** The user name Kubernetes gives a service account, the one impersonated to act as it. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

function statusMessage(body: unknown, fallback: string): string {
  if (typeof body === "object" && body !== null && "message" in body) {
    const m = body.message;
    if (typeof m === "string" && m !== "") return m;
  }
  return fallback;
}

export class ClusterClient {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private readonly backoff: BackoffOptions;
  private readonly timeoutMs: number;

  private constructor(
    private readonly kc: ResolvedKubeconfig,
    options: ClusterClientOptions,
  ) {
    this.server = kc.server;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
    this.agent =
      this.server.protocol === "http:" ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
    this.watchAgent =
      this.server.protocol === "http:"
        ? new http.Agent({ keepAlive: false })
        : new https.Agent({ keepAlive: false });
    this.backoff = options.backoff ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * A client for a kubeconfig file, or the default chain ($KUBECONFIG, ~/.kube/config, in-cluster; the
   * in-cluster account before ~/.kube/config with `lookup.preferInCluster`).
   */
  static fromFile(
    file: string | undefined,
    options: ClusterClientOptions = {},
    lookup: LoadOptions = {},
  ): ClusterClient {
    return new ClusterClient(loadKubeconfig(file, lookup), options);
  }

  /** A client for kubeconfig YAML text. */
  static fromText(text: string, options: ClusterClientOptions = {}): ClusterClient {
    return new ClusterClient(kubeconfigFromText(text), options);
  }

  /** A client for an already read kubeconfig. */
  static fromResolved(kc: ResolvedKubeconfig, options: ClusterClientOptions = {}): ClusterClient {
    return new ClusterClient(kc, options);
  }

  /** The API server's URL (for messages; never carries credentials). */
  get serverUrl(): string {
    return this.server.origin;
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  // ---- discovery ----------------------------------------------------------------------------------

  /** Which resource serves `kind` in `apiVersion`; ClusterError UNKNOWN_KIND when none does. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let found = (await this.resourcesOf(apiVersion)).get(kind);
    if (found === undefined) {
      // A CRD may have been established since the list was read: read it again once.
      this.discovery.delete(apiVersion);
      found = (await this.resourcesOf(apiVersion)).get(kind);
    }
    if (found === undefined) {
      throw new ClusterError(
        ClusterErrorCode.UnknownKind,
        `the API server does not serve kind ${kind} in ${apiVersion}; install its CRD first`,
      );
    }
    return found;
  }

  /** Forgets what discovery learnt (after CRDs change). */
  forgetDiscovery(): void {
    this.discovery.clear();
  }

  private resourcesOf(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let p = this.discovery.get(apiVersion);
    if (p === undefined) {
      p = this.readResources(apiVersion);
      this.discovery.set(apiVersion, p);
      // A failed read is not remembered.
      p.catch(() => this.discovery.delete(apiVersion));
    }
    return p;
  }

  private async readResources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    const groupVersionPath = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const out = new Map<string, ResourceInfo>();
    const reply = await this.send("GET", groupVersionPath, {});
    if (reply.status === 404) return out;
    this.ensureOk(reply, `discovery of ${apiVersion}`);
    const resources = (reply.body as { resources?: unknown }).resources;
    if (!Array.isArray(resources)) return out;
    for (const r of resources as { name?: unknown; kind?: unknown; namespaced?: unknown }[]) {
      if (typeof r.name !== "string" || typeof r.kind !== "string" || r.name.includes("/")) continue;
      out.set(r.kind, { groupVersionPath, plural: r.name, namespaced: r.namespaced === true });
    }
    return out;
  }

  /** The URL path of an object (or, without a name, its collection). */
  async pathOf(ref: Omit<ObjectRef, "name"> & { name?: string }): Promise<string> {
    const info = await this.resource(ref.apiVersion, ref.kind);
    let p = info.groupVersionPath;
    if (info.namespaced) {
      if (ref.namespace !== undefined) p += `/namespaces/${encodeURIComponent(ref.namespace)}`;
    }
    p += `/${info.plural}`;
    if (ref.name !== undefined) p += `/${encodeURIComponent(ref.name)}`;
    return p;
  }

  // ---- objects ------------------------------------------------------------------------------------

  /**
   * Server-side apply of `obj` as field manager `gitward`, taking over conflicting fields (force). Field
   * validation is Strict, as kubectl's default: an unknown or duplicated field (a typo such as
   * `securityContex`) is refused by the server instead of being dropped with a warning, so what policy
   * checked is what the cluster stores.
   */
  async apply(
    obj: KubeObject,
    opts: CallOptions & { force?: boolean; fieldManager?: string } = {},
  ): Promise<KubeObject> {
    const ref = refOf(obj);
    const query = new URLSearchParams({
      fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      force: String(opts.force ?? true),
      fieldValidation: "Strict",
    });
    if (opts.dryRun === true) query.set("dryRun", "All");
    const reply = await this.send("PATCH", `${await this.pathOf(ref)}?${query.toString()}`, {
      body: JSON.stringify(obj),
      contentType: "application/apply-patch+yaml",
      ...(opts.impersonate === undefined ? {} : { impersonate: opts.impersonate }),
    });
    this.ensureOk(reply, `apply of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  async get(
    ref: ObjectRef,
    opts: CallOptions & { metadataOnly?: boolean } = {},
  ): Promise<KubeObject | undefined> {
    const reply = await this.send("GET", await this.pathOf(ref), {
      ...opts,
      ...(opts.metadataOnly === true ? { accept: METADATA_ONE } : {}),
    });
    if (reply.status === 404) return undefined;
    this.ensureOk(reply, `read of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  /** Every object of a kind (in one namespace, or all), optionally by label selector; pages through. */
  async list(
    apiVersion: string,
    kind: string,
    opts: CallOptions & { namespace?: string; labelSelector?: string; metadataOnly?: boolean } = {},
  ): Promise<KubeObject[]> {
    return (await this.listWithVersion(apiVersion, kind, opts)).items;
  }

  /**
   * Deletes an object, only if its uid is still `uid` (when given), so an object that was deleted and
   * made again by someone else in between is never touched. "not-found" when it is already gone.
   */
  async delete(ref: ObjectRef, opts: CallOptions & { uid?: string } = {}): Promise<"deleted" | "not-found"> {
    const q = new URLSearchParams();
    if (opts.dryRun === true) q.set("dryRun", "All");
    const body: Record<string, unknown> = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Background",
    };
    if (opts.uid !== undefined) body["preconditions"] = { uid: opts.uid };
    const qs = q.toString();
    const reply = await this.send("DELETE", `${await this.pathOf(ref)}${qs === "" ? "" : "?" + qs}`, {
      body: JSON.stringify(body),
      contentType: "application/json",
      ...(opts.impersonate === undefined ? {} : { impersonate: opts.impersonate }),
    });
    if (reply.status === 404) return "not-found";
    this.ensureOk(reply, `delete of ${describeRef(ref)}`);
    return "deleted";
  }

  /** Creates an object (for Events, which are never applied). */
  async create(obj: KubeObject, opts: CallOptions = {}): Promise<KubeObject> {
    const ref = refOf(obj);
    const path = await this.pathOf({ ...ref, name: undefined } as Omit<ObjectRef, "name">);
    const reply = await this.send("POST", path, { ...opts, body: JSON.stringify(obj) });
    this.ensureOk(reply, `create of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  /**
   * Read-modify-write with optimistic concurrency: on 409 (someone wrote in between) the object is read
   * again and `change` applied to the fresh copy, until it sticks or the retries run out.
   */
  async modify(
    ref: ObjectRef,
    change: (obj: KubeObject) => KubeObject,
    opts: CallOptions & { subresource?: "status" } = {},
  ): Promise<KubeObject> {
    const attempts = this.backoff.attempts ?? BACKOFF_DEFAULTS.attempts;
    for (let i = 0; ; i++) {
      const live = await this.get(ref, opts);
      if (live === undefined)
        throw new ClusterError(ClusterErrorCode.NotFound, `${describeRef(ref)} not found`, 404);
      const next = change(structuredClone(live));
      const path = (await this.pathOf(ref)) + (opts.subresource === undefined ? "" : `/${opts.subresource}`);
      const reply = await this.send("PUT", path, { ...opts, body: JSON.stringify(next) });
      if (reply.status === 409 && i + 1 < attempts) {
        await (this.backoff.sleep ?? realSleep)(backoffDelay(i, this.backoff));
        continue;
      }
      this.ensureOk(reply, `update of ${describeRef(ref)}`);
      return reply.body as KubeObject;
    }
  }

  /**
   * Replaces an object with PUT, under optimistic concurrency: `obj.metadata.resourceVersion` must be the
   * one stored, or the server answers 409 and this throws ClusterError CONFLICT (never retried here, so a
   * caller such as leader election learns that someone else wrote first).
   */
  async replace(obj: KubeObject, opts: CallOptions & { subresource?: "status" } = {}): Promise<KubeObject> {
    const ref = refOf(obj);
    const path = (await this.pathOf(ref)) + (opts.subresource === undefined ? "" : `/${opts.subresource}`);
    const reply = await this.send("PUT", path, { ...opts, body: JSON.stringify(obj) });
    this.ensureOk(reply, `update of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  /** A JSON merge patch (RFC 7386) of an object or its status subresource. */
  async mergePatch(
    ref: ObjectRef,
    patch: Record<string, unknown>,
    opts: CallOptions & { subresource?: "status" } = {},
  ): Promise<KubeObject> {
    const path = (await this.pathOf(ref)) + (opts.subresource === undefined ? "" : `/${opts.subresource}`);
    const reply = await this.send("PATCH", path, {
      ...opts,
      body: JSON.stringify(patch),
      contentType: "application/merge-patch+json",
    });
    this.ensureOk(reply, `patch of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  /**
   * A list of one kind with the collection's resourceVersion, the point a watch starts from. One page of
   * at most `limit` objects per request, all pages read.
   */
  async listWithVersion(
    apiVersion: string,
    kind: string,
    opts: CallOptions & {
      namespace?: string;
      labelSelector?: string;
      /** Metadata only (PartialObjectMetadataList): names, uids, labels, resourceVersions, no content. */
      metadataOnly?: boolean;
    } = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const base = await this.pathOf({
      apiVersion,
      kind,
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    });
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion = "";
    do {
      const q = new URLSearchParams({ limit: "1000" });
      if (opts.labelSelector !== undefined) q.set("labelSelector", opts.labelSelector);
      if (cont !== undefined) q.set("continue", cont);
      const reply = await this.send("GET", `${base}?${q.toString()}`, {
        ...opts,
        ...(opts.metadataOnly === true ? { accept: METADATA_LIST } : {}),
      });
      this.ensureOk(reply, `list of ${kind} ${apiVersion}`);
      const body = reply.body as {
        items?: KubeObject[];
        metadata?: { continue?: string; resourceVersion?: string };
      };
      // List items carry no kind (a metadata list's say PartialObjectMetadata); each is named by its own
      // kind here, in place: the parsed body is ours alone.
      for (const item of body.items ?? []) {
        item.apiVersion = apiVersion;
        item.kind = kind;
        items.push(item);
      }
      resourceVersion = body.metadata?.resourceVersion ?? resourceVersion;
      cont = body.metadata?.continue === "" ? undefined : body.metadata?.continue;
    } while (cont !== undefined);
    return { items, resourceVersion };
  }

  /**
   * Opens a watch of one kind from `resourceVersion` (with bookmarks) and calls `onEvent` for each event
   * line, in order. Resolves when the server ends the stream, `signal` aborts it, or it fails; a watch
   * that the server refuses (410 Gone included) resolves with that HTTP status so the caller can relist.
   * Watches use their own agent: they are long-lived and must not take the pooled sockets of the apply.
   */
  async watch(
    apiVersion: string,
    kind: string,
    opts: CallOptions & {
      namespace?: string;
      labelSelector?: string;
      resourceVersion: string;
      signal: AbortSignal;
      onEvent: (event: WatchEvent) => void;
    },
  ): Promise<{ status: number }> {
    const base = await this.pathOf({
      apiVersion,
      kind,
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    });
    const q = new URLSearchParams({
      watch: "1",
      allowWatchBookmarks: "true",
      resourceVersion: opts.resourceVersion,
    });
    if (opts.labelSelector !== undefined) q.set("labelSelector", opts.labelSelector);
    const { req, url, mod } = await this.request("GET", `${base}?${q.toString()}`, this.watchAgent, opts);
    return new Promise((resolve) => {
      if (opts.signal.aborted) {
        resolve({ status: 0 });
        return;
      }
      const r = mod.request(url, { ...req, signal: opts.signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          res.on("end", () => {
            resolve({ status });
          });
          res.on("error", () => {
            resolve({ status });
          });
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === "") continue;
            let ev: unknown;
            try {
              ev = JSON.parse(line);
            } catch {
              // A line that is not JSON ends the watch: the caller relists rather than guess.
              r.destroy();
              return;
            }
            if (isWatchEvent(ev)) opts.onEvent(ev);
          }
        });
        res.on("end", () => {
          resolve({ status });
        });
        res.on("error", () => {
          resolve({ status });
        });
        res.on("close", () => {
          resolve({ status });
        });
      });
      r.on("error", () => {
        resolve({ status: 0 });
      });
      r.end();
    });
  }

  /** GET /version and the server's clock (its Date header) at the time of the answer. */
  async serverVersion(): Promise<{ gitVersion: string; date: Date | undefined }> {
    const reply = await this.send("GET", "/version", {});
    this.ensureOk(reply, "read of the server version");
    const gitVersion = (reply.body as { gitVersion?: unknown }).gitVersion;
    const date = reply.date === undefined ? undefined : new Date(reply.date);
    return {
      gitVersion: typeof gitVersion === "string" ? gitVersion : "unknown",
      date: date === undefined || Number.isNaN(date.getTime()) ? undefined : date,
    };
  }

  /** A token for a service account from the TokenRequest API (what the operator's own pods mount). */
  async requestToken(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
    const body = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds },
    };
    const reply = await this.send("POST", path, { body: JSON.stringify(body) });
    this.ensureOk(reply, `token request for service account ${namespace}/${name}`);
    const token = (reply.body as { status?: { token?: unknown } }).status?.token;
    if (typeof token !== "string") {
      throw new ClusterError(ClusterErrorCode.Invalid, "the TokenRequest answer holds no token");
    }
    return token;
  }

  /** A kubeconfig (YAML) for the same server and TLS settings, authenticating with `token` instead. */
  kubeconfigWithToken(token: string, user = "token-user"): string {
    const { tls } = this.kc;
    const cluster: Record<string, unknown> = { server: this.server.href.replace(/\/$/, "") };
    if (tls.ca !== undefined) cluster["certificate-authority-data"] = tls.ca.toString("base64");
    if (!tls.rejectUnauthorized) cluster["insecure-skip-tls-verify"] = true;
    if (tls.servername !== undefined) cluster["tls-server-name"] = tls.servername;
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "cluster", cluster }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: "default", context: { cluster: "cluster", user } }],
      "current-context": "default",
    });
  }

  /** Waits until a CustomResourceDefinition reports Established (then forgets discovery). */
  async waitForCrdEstablished(name: string, opts: CallOptions & { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const ref = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name };
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      const crd = await this.get(
        ref,
        opts.impersonate === undefined ? {} : { impersonate: opts.impersonate },
      );
      const conditions = (
        crd?.["status"] as { conditions?: { type?: string; status?: string }[] } | undefined
      )?.conditions;
      if (conditions?.some((c) => c.type === "Established" && c.status === "True") === true) {
        this.forgetDiscovery();
        return;
      }
      if (Date.now() > deadline) {
        throw new ClusterError(
          ClusterErrorCode.Timeout,
          `CRD ${name} was not established within ${timeoutMs} ms`,
        );
      }
      await (this.backoff.sleep ?? realSleep)(Math.min(50 * 2 ** i, 1_000));
    }
  }

  // ---- transport ----------------------------------------------------------------------------------

  private ensureOk(reply: Reply, what: string): void {
    if (reply.status >= 200 && reply.status < 300) return;
    const message = statusMessage(reply.body, `HTTP ${reply.status}`);
    throw new ClusterError(codeForStatus(reply.status), `${what} failed: ${message}`, reply.status);
  }

  /** One request, retried with backoff on 429, 5xx and network errors; other answers are returned. */
  private async send(
    method: string,
    path: string,
    opts: CallOptions & { body?: string; contentType?: string; accept?: string },
  ): Promise<Reply> {
    const attempts = this.backoff.attempts ?? BACKOFF_DEFAULTS.attempts;
    const sleep = this.backoff.sleep ?? realSleep;
    let last: Reply | undefined;
    let lastError: unknown;
    let renewed = false;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(backoffDelay(i - 1, this.backoff, last?.retryAfterMs));
      try {
        last = await this.once(method, path, opts);
        lastError = undefined;
        // A 401 may mean a rotated token or an expired plugin credential: get a fresh one, once.
        if (last.status === 401 && !renewed && this.kc.credentials.invalidate(last.creds)) {
          renewed = true;
          last = await this.once(method, path, opts);
        }
        if (!isRetryable(last.status)) return last;
      } catch (err) {
        // Credentials that cannot be read (a missing token file, a failing plugin) do not get better.
        if (err instanceof ClusterError) throw err;
        // Nothing listening, or a certificate that does not verify, does not get better by retrying.
        const fatal = unreachable(err, this.server.origin);
        if (fatal !== undefined) throw fatal;
        last = undefined;
        lastError = err;
      }
    }
    if (last !== undefined) return last;
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new ClusterError(
      ClusterErrorCode.Unavailable,
      `${method} ${path} at ${this.server.origin} failed after ${attempts} attempts: ${reason}`,
    );
  }

  /** Request options for `path`: the kubeconfig's credentials and TLS, `agent`, JSON, impersonation. */
  private async request(
    method: string,
    path: string,
    agent: http.Agent,
    opts: CallOptions & { accept?: string },
  ): Promise<{
    req: https.RequestOptions;
    url: URL;
    mod: typeof http | typeof https;
    creds: RequestCredentials;
  }> {
    const { tls } = this.kc;
    const creds = await this.kc.credentials.current();
    const headers: Record<string, string> = { ...creds.headers, Accept: opts.accept ?? "application/json" };
    // The agents pool connections by these TLS options, so a plugin's new client certificate gets its own.
    const req: https.RequestOptions = {
      method,
      headers,
      agent,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      ...((creds.cert ?? tls.cert) !== undefined
        ? { cert: creds.cert ?? tls.cert, key: creds.key ?? tls.key }
        : {}),
    };
    if (opts.impersonate !== undefined) headers["Impersonate-User"] = opts.impersonate;
    const url = new URL(this.server.pathname.replace(/\/$/, "") + path, this.server);
    return { req, url, mod: url.protocol === "http:" ? http : https, creds };
  }

  private async once(
    method: string,
    path: string,
    opts: CallOptions & { body?: string; contentType?: string; accept?: string },
  ): Promise<Reply> {
    const { req, url, mod, creds } = await this.request(method, path, this.agent, opts);
    if (opts.body !== undefined) {
      const headers = req.headers as Record<string, string>;
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(opts.body));
    }
    return new Promise<Reply>((resolve, reject) => {
      const r = mod.request(url, req, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            // Not JSON: keep the text for the error message.
          }
          const status = res.statusCode ?? 0;
          const ra = Number(res.headers["retry-after"]);
          resolve({
            status,
            body,
            creds,
            ...(res.headers.date === undefined ? {} : { date: res.headers.date }),
            ...(Number.isFinite(ra) && ra > 0 ? { retryAfterMs: ra * 1000 } : {}),
          });
        });
      });
      r.setTimeout(this.timeoutMs, () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on("error", reject);
      if (opts.body !== undefined) r.write(opts.body);
      r.end();
    });
  }
}

/** TLS verification failures of node's tls module (and a TLS reply that is not TLS). */
const TLS_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_PACKET_LENGTH_TOO_LONG",
]);

/**
 * A plain, immediate error for a server that cannot be reached as configured: connection refused, a
 * host that does not resolve, or a TLS certificate that does not verify. Other network errors (resets,
 * timeouts) are retried like 5xx answers.
 */
function unreachable(err: unknown, origin: string): ClusterError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "ECONNREFUSED") {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `cannot connect to the API server at ${origin}: connection refused (is the cluster running? check --kubeconfig and --context)`,
    );
  }
  if (code === "ENOTFOUND") {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `cannot connect to the API server at ${origin}: the host name does not resolve (check --kubeconfig and --context)`,
    );
  }
  if (TLS_ERRORS.has(code)) {
    return new ClusterError(
      ClusterErrorCode.Unavailable,
      `TLS with the API server at ${origin} failed: ${code} (the server's certificate does not verify with the kubeconfig's certificate-authority)`,
    );
  }
  return undefined;
}
