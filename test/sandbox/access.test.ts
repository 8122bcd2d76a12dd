// Authentication and authorization in the sandbox: service-account tokens from the TokenRequest API and
// minted user tokens, RBAC allowing and denying (nothing stored on denial), impersonation only with the
// `impersonate` verb, and (Self)SubjectAccessReview answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call } from "./helpers.js";

let sb: Sandbox;
let appToken: string;
const rbac = "/apis/rbac.authorization.k8s.io/v1";

beforeAll(async () => {
  sb = await startSandbox();
  const setup: [string, unknown][] = [
    ["/api/v1/namespaces", { metadata: { name: "team" } }],
    ["/api/v1/namespaces/team/serviceaccounts", { metadata: { name: "app" } }],
    [
      `${rbac}/namespaces/team/roles`,
      {
        metadata: { name: "reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    ],
    [
      `${rbac}/namespaces/team/rolebindings`,
      {
        metadata: { name: "app-reads" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [{ kind: "ServiceAccount", name: "app", namespace: "team" }],
      },
    ],
    ["/api/v1/namespaces/team/configmaps", { metadata: { name: "settings" }, data: { a: "1" } }],
  ];
  for (const [path, body] of setup) expect((await call(sb, "POST", path, { body })).status).toBe(201);
  const tr = await call(sb, "POST", "/api/v1/namespaces/team/serviceaccounts/app/token", {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  expect(tr.status).toBe(201);
  appToken = (tr.json["status"] as { token: string }).token;
});

afterAll(async () => {
  await sb.stop();
});

describe("RBAC", () => {
  it("lets a service account do what its Role allows", async () => {
    const r = await call(sb, "GET", "/api/v1/namespaces/team/configmaps/settings", { token: appToken });
    expect(r.status).toBe(200);
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token: appToken })).status).toBe(
      200,
    );
  });

  it("denies what it does not allow with 403, and stores nothing", async () => {
    const other = await call(sb, "GET", "/api/v1/namespaces/default/configmaps", { token: appToken });
    expect([other.status, other.json["reason"]]).toEqual([403, "Forbidden"]);
    expect(other.json["message"]).toBe(
      'configmaps is forbidden: User "system:serviceaccount:team:app" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    const create = await call(sb, "POST", "/api/v1/namespaces/team/configmaps", {
      token: appToken,
      body: { metadata: { name: "sneaky" } },
    });
    expect(create.status).toBe(403);
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps/sneaky")).status).toBe(404);
    const secrets = await call(sb, "GET", "/api/v1/namespaces/team/secrets", { token: appToken });
    expect(secrets.status).toBe(403);
  });

  it("grants a group through a ClusterRoleBinding to a minted user token", async () => {
    const token = sb.mintToken("bob", { groups: ["viewers"] });
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token })).status).toBe(403);
    await call(sb, "POST", `${rbac}/clusterrolebindings`, {
      body: {
        metadata: { name: "viewers" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "Group", name: "viewers", apiGroup: "rbac.authorization.k8s.io" }],
      },
    });
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token })).status).toBe(200);
    expect((await call(sb, "GET", "/api/v1/namespaces/team/secrets", { token })).status).toBe(403);
  });

  it("issues no token for a missing service account, and a token dies with its account", async () => {
    const missing = await call(sb, "POST", "/api/v1/namespaces/team/serviceaccounts/ghost/token", {
      body: { spec: {} },
    });
    expect(missing.status).toBe(404);
    await call(sb, "POST", "/api/v1/namespaces/team/serviceaccounts", {
      body: { metadata: { name: "temp" } },
    });
    const token = sb.serviceAccountToken("team", "temp");
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token })).status).toBe(403);
    await call(sb, "DELETE", "/api/v1/namespaces/team/serviceaccounts/temp");
    expect((await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token })).status).toBe(401);
  });
});

describe("impersonation", () => {
  const asApp = { "Impersonate-User": "system:serviceaccount:team:app" };

  it("is refused to a user without the impersonate verb", async () => {
    const token = sb.mintToken("mallory");
    const r = await call(sb, "GET", "/api/v1/namespaces/team/configmaps", { token, headers: asApp });
    expect(r.status).toBe(403);
    expect(String(r.json["message"])).toContain(
      'User "mallory" cannot impersonate resource "serviceaccounts"',
    );
  });

  it("acts with the impersonated account's rights when allowed, and only for the names allowed", async () => {
    await call(sb, "POST", `${rbac}/clusterroles`, {
      body: {
        metadata: { name: "impersonate-app" },
        rules: [
          { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"], resourceNames: ["app"] },
        ],
      },
    });
    await call(sb, "POST", `${rbac}/clusterrolebindings`, {
      body: {
        metadata: { name: "deployer-impersonates-app" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "impersonate-app" },
        subjects: [{ kind: "User", name: "deployer", apiGroup: "rbac.authorization.k8s.io" }],
      },
    });
    const token = sb.mintToken("deployer");
    const read = await call(sb, "GET", "/api/v1/namespaces/team/configmaps/settings", {
      token,
      headers: asApp,
    });
    expect(read.status).toBe(200);
    const del = await call(sb, "DELETE", "/api/v1/namespaces/team/configmaps/settings", {
      token,
      headers: asApp,
    });
    expect(del.status).toBe(403);
    expect(String(del.json["message"])).toContain('User "system:serviceaccount:team:app" cannot delete');
    const asAdmin = await call(sb, "GET", "/api/v1/namespaces", {
      token,
      headers: { "Impersonate-User": "admin" },
    });
    expect(asAdmin.status).toBe(403);
    const masters = await call(sb, "GET", "/api/v1/namespaces", {
      token,
      headers: { ...asApp, "Impersonate-Group": "system:masters" },
    });
    expect(masters.status).toBe(403);
    const review = await call(sb, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      token,
      headers: asApp,
      body: { spec: { resourceAttributes: { namespace: "team", verb: "list", resource: "configmaps" } } },
    });
    expect((review.json["status"] as { allowed: boolean }).allowed).toBe(true);
  });
});

describe("access reviews", () => {
  const sar = (verb: string, namespace: string) => ({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: "system:serviceaccount:team:app",
      groups: ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"],
      resourceAttributes: { namespace, verb, resource: "configmaps" },
    },
  });

  it("answers SubjectAccessReview per RBAC", async () => {
    const path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    const allowed = await call(sb, "POST", path, { body: sar("list", "team") });
    expect(allowed.status).toBe(201);
    expect(allowed.json["status"]).toMatchObject({ allowed: true });
    const denied = await call(sb, "POST", path, { body: sar("delete", "team") });
    expect(denied.json["status"]).toMatchObject({ allowed: false });
    const elsewhere = await call(sb, "POST", path, { body: sar("list", "default") });
    expect(elsewhere.json["status"]).toMatchObject({ allowed: false });
    // Asking is itself authorized: the service account may not review others.
    expect((await call(sb, "POST", path, { token: appToken, body: sar("list", "team") })).status).toBe(403);
  });

  it("answers SelfSubjectAccessReview for the caller", async () => {
    const path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    const body = (verb: string) => ({
      spec: { resourceAttributes: { namespace: "team", verb, resource: "configmaps" } },
    });
    const yes = await call(sb, "POST", path, { token: appToken, body: body("get") });
    expect(yes.json["status"]).toMatchObject({ allowed: true });
    const no = await call(sb, "POST", path, { token: appToken, body: body("update") });
    expect(no.json["status"]).toMatchObject({ allowed: false });
  });
});
