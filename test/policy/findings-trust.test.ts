// Findings a team can trust: RBAC rules that know what a namespaced Role can grant, pod security with
// PSA's exact v1.34 semantics, literal secrets in env, Flux/Argo CD objects reported as not inspected, and
// findings that point at the line of the offending field in the real file.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument --
   test data: the tests mutate deep, untyped pod specs in place, as YAML would give them. */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRevision, type CheckReport } from "../../src/policy/check.js";
import { secretName } from "../../src/policy/packs/secret-env.js";
import { render } from "../../src/render/render.js";
import type { Manifest } from "../../src/render/types.js";
import { toolPath } from "../support/tools.js";
import { deployment, mf } from "./support.js";

async function check(objects: Record<string, unknown>[], packs: string[]): Promise<CheckReport> {
  const report = await checkRevision({ manifests: objects.map((o) => mf(o)), packs });
  expect(report.errors).toEqual([]);
  return report;
}

async function hits(objects: Record<string, unknown>[], rule: string, pack: string): Promise<string[]> {
  const report = await check(objects, [pack]);
  return report.findings.filter((f) => f.ruleId === rule).map((f) => f.message);
}

const role = (kind: "Role" | "ClusterRole", rules: unknown[]): Record<string, unknown> => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  metadata: { name: "r", ...(kind === "Role" ? { namespace: "shop" } : {}) },
  rules,
});
const rule = (apiGroups: string[], resources: string[], verbs: string[]): Record<string, unknown> => ({
  apiGroups,
  resources,
  verbs,
});
const c0 = (p: Record<string, any>): Record<string, any> => p["containers"][0];

describe("rbac: what a Role can grant", () => {
  const rbac = "rbac-least-privilege";

  it("rbac/node-proxy fires on a ClusterRole only: a namespaced Role cannot reach nodes/proxy", async () => {
    const proxy = rule([""], ["nodes/proxy"], ["get"]);
    expect(await hits([role("ClusterRole", [proxy])], "rbac/node-proxy", rbac)).toHaveLength(1);
    expect(await hits([role("Role", [proxy])], "rbac/node-proxy", rbac)).toEqual([]);
    // A ClusterRole with * reaches it; a Role with * still does not.
    const all = rule(["*"], ["*"], ["*"]);
    expect(await hits([role("ClusterRole", [all])], "rbac/node-proxy", rbac)).toHaveLength(1);
    expect(await hits([role("Role", [all])], "rbac/node-proxy", rbac)).toEqual([]);
    // nodes/proxy is in the core group: the same name in another group is something else.
    expect(
      await hits(
        [role("ClusterRole", [rule(["metrics.k8s.io"], ["nodes/proxy"], ["get"])])],
        "rbac/node-proxy",
        rbac,
      ),
    ).toEqual([]);
    // RBAC's */<subresource> form names every proxy subresource, nodes/proxy included.
    expect(
      await hits([role("ClusterRole", [rule([""], ["*/proxy"], ["get"])])], "rbac/node-proxy", rbac),
    ).toHaveLength(1);
  });

  it("rbac/manage-webhooks fires on a ClusterRole only, and only in admissionregistration.k8s.io", async () => {
    const hooks = rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"], ["patch"]);
    expect(await hits([role("ClusterRole", [hooks])], "rbac/manage-webhooks", rbac)).toHaveLength(1);
    expect(await hits([role("Role", [hooks])], "rbac/manage-webhooks", rbac)).toEqual([]);
    expect(await hits([role("Role", [rule(["*"], ["*"], ["*"])])], "rbac/manage-webhooks", rbac)).toEqual([]);
    expect(
      await hits([role("ClusterRole", [rule(["*"], ["*"], ["*"])])], "rbac/manage-webhooks", rbac),
    ).toHaveLength(1);
    expect(
      await hits(
        [role("ClusterRole", [rule(["example.com"], ["validatingwebhookconfigurations"], ["patch"])])],
        "rbac/manage-webhooks",
        rbac,
      ),
    ).toEqual([]);
  });

  it("a Role that writes clusterroles grants nothing; one that writes roles still trips rbac/manage-rbac", async () => {
    const g = ["rbac.authorization.k8s.io"];
    expect(
      await hits([role("Role", [rule(g, ["clusterroles"], ["create"])])], "rbac/manage-rbac", rbac),
    ).toEqual([]);
    expect(
      await hits([role("Role", [rule(g, ["roles"], ["create"])])], "rbac/manage-rbac", rbac),
    ).toHaveLength(1);
  });

  it('rbac/escalation-verbs catches verbs: ["*"] on what escalate, bind and impersonate act on', async () => {
    const esc = "rbac/escalation-verbs";
    const rbacGroup = ["rbac.authorization.k8s.io"];
    // * on roles means escalate and bind on roles, in a Role as much as in a ClusterRole.
    expect(await hits([role("Role", [rule(rbacGroup, ["roles"], ["*"])])], esc, rbac)).toEqual([
      "rules[0] grants * (so escalate, bind and impersonate) on roles",
    ]);
    // Everything on everything covers them all.
    expect(await hits([role("ClusterRole", [rule(["*"], ["*"], ["*"])])], esc, rbac)).toHaveLength(1);
    // Impersonating service accounts works within a namespace; impersonating users only cluster-wide.
    expect(await hits([role("Role", [rule([""], ["serviceaccounts"], ["*"])])], esc, rbac)).toHaveLength(1);
    expect(await hits([role("Role", [rule([""], ["users", "groups"], ["*"])])], esc, rbac)).toEqual([]);
    expect(await hits([role("ClusterRole", [rule([""], ["users"], ["*"])])], esc, rbac)).toHaveLength(1);
    // * on pods grants no escalation verb (rbac/wildcard reports the * itself).
    const pods = await check([role("Role", [rule([""], ["pods"], ["*"])])], [rbac]);
    expect(pods.findings.map((f) => f.ruleId)).not.toContain(esc);
    expect(pods.findings.map((f) => f.ruleId)).toContain("rbac/wildcard");
    // Named verbs are found wherever they are, and the finding names the field.
    const named = await check(
      [role("Role", [rule([""], ["pods"], ["get"]), rule(rbacGroup, ["roles"], ["bind"])])],
      [rbac],
    );
    expect(named.findings.find((f) => f.ruleId === esc)).toMatchObject({ path: "/rules/1/verbs" });
  });
});

describe("pod security as PSA v1.34", () => {
  const restricted = "pod-security-restricted";
  const baseline = "pod-security-baseline";
  const pod = (mutate: (p: Record<string, any>) => void): Record<string, unknown>[] => [
    deployment("a", mutate),
  ];

  it('drop: ["all"] is not "ALL": capability names are compared exactly, as PSA does', async () => {
    const drop = "pod-security/capabilities-drop-all";
    expect(
      await hits(
        pod((p) => (c0(p).securityContext.capabilities = { drop: ["all"] })),
        drop,
        restricted,
      ),
    ).toEqual(['container "app" drops "all", not "ALL" (capability names are case-sensitive)']);
    expect(
      await hits(
        pod((p) => (c0(p).securityContext.capabilities = { drop: ["ALL"] })),
        drop,
        restricted,
      ),
    ).toEqual([]);
    // add: only NET_BIND_SERVICE, exactly.
    for (const cap of ["net_bind_service", "CAP_NET_BIND_SERVICE"])
      expect(
        await hits(
          pod((p) => (c0(p).securityContext.capabilities = { drop: ["ALL"], add: [cap] })),
          drop,
          restricted,
        ),
      ).toEqual([`container "app" adds capability ${cap}`]);
    // Baseline's default set is exact too: "CAP_CHOWN" and "chown" are not CHOWN.
    const caps = "pod-security/capabilities";
    for (const cap of ["CAP_CHOWN", "chown"])
      expect(
        await hits(
          pod((p) => (c0(p).securityContext.capabilities.add = [cap])),
          caps,
          baseline,
        ),
      ).toHaveLength(1);
    expect(
      await hits(
        pod((p) => (c0(p).securityContext.capabilities.add = ["CHOWN"])),
        caps,
        baseline,
      ),
    ).toEqual([]);
  });

  it("init and ephemeral containers are held to the Restricted controls like the others", async () => {
    const bare = { name: "x", image: "registry.example.com/team/app@sha256:" + "a".repeat(64) };
    for (const list of ["initContainers", "ephemeralContainers"]) {
      const report = await check(
        pod((p) => (p[list] = [{ ...bare }])),
        [restricted],
      );
      const ids = report.findings.map((f) => f.ruleId).sort();
      expect(ids, list).toEqual(["pod-security/capabilities-drop-all", "pod-security/privilege-escalation"]);
    }
  });

  it("a Windows pod is exempt from the Linux-only controls, not from runAsNonRoot", async () => {
    const windows = pod((p) => {
      p["os"] = { name: "windows" };
      delete p["securityContext"].seccompProfile;
      c0(p).securityContext = {};
    });
    expect((await check(windows, [restricted])).findings.map((f) => f.ruleId)).toEqual([]);
    const linux = pod((p) => {
      p["os"] = { name: "linux" };
      delete p["securityContext"].seccompProfile;
      c0(p).securityContext = {};
    });
    expect((await check(linux, [restricted])).findings.map((f) => f.ruleId).sort()).toEqual([
      "pod-security/capabilities-drop-all",
      "pod-security/privilege-escalation",
      "pod-security/seccomp-required",
    ]);
    const root = pod((p) => {
      p["os"] = { name: "windows" };
      delete p["securityContext"].runAsNonRoot;
    });
    expect(await hits(root, "pod-security/run-as-non-root", restricted)).toHaveLength(1);
  });

  it("a bad pod-level seccomp profile is refused even when every container sets a good one", async () => {
    const good = { type: "RuntimeDefault" };
    const report = await check(
      pod((p) => {
        p["securityContext"].seccompProfile = { type: "Unconfined" };
        c0(p).securityContext.seccompProfile = good;
      }),
      [restricted],
    );
    expect(
      report.findings.filter((f) => f.ruleId === "pod-security/seccomp-required").map((f) => f.message),
    ).toEqual(["the pod sets seccompProfile type Unconfined"]);
    // A profile without a type (or a misspelt type) is not RuntimeDefault: Baseline refuses it too.
    for (const profile of [{}, { type: "runtimedefault" }])
      expect(
        await hits(
          pod((p) => (c0(p).securityContext.seccompProfile = profile)),
          "pod-security/seccomp",
          baseline,
        ),
      ).toHaveLength(1);
    expect(
      await hits(
        pod(
          (p) => (c0(p).securityContext.seccompProfile = { type: "Localhost", localhostProfile: "a.json" }),
        ),
        "pod-security/seccomp",
        baseline,
      ),
    ).toEqual([]);
  });

  it("runAsNonRoot: false at pod level is refused even when the containers say true", async () => {
    const rule = "pod-security/run-as-non-root";
    expect(
      await hits(
        pod((p) => {
          p["securityContext"].runAsNonRoot = false;
          c0(p).securityContext.runAsNonRoot = true;
        }),
        rule,
        restricted,
      ),
    ).toEqual(["the pod sets runAsNonRoot: false"]);
    expect(
      await hits(
        pod((p) => {
          delete p["securityContext"].runAsNonRoot;
          c0(p).securityContext.runAsNonRoot = true;
        }),
        rule,
        restricted,
      ),
    ).toEqual([]);
    // hostUsers: false does not relax it at policy version 1.34.
    expect(
      await hits(
        pod((p) => {
          p["hostUsers"] = false;
          delete p["securityContext"].runAsNonRoot;
        }),
        rule,
        restricted,
      ),
    ).toHaveLength(1);
  });

  it("accepts what PSA v1.34 accepts: image volumes, tcp_rmem/tcp_wmem, an empty AppArmor annotation, null fields", async () => {
    const report = await check(
      [
        {
          ...deployment("a", (p) => {
            p["volumes"].push({ name: "img", image: { reference: "registry.example.com/team/data:1" } });
            p["volumes"].push({ name: "h", hostPath: null, emptyDir: {} });
            p["securityContext"].sysctls = [
              { name: "net.ipv4.tcp_rmem", value: "4096 87380 6291456" },
              { name: "net.ipv4.tcp_wmem", value: "4096 16384 4194304" },
            ];
            c0(p).ports = [{ containerPort: 8080, hostPort: null }];
          }),
        },
      ],
      [restricted],
    );
    expect(report.findings).toEqual([]);
    const annotated = deployment("a") as any;
    annotated.spec.template.metadata.annotations = {
      "container.apparmor.security.beta.kubernetes.io/app": "",
    };
    expect((await check([annotated], [restricted])).findings).toEqual([]);
    annotated.spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"] =
      "unconfined";
    expect((await check([annotated], [restricted])).findings.map((f) => f.ruleId)).toEqual([
      "pod-security/apparmor",
    ]);
    // An appArmorProfile without a type is not an allowed profile.
    expect(
      await hits(
        pod((p) => (c0(p).securityContext.appArmorProfile = {})),
        "pod-security/apparmor",
        baseline,
      ),
    ).toHaveLength(1);
  });
});

describe("secrets/env-literal", () => {
  const env = (list: unknown[], where = "containers"): Record<string, unknown>[] => [
    deployment("a", (p) => {
      if (where === "containers") c0(p).env = list;
      else p[where] = [{ ...c0(p), name: "init", env: list }];
    }),
  ];

  it("reports a secret-named variable with a literal value, in any container list, without the value", async () => {
    const report = await check(env([{ name: "MYSQL_ROOT_PASSWORD", value: "fake_password" }]), [
      "secrets-hygiene",
    ]);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      ruleId: "secrets/env-literal",
      severity: "high",
      message: 'container "app" sets MYSQL_ROOT_PASSWORD to a literal value in the pod spec',
      path: "/spec/template/spec/containers/0/env/0/value",
    });
    expect(JSON.stringify(report)).not.toContain("fake_password");
    expect(
      await hits(
        env([{ name: "dbPassword", value: "x1" }], "initContainers"),
        "secrets/env-literal",
        "secrets-hygiene",
      ),
    ).toEqual(['initContainer "init" sets dbPassword to a literal value in the pod spec']);
  });

  it("leaves valueFrom, references to other variables, file paths, empty values and non-secret names alone", async () => {
    const quiet = [
      { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "pw" } } },
      { name: "DB_PASSWORD_2", value: "$(DB_PASSWORD)" },
      { name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/google/key.json" },
      { name: "API_TOKEN", value: "" },
      { name: "TOKEN_TTL", value: "3600" },
      { name: "PUBLIC_KEY", value: "ssh-ed25519 AAAA" },
      { name: "PWD", value: "/app" },
    ];
    expect(await hits(env(quiet), "secrets/env-literal", "secrets-hygiene")).toEqual([]);
  });

  it("knows secret names by their last word", () => {
    for (const n of [
      "API_KEY",
      "apiKey",
      "AWS_SECRET_ACCESS_KEY",
      "JWT_SECRET",
      "GITHUB_TOKEN",
      "DB_PASS",
      "SIGNING_KEY",
    ])
      expect(secretName(n), n).toBe(true);
    for (const n of ["PASSWORD_FILE", "SECRET_NAME", "CACHE_KEY", "MONKEY", "KEY", "BYPASS", "PWD"])
      expect(secretName(n), n).toBe(false);
  });
});

describe("policy/not-inspected", () => {
  it("names each Flux and Argo CD deployer and what it deploys, at low severity", async () => {
    const objs = [
      {
        apiVersion: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: { name: "apps", namespace: "flux-system" },
        spec: { path: "./apps/prod", sourceRef: { kind: "GitRepository", name: "flux-system" } },
      },
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: "guestbook", namespace: "argocd" },
        spec: { source: { repoURL: "https://github.com/argoproj/argocd-example-apps", path: "guestbook" } },
      },
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "ApplicationSet",
        metadata: { name: "set", namespace: "argocd" },
        spec: { generators: [] },
      },
    ];
    // Whichever pack is selected, the report says what it did not see.
    const report = await check(objs, ["network-isolation"]);
    expect(report.findings.map((f) => [f.ruleId, f.severity, f.message])).toEqual([
      [
        "policy/not-inspected",
        "low",
        "Kustomization apps applies path ./apps/prod of GitRepository flux-system; gitward does not render it, so the objects it deploys were not checked",
      ],
      [
        "policy/not-inspected",
        "low",
        "Application guestbook deploys https://github.com/argoproj/argocd-example-apps (guestbook); gitward does not render it, so the objects it deploys were not checked",
      ],
      [
        "policy/not-inspected",
        "low",
        "ApplicationSet set generates Argo CD Applications from its generators; gitward does not render it, so the objects it deploys were not checked",
      ],
    ]);
    // The same kind names in other groups are not deployers.
    const other = await check(
      [{ apiVersion: "example.com/v1", kind: "Application", metadata: { name: "x", namespace: "shop" } }],
      ["network-isolation"],
    );
    expect(other.findings).toEqual([]);
  });
});

describe("findings point at the offending field's line", () => {
  let repo: string;
  beforeAll(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), "gitward-lines-"));
  });
  afterAll(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  // A Deployment whose privileged: true is on line 23 (after a ConfigMap document, so the object itself
  // starts on line 8), with no allowPrivilegeEscalation in the container's securityContext (line 22).
  const text = [
    "apiVersion: v1", // 1
    "kind: ConfigMap",
    "metadata:",
    "  name: cfg",
    "data:",
    "  a: b",
    "---",
    "apiVersion: apps/v1", // 8
    "kind: Deployment",
    "metadata:",
    "  name: web",
    "  namespace: shop",
    "spec:",
    "  selector: { matchLabels: { app: web } }",
    "  template:",
    "    metadata: { labels: { app: web } }",
    "    spec:",
    "      securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }",
    "      containers:",
    "        - name: app", // 20
    "          image: registry.example.com/team/app@sha256:" + "a".repeat(64),
    "          securityContext:", // 22
    "            privileged: true", // 23
    "            capabilities:",
    '              drop: ["ALL"]',
    "",
  ].join("\n");

  async function renderedFindings(rel: string): Promise<CheckReport["findings"]> {
    const r = await render({ repoRoot: repo, path: rel, type: "directory" });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const report = await checkRevision({ manifests: r.manifests, packs: ["pod-security-restricted"] });
    return report.findings;
  }

  it("privileged: true on line 23 is reported at line 23, a missing field at its parent's line", async () => {
    await mkdir(path.join(repo, "apps"), { recursive: true });
    await writeFile(path.join(repo, "apps", "web.yaml"), text);
    const findings = await renderedFindings("apps");
    expect(findings.map((f) => [f.ruleId, f.origin.file, f.origin.line, f.path])).toEqual([
      [
        "pod-security/privilege-escalation",
        "apps/web.yaml",
        22,
        "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation",
      ],
      [
        "pod-security/privileged",
        "apps/web.yaml",
        23,
        "/spec/template/spec/containers/0/securityContext/privileged",
      ],
    ]);
  });

  it("supply-chain findings point at the image line", async () => {
    await mkdir(path.join(repo, "tag"), { recursive: true });
    const tagged = text.replace(/image: .*/, "image: registry.example.com/team/app:1.0");
    await writeFile(path.join(repo, "tag", "web.yaml"), tagged);
    const r = await render({ repoRoot: repo, path: "tag", type: "directory" });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const report = await checkRevision({ manifests: r.manifests, packs: ["supply-chain"] });
    expect(report.findings.map((f) => [f.ruleId, f.origin.line, f.path])).toEqual([
      ["supply-chain/digest", 21, "/spec/template/spec/containers/0/image"],
    ]);
  });

  it("JSON and v1 List items are located too", async () => {
    const obj = JSON.parse(
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [deployment("a", (p) => (c0(p).securityContext.privileged = true))],
      }),
    );
    await mkdir(path.join(repo, "json"), { recursive: true });
    await writeFile(path.join(repo, "json", "list.json"), JSON.stringify(obj, null, 2));
    const findings = await renderedFindings("json");
    const f = findings.find((x) => x.ruleId === "pod-security/privileged");
    const lines = JSON.stringify(obj, null, 2).split("\n");
    expect(lines[(f?.origin.line ?? 0) - 1]).toContain('"privileged": true');
  });

  async function kustomized(dir: string, kustomization: string): Promise<CheckReport["findings"]> {
    await mkdir(path.join(repo, dir), { recursive: true });
    await writeFile(path.join(repo, dir, "web.yaml"), text);
    await writeFile(path.join(repo, dir, "kustomization.yaml"), kustomization);
    const r = await render({
      repoRoot: repo,
      path: dir,
      type: "kustomize",
      tools: { kubectl: toolPath("kubectl") },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return (await checkRevision({ manifests: r.manifests, packs: ["pod-security-restricted"] })).findings;
  }

  it("kustomize output points into the base file where the value is as written there", async () => {
    const findings = await kustomized("k", "namespace: shop\nresources:\n  - web.yaml\n");
    expect(findings.map((f) => [f.ruleId, f.origin.file, f.origin.line])).toEqual([
      ["pod-security/privilege-escalation", "k/web.yaml", 22],
      ["pod-security/privileged", "k/web.yaml", 23],
    ]);
  });

  it("a field a kustomize patch changed has no line in the base: the finding keeps the object's line", async () => {
    const patch = [
      "resources:",
      "  - web.yaml",
      "patches:",
      "  - target: { kind: Deployment, name: web }",
      "    patch: |",
      "      - op: add",
      "        path: /spec/template/spec/hostNetwork",
      "        value: true",
      "      - op: replace",
      "        path: /spec/template/spec/containers/0/securityContext/capabilities/drop",
      '        value: ["NET_RAW"]',
      "",
    ].join("\n");
    const findings = await kustomized("kp", patch);
    expect(findings.map((f) => [f.ruleId, f.origin.file, f.origin.line])).toEqual([
      // hostNetwork is not in the base file at all, and the base drops ALL where the patch drops NET_RAW:
      // both keep the object's line, as does the missing allowPrivilegeEscalation, whose parent
      // securityContext the patch changed. The field the patch left alone keeps its line.
      ["pod-security/capabilities-drop-all", "kp/web.yaml", 8],
      ["pod-security/host-namespaces", "kp/web.yaml", 8],
      ["pod-security/privilege-escalation", "kp/web.yaml", 8],
      ["pod-security/privileged", "kp/web.yaml", 23],
    ]);
  });

  it("a finding on a hand-built Manifest keeps the object's origin", async () => {
    const m: Manifest = mf(deployment("a", (p) => (c0(p).securityContext.privileged = true)));
    const report = await checkRevision({ manifests: [m], packs: ["pod-security-restricted"] });
    expect(report.findings.map((f) => f.origin)).toEqual([m.origin]);
  });
});
