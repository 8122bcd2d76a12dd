// Who may see what. Locally (`gitward dashboard --kubeconfig`, bound to loopback) the person at the
// keyboard already holds the kubeconfig, so every page is theirs, as with `kubectl port-forward`. Served
// from the operator, each request brings a Kubernetes bearer token: TokenReview says who it is, and a
// SubjectAccessReview says whether that user may get Applications in the namespace asked for.
import { createHash } from "node:crypto";
import type { ClusterClient } from "../cluster/client.js";
import { isRecord } from "../json/record.js";

export interface Viewer {
  readonly user: string;
  readonly groups: readonly string[];
  readonly uid?: string;
}

export type AuthResult =
  | { readonly ok: true; readonly viewer: Viewer }
  | { readonly ok: false; readonly status: 401; readonly message: string };

export interface Access {
  readonly mode: "local" | "token";
  authenticate(authorization: string | undefined): Promise<AuthResult>;
  /** May the viewer read Applications in `namespace` ("" for every namespace, e.g. the audit log)? */
  mayRead(viewer: Viewer, namespace: string): Promise<boolean>;
}

export const LOCAL_VIEWER: Viewer = { user: "local kubeconfig user", groups: [] };

/** The kubeconfig's holder sees everything its kubeconfig can read. */
export function localAccess(): Access {
  return {
    mode: "local",
    authenticate: () => Promise.resolve({ ok: true, viewer: LOCAL_VIEWER }),
    mayRead: () => Promise.resolve(true),
  };
}

/** Small time-bounded cache, so a page load costs one review per token and namespace, not one per object. */
class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: V }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined || Date.now() - e.at > this.ttlMs) return undefined;
    return e.value;
  }
  set(key: string, value: V): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, { at: Date.now(), value });
  }
}

const UNAUTHENTICATED = (message: string): AuthResult => ({ ok: false, status: 401, message });

/** Token reviews and access reviews are made by `cluster` (the dashboard's own identity). */
export function tokenAccess(cluster: ClusterClient, opts: { ttlMs?: number } = {}): Access {
  const ttl = opts.ttlMs ?? 10_000;
  const reviews = new TtlCache<AuthResult>(ttl, 1_000);
  const decisions = new TtlCache<boolean>(ttl, 10_000);
  return {
    mode: "token",
    async authenticate(authorization) {
      const m = /^Bearer ([^\s]+)$/.exec(authorization ?? "");
      if (m?.[1] === undefined)
        return UNAUTHENTICATED("a bearer token is required (Authorization: Bearer …)");
      const token = m[1];
      // Cached by the token's hash: the token itself is never kept, logged or echoed.
      const key = createHash("sha256").update(token).digest("hex");
      const cached = reviews.get(key);
      if (cached !== undefined) return cached;
      const review = await cluster.create({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        metadata: { name: "" },
        spec: { token },
      });
      const status = isRecord(review["status"]) ? review["status"] : {};
      const user = isRecord(status["user"]) ? status["user"] : {};
      let result: AuthResult;
      if (status["authenticated"] !== true || typeof user["username"] !== "string") {
        result = UNAUTHENTICATED("the token was not accepted by the API server");
      } else {
        const groups = Array.isArray(user["groups"])
          ? user["groups"].filter((g): g is string => typeof g === "string")
          : [];
        result = {
          ok: true,
          viewer: {
            user: user["username"],
            groups,
            ...(typeof user["uid"] === "string" ? { uid: user["uid"] } : {}),
          },
        };
      }
      reviews.set(key, result);
      return result;
    },
    async mayRead(viewer, namespace) {
      const key = JSON.stringify([viewer.user, viewer.groups, namespace]);
      const cached = decisions.get(key);
      if (cached !== undefined) return cached;
      const review = await cluster.create({
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        metadata: { name: "" },
        spec: {
          user: viewer.user,
          groups: [...viewer.groups],
          ...(viewer.uid === undefined ? {} : { uid: viewer.uid }),
          resourceAttributes: {
            group: "gitward.dev",
            resource: "applications",
            verb: namespace === "" ? "list" : "get",
            ...(namespace === "" ? {} : { namespace }),
          },
        },
      });
      const status = isRecord(review["status"]) ? review["status"] : {};
      const allowed = status["allowed"] === true && status["denied"] !== true;
      decisions.set(key, allowed);
      return allowed;
    },
  };
}
