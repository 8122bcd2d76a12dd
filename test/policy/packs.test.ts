// Every built-in rule, with an object that violates it and one that passes it: the rule must report the
// first and stay silent on the second.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-assignment --
   test data: the tests mutate deep, untyped pod specs in place, as YAML would give them. */
import { describe, expect, it } from "vitest";
import { checkRevision, type CheckOptions } from "../../src/policy/check.js";
import { builtinPack, PACK_IDS } from "../../src/policy/packs.js";
import { parseImageRef } from "../../src/policy/packs/supply-chain.js";
import type { Manifest } from "../../src/render/types.js";
import { deployment, denyAll, DIGEST, mf } from "./support.js";

type Opts = Omit<CheckOptions, "manifests">;
interface Case {
  rule: string;
  bad: Record<string, unknown>[];
  good: Record<string, unknown>[];
  opts?: Opts;
}

async function ruleIds(objects: Record<string, unknown>[], opts: Opts = {}): Promise<string[]> {
  const report = await checkRevision({ manifests: objects.map((o) => mf(o)), packs: [...PACK_IDS], ...opts });
  expect(report.errors).toEqual([]);
  return report.findings.map((f) => f.ruleId);
}

const pod = (name: string, m: Parameters<typeof deployment>[1]): Record<string, unknown>[] => [
  deployment(name, m),
  denyAll(),
];
const c0 = (p: Record<string, any>): Record<string, any> => p["containers"][0];

const role = (kind: string, rules: unknown[], ns?: string): Record<string, unknown> => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  metadata: { name: `r-${kind.toLowerCase()}`, ...(ns === undefined ? {} : { namespace: ns }) },
  rules,
});
const binding = (
  kind: string,
  roleRef: { kind: string; name: string },
  subject = "app",
  ns?: string,
): Record<string, unknown> => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  metadata: {
    name: `b-${roleRef.name}-${kind.toLowerCase()}`,
    ...(ns === undefined ? {} : { namespace: ns }),
  },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
  subjects: [{ kind: "ServiceAccount", name: subject, namespace: "shop" }],
});

const CASES: Case[] = [
  {
    rule: "pod-security/host-process",
    bad: pod("a", (p) => (p["securityContext"].windowsOptions = { hostProcess: true })),
    good: pod("a", (p) => (p["securityContext"].windowsOptions = { hostProcess: false })),
  },
  {
    rule: "pod-security/host-namespaces",
    bad: pod("a", (p) => (p["hostPID"] = true)),
    good: pod("a", (p) => (p["hostPID"] = false)),
  },
  {
    rule: "pod-security/privileged",
    bad: pod("a", (p) => (c0(p)["securityContext"].privileged = true)),
    good: pod("a", (p) => (c0(p)["securityContext"].privileged = false)),
  },
  {
    rule: "pod-security/capabilities",
    bad: pod("a", (p) => (c0(p)["securityContext"].capabilities.add = ["SYS_ADMIN"])),
    good: pod("a", (p) => (c0(p)["securityContext"].capabilities.add = ["CHOWN"])),
  },
  {
    rule: "pod-security/host-path",
    bad: pod("a", (p) => p["volumes"].push({ name: "h", hostPath: { path: "/" } })),
    good: pod("a", (p) => p["volumes"].push({ name: "e", emptyDir: {} })),
  },
  {
    rule: "pod-security/host-ports",
    bad: pod("a", (p) => (c0(p)["ports"] = [{ containerPort: 80, hostPort: 80 }])),
    good: pod("a", (p) => (c0(p)["ports"] = [{ containerPort: 80, hostPort: 0 }])),
  },
  {
    rule: "pod-security/apparmor",
    bad: [
      {
        ...deployment("a"),
        spec: {
          ...(deployment("a")["spec"] as object),
          template: {
            metadata: { annotations: { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" } },
            spec: (deployment("a") as any).spec.template.spec,
          },
        },
      },
      denyAll(),
    ],
    good: pod("a", (p) => (p["securityContext"].appArmorProfile = { type: "RuntimeDefault" })),
  },
  {
    rule: "pod-security/selinux",
    bad: pod("a", (p) => (c0(p)["securityContext"].seLinuxOptions = { type: "spc_t" })),
    good: pod(
      "a",
      (p) => (c0(p)["securityContext"].seLinuxOptions = { type: "container_t", level: "s0:c1" }),
    ),
  },
  {
    rule: "pod-security/proc-mount",
    bad: pod("a", (p) => (c0(p)["securityContext"].procMount = "Unmasked")),
    good: pod("a", (p) => (c0(p)["securityContext"].procMount = "Default")),
  },
  {
    rule: "pod-security/seccomp",
    bad: pod("a", (p) => (c0(p)["securityContext"].seccompProfile = { type: "Unconfined" })),
    good: pod(
      "a",
      (p) => (c0(p)["securityContext"].seccompProfile = { type: "Localhost", localhostProfile: "x.json" }),
    ),
  },
  {
    rule: "pod-security/sysctls",
    bad: pod("a", (p) => (p["securityContext"].sysctls = [{ name: "kernel.msgmax", value: "1" }])),
    good: pod("a", (p) => (p["securityContext"].sysctls = [{ name: "net.ipv4.tcp_syncookies", value: "1" }])),
  },
  {
    rule: "pod-security/host-probes",
    bad: pod(
      "a",
      (p) =>
        (c0(p)["livenessProbe"] = { httpGet: { path: "/healthz", port: 8080, host: "169.254.169.254" } }),
    ),
    good: pod("a", (p) => (c0(p)["livenessProbe"] = { httpGet: { path: "/healthz", port: 8080, host: "" } })),
  },
  {
    rule: "pod-security/volume-types",
    bad: pod("a", (p) => p["volumes"].push({ name: "n", nfs: { server: "x", path: "/" } })),
    good: pod("a", (p) => p["volumes"].push({ name: "p", persistentVolumeClaim: { claimName: "x" } })),
  },
  {
    rule: "pod-security/privilege-escalation",
    bad: pod("a", (p) => delete c0(p)["securityContext"].allowPrivilegeEscalation),
    good: pod("a", () => undefined),
  },
  {
    rule: "pod-security/run-as-non-root",
    bad: pod("a", (p) => delete p["securityContext"].runAsNonRoot),
    good: pod("a", (p) => {
      delete p["securityContext"].runAsNonRoot;
      c0(p)["securityContext"].runAsNonRoot = true;
    }),
  },
  {
    rule: "pod-security/run-as-user",
    bad: pod("a", (p) => (c0(p)["securityContext"].runAsUser = 0)),
    good: pod("a", (p) => (c0(p)["securityContext"].runAsUser = 1000)),
  },
  {
    rule: "pod-security/seccomp-required",
    bad: pod("a", (p) => delete p["securityContext"].seccompProfile),
    good: pod("a", (p) => {
      delete p["securityContext"].seccompProfile;
      c0(p)["securityContext"].seccompProfile = { type: "RuntimeDefault" };
    }),
  },
  {
    rule: "pod-security/capabilities-drop-all",
    bad: pod("a", (p) => (c0(p)["securityContext"].capabilities = { drop: ["NET_RAW"] })),
    good: pod(
      "a",
      (p) => (c0(p)["securityContext"].capabilities = { drop: ["ALL"], add: ["NET_BIND_SERVICE"] }),
    ),
  },
  {
    rule: "rbac/wildcard",
    bad: [role("Role", [{ apiGroups: [""], resources: ["*"], verbs: ["get"] }], "shop")],
    good: [role("Role", [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }], "shop")],
  },
  {
    rule: "rbac/cluster-admin-binding",
    bad: [binding("RoleBinding", { kind: "ClusterRole", name: "cluster-admin" }, "app", "shop")],
    good: [binding("RoleBinding", { kind: "ClusterRole", name: "view" }, "app", "shop")],
  },
  {
    rule: "rbac/escalation-verbs",
    bad: [
      role(
        "Role",
        [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["bind"] }],
        "shop",
      ),
    ],
    good: [
      role(
        "Role",
        [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["get"] }],
        "shop",
      ),
    ],
  },
  {
    rule: "rbac/cluster-secrets-read",
    bad: [
      role("ClusterRole", [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }]),
      binding("ClusterRoleBinding", { kind: "ClusterRole", name: "r-clusterrole" }),
    ],
    // The same ClusterRole granted only through a RoleBinding reads secrets of one namespace.
    good: [
      role("ClusterRole", [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }]),
      binding("RoleBinding", { kind: "ClusterRole", name: "r-clusterrole" }, "app", "shop"),
    ],
  },
  {
    rule: "rbac/cluster-scoped-in-namespaced-app",
    bad: [role("ClusterRole", [])],
    good: [role("Role", [], "shop")],
    opts: { destinationNamespace: "shop" },
  },
  {
    rule: "rbac/default-service-account-binding",
    bad: [binding("RoleBinding", { kind: "Role", name: "r" }, "default", "shop")],
    good: [binding("RoleBinding", { kind: "Role", name: "r" }, "app", "shop")],
  },
  {
    rule: "rbac/manage-rbac",
    bad: [
      role(
        "Role",
        [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["create"] }],
        "shop",
      ),
    ],
    good: [
      role(
        "Role",
        [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["get", "list"] }],
        "shop",
      ),
    ],
  },
  {
    rule: "rbac/pod-exec",
    bad: [role("Role", [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }], "shop")],
    good: [role("Role", [{ apiGroups: [""], resources: ["pods/log"], verbs: ["get"] }], "shop")],
  },
  {
    rule: "rbac/node-proxy",
    bad: [role("ClusterRole", [{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }])],
    good: [role("ClusterRole", [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }])],
  },
  {
    rule: "rbac/manage-workloads",
    bad: [role("Role", [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }], "shop")],
    good: [role("Role", [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }], "shop")],
  },
  {
    rule: "rbac/manage-networking",
    bad: [
      role(
        "Role",
        [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["delete"] }],
        "shop",
      ),
    ],
    good: [
      role(
        "Role",
        [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get"] }],
        "shop",
      ),
    ],
  },
  {
    rule: "rbac/manage-webhooks",
    bad: [
      role("ClusterRole", [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["validatingwebhookconfigurations"],
          verbs: ["patch"],
        },
      ]),
    ],
    good: [
      role("ClusterRole", [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["validatingwebhookconfigurations"],
          verbs: ["list"],
        },
      ]),
    ],
  },
  {
    rule: "secrets/configmap-secret",
    bad: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "shop" },
        data: { db_password: "x" },
      },
    ],
    good: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "shop" },
        data: { log_level: "info", password_policy_url: "https://x" },
      },
    ],
  },
  {
    rule: "network/default-deny",
    bad: [deployment("a"), { ...denyAll(), spec: { podSelector: {}, policyTypes: ["Ingress"] } }],
    good: [
      deployment("a"),
      {
        ...denyAll(),
        metadata: { name: "in", namespace: "shop" },
        spec: { podSelector: {}, policyTypes: ["Ingress"] },
      },
      {
        ...denyAll(),
        metadata: { name: "out", namespace: "shop" },
        spec: { podSelector: {}, policyTypes: ["Egress"] },
      },
    ],
  },
  {
    rule: "secrets/plain-secret",
    bad: [
      { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "shop" }, data: { a: "YQ==" } },
    ],
    good: [
      {
        apiVersion: "bitnami.com/v1alpha1",
        kind: "SealedSecret",
        metadata: { name: "s", namespace: "shop" },
        spec: {},
      },
    ],
  },
  {
    rule: "secrets/env-literal",
    bad: pod("a", (p) => (c0(p)["env"] = [{ name: "MYSQL_ROOT_PASSWORD", value: "fake_password" }])),
    good: pod(
      "a",
      (p) =>
        (c0(p)["env"] = [
          { name: "MYSQL_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "root" } } },
          { name: "PASSWORD_FILE", value: "/run/secrets/db" },
          { name: "LOG_LEVEL", value: "info" },
        ]),
    ),
  },
  {
    rule: "policy/not-inspected",
    bad: [
      {
        apiVersion: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: { name: "podinfo", namespace: "shop" },
        spec: {
          chart: { spec: { chart: "podinfo", sourceRef: { kind: "HelmRepository", name: "podinfo" } } },
        },
      },
    ],
    // A kustomize.config.k8s.io Kustomization is kustomize's own file, not a Flux object.
    good: [
      {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        metadata: { name: "k", namespace: "shop" },
      },
    ],
  },
  {
    rule: "supply-chain/latest-tag",
    bad: pod("a", (p) => (c0(p)["image"] = "registry.example.com/team/app")),
    good: pod("a", (p) => (c0(p)["image"] = `registry.example.com/team/app@${DIGEST}`)),
  },
  {
    rule: "supply-chain/digest",
    bad: pod("a", (p) => (c0(p)["image"] = "registry.example.com/team/app:1.0")),
    good: pod("a", () => undefined),
  },
  {
    rule: "supply-chain/registry",
    bad: pod("a", (p) => (c0(p)["image"] = `registry.example.com/team-evil/app:1@${DIGEST}`)),
    good: pod("a", () => undefined),
    opts: { imagePolicy: { registries: ["registry.example.com/team/"] } },
  },
];

describe("built-in rules", () => {
  it("every built-in rule has a case here", () => {
    const ids = new Set(
      PACK_IDS.flatMap((p) =>
        builtinPack(p, { registries: ["registry.example.com/team/"] }).rules.map((r) => r.id),
      ),
    );
    expect(new Set(CASES.map((c) => c.rule))).toEqual(ids);
  });

  for (const c of CASES) {
    it(`${c.rule} rejects the violating object and accepts the passing one`, async () => {
      expect(await ruleIds(c.bad, c.opts)).toContain(c.rule);
      const good = await ruleIds(c.good, c.opts);
      expect(good).not.toContain(c.rule);
      // The passing variants are otherwise clean (except the restricted rules a baseline-only change trips).
      expect(
        good.filter((r) => !r.startsWith("pod-security/") || !c.rule.startsWith("pod-security/")),
      ).toEqual([]);
    });
  }

  it("pod-security/host-probes covers every probe and hook, httpGet and tcpSocket, in every container list", async () => {
    const handler = (kind: "httpGet" | "tcpSocket", host?: unknown): Record<string, unknown> => ({
      [kind]: { port: 8080, ...(host === undefined ? {} : { host }) },
    });
    const placements: [string, (c: Record<string, any>, h: Record<string, unknown>) => void][] = [
      ["livenessProbe", (c, h) => (c["livenessProbe"] = h)],
      ["readinessProbe", (c, h) => (c["readinessProbe"] = h)],
      ["startupProbe", (c, h) => (c["startupProbe"] = h)],
      ["lifecycle.postStart", (c, h) => (c["lifecycle"] = { postStart: h })],
      ["lifecycle.preStop", (c, h) => (c["lifecycle"] = { preStop: h })],
    ];
    const lists = ["containers", "initContainers", "ephemeralContainers"] as const;
    for (const list of lists) {
      for (const [where, place] of placements) {
        for (const kind of ["httpGet", "tcpSocket"] as const) {
          const messages = async (host?: unknown): Promise<string[]> => {
            const d = deployment("a", (p) => {
              const c = { ...c0(p), name: "probe" };
              place(c, handler(kind, host));
              if (list === "containers") p["containers"] = [c];
              else p[list] = [c];
            });
            const report = await checkRevision({ manifests: [mf(d)], packs: ["pod-security-baseline"] });
            return report.findings
              .filter((f) => f.ruleId === "pod-security/host-probes")
              .map((f) => f.message);
          };
          expect(await messages("10.0.0.1"), `${list} ${where}.${kind}`).toEqual([
            `${list.replace(/s$/, "")} "probe" sets ${where}.${kind}.host 10.0.0.1`,
          ]);
          // Unset, empty or null all mean "the pod's IP", which the standard allows.
          for (const allowed of [undefined, "", null])
            expect(await messages(allowed), `${list} ${where}.${kind} ${String(allowed)}`).toEqual([]);
        }
      }
    }
    // Restricted includes every Baseline control.
    const restricted = await checkRevision({
      manifests: [mf(deployment("a", (p) => (c0(p)["startupProbe"] = handler("tcpSocket", "node"))))],
      packs: ["pod-security-restricted"],
    });
    expect(restricted.findings.map((f) => f.ruleId)).toContain("pod-security/host-probes");
  });

  it("finds the pod template of every workload kind", async () => {
    const spec = (
      deployment("x", (p) => (p["containers"][0].securityContext.privileged = true))["spec"] as {
        template: unknown;
      }
    ).template;
    const t = spec as { spec: unknown };
    const md = { name: "w", namespace: "shop" };
    const objs = [
      { apiVersion: "v1", kind: "Pod", metadata: md, spec: t.spec },
      { apiVersion: "apps/v1", kind: "Deployment", metadata: md, spec: { template: spec } },
      { apiVersion: "apps/v1", kind: "StatefulSet", metadata: md, spec: { template: spec } },
      { apiVersion: "apps/v1", kind: "DaemonSet", metadata: md, spec: { template: spec } },
      { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: md, spec: { template: spec } },
      { apiVersion: "batch/v1", kind: "Job", metadata: md, spec: { template: spec } },
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: md,
        spec: { schedule: "* * * * *", jobTemplate: { spec: { template: spec } } },
      },
    ];
    const report = await checkRevision({
      manifests: objs.map((o) => mf(o)),
      packs: ["pod-security-baseline"],
    });
    expect(
      report.findings
        .filter((f) => f.ruleId === "pod-security/privileged")
        .map((f) => f.object?.kind)
        .sort(),
    ).toEqual(["CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "StatefulSet"]);
  });

  it("a clean revision passes every pack, with file:line origins on findings", async () => {
    const manifests: Manifest[] = [mf(deployment("a"), "apps/a.yaml"), mf(denyAll(), "apps/np.yaml")];
    const clean = await checkRevision({ manifests, packs: [...PACK_IDS] });
    expect(clean.findings).toEqual([]);
    const bad = await checkRevision({
      manifests: [
        mf(
          deployment("a", (p) => (p["hostNetwork"] = true)),
          "apps/a.yaml",
        ),
      ],
      packs: [...PACK_IDS],
    });
    const f = bad.findings.find((x) => x.ruleId === "pod-security/host-namespaces");
    expect(f).toMatchObject({
      severity: "high",
      object: { kind: "Deployment", name: "a", namespace: "shop" },
      origin: { file: "apps/a.yaml" },
    });
    expect(f?.remediation).toMatch(/hostNetwork/);
  });

  it("an unknown pack is an error, not a silent pass", async () => {
    const report = await checkRevision({ manifests: [], packs: ["no-such-pack"] });
    expect(report.errors.map((e) => e.code)).toEqual(["BAD_POLICY"]);
  });
});

describe("image references", () => {
  it("parse like the container runtimes", () => {
    expect(parseImageRef("nginx")).toEqual({ registry: "docker.io", repository: "library/nginx" });
    expect(parseImageRef("localhost:5000/a/b:1@sha256:x")).toEqual({
      registry: "localhost:5000",
      repository: "a/b",
      tag: "1",
      digest: "sha256:x",
    });
    expect(parseImageRef("team/app:2")).toEqual({ registry: "docker.io", repository: "team/app", tag: "2" });
  });
});
