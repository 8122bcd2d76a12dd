// The install manifests as committed and as shipped: deploy/install and the Helm chart equal what the
// generator (src/install) writes, `helm lint` passes, the chart's default render is the generator's objects,
// the objects meet Pod Security `restricted` and least privilege, and `gitward check` finds nothing in them.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/cluster/client.js";
import { ConfigError } from "../../src/config/errors.js";
import { renderChartFiles, renderInstallFiles } from "../../src/install/files.js";
import { DEFAULT_IMAGE, digestPinnedImage } from "../../src/install/image.js";
import { installManifests, installObjects } from "../../src/install/manifests.js";
import { repoRoot, runCli, toolPath } from "../support/tools.js";

const run = promisify(execFile);
const chartDir = path.join(repoRoot, "deploy", "chart", "gitward");
let helmHome: string;

beforeAll(async () => {
  helmHome = await mkdtemp(path.join(os.tmpdir(), "gitward-helm-"));
});
afterAll(async () => {
  await rm(helmHome, { recursive: true, force: true });
});

function helm(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(toolPath("helm"), args, {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HELM_CACHE_HOME: path.join(helmHome, "cache"),
      HELM_CONFIG_HOME: path.join(helmHome, "config"),
      HELM_DATA_HOME: path.join(helmHome, "data"),
    },
  });
}

const objectsOf = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);

const byKey = (objects: readonly KubeObject[]): Record<string, KubeObject> =>
  Object.fromEntries(objects.map((o) => [`${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));

async function committed(dir: string, names: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = await readFile(path.join(dir, n), "utf8").catch(() => "(missing)");
  return out;
}

describe("the committed install files", () => {
  it("deploy/install equals the generator's output (npm run gen:install)", async () => {
    const want = renderInstallFiles();
    expect(await committed(path.join(repoRoot, "deploy", "install"), Object.keys(want))).toEqual(want);
    // No file there that the generator does not write.
    expect((await readdir(path.join(repoRoot, "deploy", "install"))).sort()).toEqual(
      Object.keys(want).sort(),
    );
  });

  it("deploy/chart/gitward equals the generator's output", async () => {
    const { version } = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as {
      version: string;
    };
    const want = renderChartFiles(version);
    expect(await committed(chartDir, Object.keys(want))).toEqual(want);
  });

  it("kubectl kustomize deploy/install gives exactly the generator's objects", async () => {
    const { stdout } = await run(toolPath("kubectl"), [
      "kustomize",
      path.join(repoRoot, "deploy", "install"),
    ]);
    expect(byKey(objectsOf(stdout))).toEqual(byKey(installObjects({ image: DEFAULT_IMAGE })));
  });
});

describe("the Helm chart", () => {
  it("passes helm lint", async () => {
    const { stdout } = await helm("lint", chartDir);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("renders by default the generator's objects, and with values the generator's objects for them", async () => {
    const { stdout } = await helm("template", "gitward", chartDir, "--include-crds");
    expect(byKey(objectsOf(stdout))).toEqual(byKey(installObjects({ image: DEFAULT_IMAGE })));
    const image = `registry.example.com/gw@sha256:${"c".repeat(64)}`;
    const set = await helm(
      "template",
      "gitward",
      chartDir,
      "--include-crds",
      "--set",
      `image=${image},replicas=3,applicationNamespaces={shop,web}`,
      "--set",
      "networkPolicy.git.cidrs={10.1.0.0/16},networkPolicy.git.ports={443}",
    );
    const network = {
      apiServer: { cidrs: ["0.0.0.0/0"], ports: [443, 6443] },
      git: { cidrs: ["10.1.0.0/16"], ports: [443] },
      registries: { cidrs: ["0.0.0.0/0"], ports: [443] },
      dnsNamespace: "kube-system",
    };
    expect(byKey(objectsOf(set.stdout))).toEqual(
      byKey(installObjects({ image, replicas: 3, applicationNamespaces: ["shop", "web"], network })),
    );
  });

  it("refuses an image given by tag", async () => {
    await expect(
      helm("template", "gitward", chartDir, "--set", "image=registry.example.com/gw:v1"),
    ).rejects.toThrow(/image must be pinned by digest/);
  });
});

describe("the install's objects", () => {
  const objects = installObjects({ image: DEFAULT_IMAGE });

  it("accepts an image pinned by digest and refuses one by tag, with a coded error", () => {
    expect(digestPinnedImage(`r.example/gw:v1@sha256:${"a".repeat(64)}`)).toContain("@sha256:");
    expect(() => digestPinnedImage("r.example/gw:v1")).toThrow(ConfigError);
    expect(() => installObjects({ image: "r.example/gw" })).toThrow(/not pinned by digest/);
    expect(() => installObjects({ image: "Not An Image" })).toThrow(/not an image reference/);
  });

  it("every pod is Pod Security restricted, with requests, limits and (the operator) probes", () => {
    interface Container {
      image: string;
      securityContext: unknown;
      resources: { requests?: { cpu?: string }; limits?: { memory?: string } };
      livenessProbe?: { httpGet: { path: string } };
      readinessProbe?: { httpGet: { path: string } };
    }
    interface Pod {
      securityContext: unknown;
      containers: Container[];
    }
    const pods: Pod[] = objects.flatMap((o) => {
      const spec = o["spec"] as {
        template?: { spec: Pod };
        jobTemplate?: { spec: { template: { spec: Pod } } };
      };
      if (o.kind === "Deployment" && spec.template !== undefined) return [spec.template.spec];
      if (o.kind === "CronJob" && spec.jobTemplate !== undefined)
        return [spec.jobTemplate.spec.template.spec];
      return [];
    });
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(c.resources.requests?.cpu).toBeDefined();
        expect(c.resources.limits?.memory).toBeDefined();
        expect(c.image).toMatch(/@sha256:[0-9a-f]{64}$/);
      }
    }
    const operator = pods[0]?.containers[0];
    expect(operator?.livenessProbe?.httpGet.path).toBe("/healthz");
    expect(operator?.readinessProbe?.httpGet.path).toBe("/readyz");
  });

  it("RBAC: no wildcard, no cluster-admin, no escalation verbs; secrets never listed outside gitward's own namespaces", () => {
    const rules = objects
      .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
      .flatMap((o) =>
        (o["rules"] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).map((r) => ({
          o,
          r,
        })),
      );
    expect(rules.length).toBeGreaterThan(5);
    for (const { r } of rules) {
      expect([...r.apiGroups, ...r.resources, ...r.verbs]).not.toContain("*");
      expect(r.verbs).not.toEqual(expect.arrayContaining(["escalate"]));
      expect(r.verbs).not.toContain("bind");
      expect(r.verbs).not.toContain("impersonate");
    }
    for (const b of objects.filter((o) => o.kind.endsWith("Binding")))
      expect((b["roleRef"] as { name: string }).name).not.toMatch(/^(cluster-admin|admin|edit)$/);
    // Cluster-wide, gitward reads no Secret and no ConfigMap at all.
    const clusterRole = objects.find(
      (o) => o.kind === "ClusterRole" && o.metadata.name === "gitward-operator",
    );
    expect(JSON.stringify(clusterRole?.["rules"])).not.toMatch(/secrets|configmaps/);
    // The per-namespace grant reads Secrets by name only.
    const perNs = installObjects({ image: DEFAULT_IMAGE, applicationNamespaces: ["shop"] }).filter(
      (o) => o.metadata.namespace === "shop",
    );
    expect(perNs.map((o) => o.kind)).toEqual(["Role", "RoleBinding"]);
    expect(perNs[0]?.["rules"]).toContainEqual({ apiGroups: [""], resources: ["secrets"], verbs: ["get"] });
  });

  it("a default-deny NetworkPolicy in each namespace, egress only to DNS and the configured CIDRs and ports", () => {
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    for (const ns of ["gitward-system", "gitward-keys"])
      expect(policies).toContainEqual(
        expect.objectContaining({
          metadata: expect.objectContaining({ name: "default-deny", namespace: ns }) as unknown,
          spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        }),
      );
    const narrowed = installObjects({
      image: DEFAULT_IMAGE,
      network: {
        apiServer: { cidrs: ["10.96.0.1/32"], ports: [443] },
        git: { cidrs: ["192.0.2.0/24"], ports: [22] },
        registries: { cidrs: ["198.51.100.0/24"], ports: [443] },
        dnsNamespace: "kube-system",
      },
    });
    const op = narrowed.find((o) => o.metadata.name === "gitward-operator" && o.kind === "NetworkPolicy");
    const egress = JSON.stringify((op?.["spec"] as { egress: unknown }).egress);
    expect(egress).toContain('"cidr":"192.0.2.0/24"');
    expect(egress).not.toContain("0.0.0.0/0");
  });

  it("the admission webhook's objects join through the one extension point", () => {
    const extra = {
      file: "webhook.yaml",
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "gitward-webhook", namespace: "gitward-system" },
      },
    };
    const placed = installManifests({ image: DEFAULT_IMAGE, admissionWebhookObjects: [extra] });
    expect(placed.at(-1)?.object.metadata).toMatchObject({
      name: "gitward-webhook",
      labels: { "app.kubernetes.io/part-of": "gitward" },
    });
  });
});

describe("dogfood", () => {
  it("gitward check of the install manifests with the built-in packs: zero findings", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-dogfood-"));
    try {
      await cp(path.join(repoRoot, "deploy", "install"), path.join(dir, "install"), { recursive: true });
      await run("git", ["init", "-q", dir]);
      // Every object of the install, CRDs included (the kustomization is no object: rendered as a folder).
      await rm(path.join(dir, "install", "kustomization.yaml"));
      const r = await runCli([
        "check",
        path.join(dir, "install"),
        "--allow-cluster-scoped",
        "--fail-on",
        "low",
        "-o",
        "json",
      ]);
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout) as { passed: boolean; report: { findings: unknown[] } };
      expect(out.report.findings).toEqual([]);
      expect(out.passed).toBe(true);
      expect(r.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
