// RBAC privilege-escalation prevention, driven by real kubectl impersonating service accounts: a Role may
// grant only what its writer holds (in that namespace) unless the writer may `escalate`; a binding may
// bind only a role whose rights its writer holds unless the writer may `bind` it (resourceNames honoured).
// kubectl's typed `create` commands send protobuf; the raw-request tests send JSON.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, kubectlFor, type Kubectl } from "./helpers.js";

let sb: Sandbox;
let k: Kubectl;
const rbac = "/apis/rbac.authorization.k8s.io/v1";
const ref = (kind: string, name: string): Record<string, string> => ({
  apiGroup: "rbac.authorization.k8s.io",
  kind,
  name,
});
const sa = (name: string): Record<string, string> => ({ kind: "ServiceAccount", name, namespace: "team" });
const as = (name: string): string => `--as=system:serviceaccount:team:${name}`;
const NOT_HELD = "is attempting to grant RBAC permissions not currently held";

beforeAll(async () => {
  sb = await startSandbox();
  k = await kubectlFor(sb);
  const roleWriter = [
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["roles", "rolebindings"],
      verbs: ["create", "get", "list", "update", "patch"],
    },
  ];
  const setup: [string, unknown][] = [
    ["/api/v1/namespaces", { metadata: { name: "team" } }],
    ["/api/v1/namespaces", { metadata: { name: "other" } }],
    ...["deployer", "escalator", "binder"].map((n): [string, unknown] => [
      "/api/v1/namespaces/team/serviceaccounts",
      { metadata: { name: n } },
    ]),
    // deployer: writes roles and bindings in every namespace, reads config maps in team only.
    [
      `${rbac}/clusterroles`,
      {
        metadata: { name: "rbac-writer" },
        rules: [
          ...roleWriter,
          {
            apiGroups: ["rbac.authorization.k8s.io"],
            resources: ["clusterroles", "clusterrolebindings"],
            verbs: ["create"],
          },
        ],
      },
    ],
    [
      `${rbac}/clusterrolebindings`,
      {
        metadata: { name: "rbac-writers" },
        roleRef: ref("ClusterRole", "rbac-writer"),
        subjects: ["deployer", "escalator", "binder"].map(sa),
      },
    ],
    [
      `${rbac}/namespaces/team/roles`,
      {
        metadata: { name: "cm-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    ],
    [
      `${rbac}/namespaces/team/rolebindings`,
      { metadata: { name: "deployer-reads" }, roleRef: ref("Role", "cm-reader"), subjects: [sa("deployer")] },
    ],
    // escalator: may escalate roles in team.
    [
      `${rbac}/namespaces/team/roles`,
      {
        metadata: { name: "escalate-roles" },
        rules: [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["escalate"] }],
      },
    ],
    [
      `${rbac}/namespaces/team/rolebindings`,
      {
        metadata: { name: "escalator" },
        roleRef: ref("Role", "escalate-roles"),
        subjects: [sa("escalator")],
      },
    ],
    // binder: may bind the ClusterRole "view" (and no other) in team.
    [
      `${rbac}/namespaces/team/roles`,
      {
        metadata: { name: "bind-view" },
        rules: [
          {
            apiGroups: ["rbac.authorization.k8s.io"],
            resources: ["clusterroles"],
            verbs: ["bind"],
            resourceNames: ["view"],
          },
        ],
      },
    ],
    [
      `${rbac}/namespaces/team/rolebindings`,
      { metadata: { name: "binder" }, roleRef: ref("Role", "bind-view"), subjects: [sa("binder")] },
    ],
  ];
  for (const [p, body] of setup) expect((await call(sb, "POST", p, { body })).status).toBe(201);
});

afterAll(async () => {
  await sb.stop();
  await k.cleanup();
});

/** kubectl create role NAME --verb=V --resource=R -n NS, as a service account of team. */
const createRole = (name: string, verb: string, resource: string, ns: string, who: string) =>
  k.run(["create", "role", name, `--verb=${verb}`, `--resource=${resource}`, "-n", ns, as(who)]);
/** kubectl create rolebinding NAME --role|--clusterrole=ROLE --serviceaccount=team:SUBJECT -n NS. */
const createBinding = (name: string, role: string, subject: string, ns: string, who: string) =>
  k.run(["create", "rolebinding", name, role, `--serviceaccount=team:${subject}`, "-n", ns, as(who)]);

async function exists(p: string): Promise<boolean> {
  return (await call(sb, "GET", p)).status === 200;
}

describe("escalation through bindings", () => {
  it("refuses to bind cluster-admin without holding its rights (kubectl create clusterrolebinding)", async () => {
    const r = await k.run([
      "create",
      "clusterrolebinding",
      "pwn",
      "--clusterrole=cluster-admin",
      "--serviceaccount=team:deployer",
      as("deployer"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('clusterrolebindings.rbac.authorization.k8s.io "pwn" is forbidden');
    expect(r.stderr).toContain(NOT_HELD);
    expect(await exists(`${rbac}/clusterrolebindings/pwn`)).toBe(false);
    // ... and the service account still cannot read secrets.
    const secrets = await k.run(["get", "secrets", "-A", as("deployer")]);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain("forbidden");
  });

  it("refuses the same binding sent as JSON, also on dry-run", async () => {
    for (const q of ["", "?dryRun=All"]) {
      const r = await call(sb, "POST", `${rbac}/clusterrolebindings${q}`, {
        headers: { "Impersonate-User": "system:serviceaccount:team:deployer" },
        body: {
          metadata: { name: "pwn-json" },
          roleRef: ref("ClusterRole", "cluster-admin"),
          subjects: [sa("deployer")],
        },
      });
      expect([r.status, r.json["reason"]]).toEqual([403, "Forbidden"]);
      expect(r.json["message"]).toContain(
        `user "system:serviceaccount:team:deployer" (groups=["system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) ${NOT_HELD}:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}`,
      );
    }
    expect(await exists(`${rbac}/clusterrolebindings/pwn-json`)).toBe(false);
  });

  it("binds a role whose rights the writer holds, in that namespace only", async () => {
    const ok = await createBinding("cm-reads", "--role=cm-reader", "binder", "team", "deployer");
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const admin = await createBinding("admins", "--clusterrole=admin", "deployer", "team", "deployer");
    expect(admin.code).not.toBe(0);
    expect(admin.stderr).toContain(NOT_HELD);
    expect(await exists(`${rbac}/namespaces/team/rolebindings/admins`)).toBe(false);
  });

  it("lets `bind` on a named ClusterRole bind that role, and no other", async () => {
    const view = await createBinding("viewers", "--clusterrole=view", "escalator", "team", "binder");
    expect(view.stderr).toBe("");
    expect(view.code).toBe(0);
    const edit = await createBinding("editors", "--clusterrole=edit", "escalator", "team", "binder");
    expect(edit.code).not.toBe(0);
    expect(edit.stderr).toContain(NOT_HELD);
    // bind is granted in team only: the same binding elsewhere is refused.
    const elsewhere = await createBinding("viewers", "--clusterrole=view", "escalator", "other", "binder");
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain(NOT_HELD);
  });

  it("refuses to retarget an existing binding's subjects onto a stronger role by patch", async () => {
    await call(sb, "POST", `${rbac}/namespaces/team/roles`, {
      body: {
        metadata: { name: "secret-reader" },
        rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
      },
    });
    await call(sb, "POST", `${rbac}/namespaces/team/rolebindings`, {
      body: {
        metadata: { name: "secret-reads" },
        roleRef: ref("Role", "secret-reader"),
        subjects: [sa("binder")],
      },
    });
    const r = await k.run([
      "patch",
      "rolebinding",
      "secret-reads",
      "-n",
      "team",
      "--type=json",
      '-p=[{"op":"add","path":"/subjects/-","value":{"kind":"ServiceAccount","name":"deployer","namespace":"team"}}]',
      as("deployer"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(NOT_HELD);
    const b = await call(sb, "GET", `${rbac}/namespaces/team/rolebindings/secret-reads`);
    expect(b.json["subjects"]).toEqual([sa("binder")]);
  });
});

describe("escalation through roles", () => {
  const starRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: star, namespace: team}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
`;

  it("refuses a `*` role by kubectl apply, client-side and server-side", async () => {
    for (const mode of [[], ["--server-side"]]) {
      const r = await k.run(["apply", ...mode, "-f", "-", as("deployer")], { input: starRole });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('roles.rbac.authorization.k8s.io "star" is forbidden');
      expect(r.stderr).toContain('{APIGroups:["*"], Resources:["*"], Verbs:["*"]}');
    }
    expect(await exists(`${rbac}/namespaces/team/roles/star`)).toBe(false);
  });

  it("refuses a role granting secrets get (kubectl create role), also by patching an allowed role", async () => {
    const r = await createRole("peek", "get", "secrets", "team", "deployer");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}');
    expect(await exists(`${rbac}/namespaces/team/roles/peek`)).toBe(false);

    const subset = await createRole("cm-get", "get", "configmaps", "team", "deployer");
    expect(subset.stderr).toBe("");
    expect(subset.code).toBe(0);
    const widen = await k.run([
      "patch",
      "role",
      "cm-get",
      "-n",
      "team",
      "--type=merge",
      '-p={"rules":[{"apiGroups":[""],"resources":["configmaps","secrets"],"verbs":["get"]}]}',
      as("deployer"),
    ]);
    expect(widen.code).not.toBe(0);
    expect(widen.stderr).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}');
    const stored = await call(sb, "GET", `${rbac}/namespaces/team/roles/cm-get`);
    expect(stored.json["rules"]).toEqual([{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]);
  });

  it("honours the namespace: rights held in team do not cover a role in another namespace", async () => {
    const r = await createRole("cm-get", "get", "configmaps", "other", "deployer");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(NOT_HELD);
  });

  it("lets the escalate verb grant what the writer does not hold", async () => {
    const r = await createRole("peek", "get", "secrets", "team", "escalator");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // escalate is on roles in team only.
    const elsewhere = await createRole("peek", "get", "secrets", "other", "escalator");
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain(NOT_HELD);
  });

  it("refuses an aggregationRule without full rights", async () => {
    const r = await call(sb, "POST", `${rbac}/clusterroles`, {
      headers: { "Impersonate-User": "system:serviceaccount:team:escalator" },
      body: {
        metadata: { name: "gather" },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] },
      },
    });
    expect(r.status).toBe(403);
    expect(r.json["message"]).toContain("must have cluster-admin privileges to use the aggregationRule");
  });
});

describe("RBAC object validation", () => {
  it("refuses rules without verbs, groups or resources, and URLs in a Role (422), accepts a whole rule", async () => {
    const role = (rules: unknown[]): Promise<{ status: number; json: Record<string, unknown> }> =>
      call(sb, "POST", `${rbac}/namespaces/team/roles`, { body: { metadata: { name: "shapes" }, rules } });
    const bad = await role([
      { apiGroups: [""], resources: ["pods"] },
      { verbs: ["get"], resources: ["pods"] },
      { verbs: ["get"], nonResourceURLs: ["/healthz"] },
    ]);
    expect(bad.status).toBe(422);
    expect(bad.json["message"]).toContain("rules[0].verbs: Required value");
    expect(bad.json["message"]).toContain("rules[1].apiGroups: Required value");
    expect(bad.json["message"]).toContain("namespaced rules cannot apply to non-resource URLs");
    expect((await role([{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }])).status).toBe(201);
  });

  it("refuses changing a binding's roleRef (even for an admin), allows changing its subjects", async () => {
    const path = `${rbac}/namespaces/team/rolebindings/deployer-reads`;
    const moved = await call(sb, "PATCH", path, {
      body: { roleRef: ref("Role", "escalate-roles") },
      type: "application/merge-patch+json",
    });
    expect(moved.status).toBe(422);
    expect(moved.json["message"]).toContain("cannot change roleRef");
    const subjects = await call(sb, "PATCH", path, {
      body: { subjects: [sa("deployer"), sa("binder")] },
      type: "application/merge-patch+json",
    });
    expect(subjects.status).toBe(200);
  });
});
