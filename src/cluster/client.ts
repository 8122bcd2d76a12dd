// A small Kubernetes API client for the reconcile: discovery (which resource serves a kind, namespaced or
// not), server-side apply as field manager `gitward`, get/list/delete with uid preconditions, dry runs,
// impersonation of an application's service account, and retries with backoff and jitter on 429/5xx.
//
// kubeconfig.ts reads the authentication and TLS settings; transport.ts sends the requests (agents,
// credentials, retries). They go through node:https because @kubernetes/client-node's generated API
// classes offer no per-request impersonation header, no retries and no pooled concurrency, all of which a
// reconcile of thousands of objects needs (and the package alone costs about 90 MB of memory).
import { stringify } from "yaml";
import { BACKOFF_DEFAULTS, backoffDelay, realSleep, type BackoffOptions } from "./backoff.js";
import { ensureOk, Transport } from "./transport.js";
import { ClusterError, ClusterErrorCode } from "./errors.js";
import {
  kubeconfigFromText,
  loadKubeconfig,
  type LoadOptions,
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

export class ClusterClient {
  private readonly transport: Transport;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();

  private constructor(kc: ResolvedKubeconfig, options: ClusterClientOptions) {
    this.transport = new Transport(kc, options);
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
    return this.transport.server.origin;
  }

  close(): void {
    this.transport.close();
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
    const reply = await this.transport.send("GET", groupVersionPath, {});
    if (reply.status === 404) return out;
    ensureOk(reply, `discovery of ${apiVersion}`);
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
    const reply = await this.transport.send("PATCH", `${await this.pathOf(ref)}?${query.toString()}`, {
      body: JSON.stringify(obj),
      contentType: "application/apply-patch+yaml",
      ...(opts.impersonate === undefined ? {} : { impersonate: opts.impersonate }),
    });
    ensureOk(reply, `apply of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  async get(
    ref: ObjectRef,
    opts: CallOptions & { metadataOnly?: boolean } = {},
  ): Promise<KubeObject | undefined> {
    const reply = await this.transport.send("GET", await this.pathOf(ref), {
      ...opts,
      ...(opts.metadataOnly === true ? { accept: METADATA_ONE } : {}),
    });
    if (reply.status === 404) return undefined;
    ensureOk(reply, `read of ${describeRef(ref)}`);
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
    const reply = await this.transport.send(
      "DELETE",
      `${await this.pathOf(ref)}${qs === "" ? "" : "?" + qs}`,
      {
        body: JSON.stringify(body),
        contentType: "application/json",
        ...(opts.impersonate === undefined ? {} : { impersonate: opts.impersonate }),
      },
    );
    if (reply.status === 404) return "not-found";
    ensureOk(reply, `delete of ${describeRef(ref)}`);
    return "deleted";
  }

  /** Creates an object (for Events, which are never applied). */
  async create(obj: KubeObject, opts: CallOptions = {}): Promise<KubeObject> {
    const ref = refOf(obj);
    const path = await this.pathOf({ ...ref, name: undefined } as Omit<ObjectRef, "name">);
    const reply = await this.transport.send("POST", path, { ...opts, body: JSON.stringify(obj) });
    ensureOk(reply, `create of ${describeRef(ref)}`);
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
    const attempts = this.transport.backoff.attempts ?? BACKOFF_DEFAULTS.attempts;
    for (let i = 0; ; i++) {
      const live = await this.get(ref, opts);
      if (live === undefined)
        throw new ClusterError(ClusterErrorCode.NotFound, `${describeRef(ref)} not found`, 404);
      const next = change(structuredClone(live));
      const path = (await this.pathOf(ref)) + (opts.subresource === undefined ? "" : `/${opts.subresource}`);
      const reply = await this.transport.send("PUT", path, { ...opts, body: JSON.stringify(next) });
      if (reply.status === 409 && i + 1 < attempts) {
        await (this.transport.backoff.sleep ?? realSleep)(backoffDelay(i, this.transport.backoff));
        continue;
      }
      ensureOk(reply, `update of ${describeRef(ref)}`);
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
    const reply = await this.transport.send("PUT", path, { ...opts, body: JSON.stringify(obj) });
    ensureOk(reply, `update of ${describeRef(ref)}`);
    return reply.body as KubeObject;
  }

  /** A JSON merge patch (RFC 7386) of an object or its status subresource. */
  async mergePatch(
    ref: ObjectRef,
    patch: Record<string, unknown>,
    opts: CallOptions & { subresource?: "status" } = {},
  ): Promise<KubeObject> {
    const path = (await this.pathOf(ref)) + (opts.subresource === undefined ? "" : `/${opts.subresource}`);
    const reply = await this.transport.send("PATCH", path, {
      ...opts,
      body: JSON.stringify(patch),
      contentType: "application/merge-patch+json",
    });
    ensureOk(reply, `patch of ${describeRef(ref)}`);
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
      const reply = await this.transport.send("GET", `${base}?${q.toString()}`, {
        ...opts,
        ...(opts.metadataOnly === true ? { accept: METADATA_LIST } : {}),
      });
      ensureOk(reply, `list of ${kind} ${apiVersion}`);
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
    const { req, url, mod } = await this.transport.request(
      "GET",
      `${base}?${q.toString()}`,
      this.transport.watchAgent,
      opts,
    );
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
    const reply = await this.transport.send("GET", "/version", {});
    ensureOk(reply, "read of the server version");
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
    const reply = await this.transport.send("POST", path, { body: JSON.stringify(body) });
    ensureOk(reply, `token request for service account ${namespace}/${name}`);
    const token = (reply.body as { status?: { token?: unknown } }).status?.token;
    if (typeof token !== "string") {
      throw new ClusterError(ClusterErrorCode.Invalid, "the TokenRequest answer holds no token");
    }
    return token;
  }

  /** A kubeconfig (YAML) for the same server and TLS settings, authenticating with `token` instead. */
  kubeconfigWithToken(token: string, user = "token-user"): string {
    const { tls } = this.transport.kc;
    const cluster: Record<string, unknown> = { server: this.transport.server.href.replace(/\/$/, "") };
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
      await (this.transport.backoff.sleep ?? realSleep)(Math.min(50 * 2 ** i, 1_000));
    }
  }
}
