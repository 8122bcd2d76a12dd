// The shared render pipeline without a cluster: one tool lookup, the helm release name and hooks with a
// real `helm template`, the directory renderer's include/exclude globs, EMPTY_RENDER, and the offline
// pre-apply checks (duplicates, unknown built-in kinds, cluster scope) that check shares with reconcile.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, type Application } from "../../src/config/types.js";
import { objectLocator, validateObject } from "../../src/config/validate.js";
import {
  precheckRevision,
  renderRevision,
  renderSettingsOf,
  type RenderSettings,
} from "../../src/reconcile/pipeline.js";
import { compileGlobs } from "../../src/render/glob.js";
import { resolveTools } from "../../src/render/tool.js";
import type { Manifest, RenderResult } from "../../src/render/types.js";
import { toolPath } from "../support/tools.js";

let base: string;
let repo: string;
const tools = { kubectl: toolPath("kubectl"), helm: toolPath("helm") };

async function put(rel: string, text: string): Promise<void> {
  const p = path.join(repo, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
}

const cm = (name: string, ns?: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns === undefined ? "" : `  namespace: ${ns}\n`}data:\n  a: b\n`;

function run(settings: Partial<RenderSettings> & { path: string }): Promise<RenderResult> {
  return renderRevision({ repoRoot: repo, settings: { type: "directory", ...settings }, tools });
}

function codes(r: RenderResult): string[] {
  return r.ok ? [] : r.errors.map((e) => e.code);
}

function names(r: RenderResult): string[] {
  if (!r.ok) throw new Error(`render failed: ${r.errors.map((e) => `${e.code} ${e.message}`).join("; ")}`);
  return r.manifests.map((m) => `${m.kind}/${m.name}`);
}

function app(render: Application["spec"]["render"], sourcePath: string): Application {
  return {
    apiVersion: API_VERSION,
    kind: "Application",
    metadata: { name: "shop-helm", namespace: "gitward-system" },
    spec: {
      source: { url: "https://git.example.com/config.git", ref: { branch: "main" }, path: sourcePath },
      render,
      destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
      trustPolicy: "production",
    },
  };
}

const CHART = "charts/tiny";

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "gitward-pipeline-test-"));
  repo = path.join(base, "repo");
  await mkdir(repo);
  await put(`${CHART}/Chart.yaml`, "apiVersion: v2\nname: tiny\nversion: 0.1.0\n");
  await put(`${CHART}/values.yaml`, "preInstall: false\ngenerated: false\n");
  await put(
    `${CHART}/templates/config.yaml`,
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  a: b\n",
  );
  // What `helm test` runs: podinfo's chart has three of these.
  await put(
    `${CHART}/templates/tests/test-connection.yaml`,
    [
      "apiVersion: v1",
      "kind: Pod",
      "metadata:",
      "  name: {{ .Release.Name }}-test",
      '  annotations: { "helm.sh/hook": test, "helm.sh/hook-delete-policy": hook-succeeded }',
      "spec:",
      "  restartPolicy: Never",
      "  containers: [{ name: wget, image: busybox, command: [wget, 'tiny:80'] }]",
      "",
    ].join("\n"),
  );
  await put(
    `${CHART}/templates/migrate.yaml`,
    [
      "{{- if .Values.preInstall }}",
      "apiVersion: batch/v1",
      "kind: Job",
      "metadata:",
      "  name: {{ .Release.Name }}-migrate",
      '  annotations: { "helm.sh/hook": "pre-install,pre-upgrade" }',
      "spec:",
      "  template:",
      "    spec:",
      "      restartPolicy: Never",
      "      containers: [{ name: m, image: busybox }]",
      "{{- end }}",
      "",
    ].join("\n"),
  );
  await put(
    `${CHART}/templates/generated.yaml`,
    [
      "{{- if .Values.generated }}",
      "apiVersion: batch/v1",
      "kind: Job",
      "metadata:",
      "  generateName: {{ .Release.Name }}-once-",
      "spec: { template: { spec: { restartPolicy: Never, containers: [{ name: m, image: busybox }] } } }",
      "{{- end }}",
      "",
    ].join("\n"),
  );
  await put(
    `${CHART}/templates/legacy-crd.yaml`,
    [
      "{{- if .Values.legacyCrd }}",
      "apiVersion: apiextensions.k8s.io/v1",
      "kind: CustomResourceDefinition",
      "metadata:",
      "  name: gadgets.example.com",
      '  annotations: { "helm.sh/hook": crd-install }',
      "spec:",
      "  group: example.com",
      "  names: { plural: gadgets, singular: gadget, kind: Gadget }",
      "  scope: Namespaced",
      "  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object } } }]",
      "{{- end }}",
      "",
    ].join("\n"),
  );
  await put(
    `${CHART}/crds/widgets.yaml`,
    [
      "apiVersion: apiextensions.k8s.io/v1",
      "kind: CustomResourceDefinition",
      "metadata: { name: widgets.example.com }",
      "spec:",
      "  group: example.com",
      "  names: { plural: widgets, singular: widget, kind: Widget }",
      "  scope: Namespaced",
      "  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object } } }]",
      "",
    ].join("\n"),
  );
  await put(`${CHART}/values-hook.yaml`, "preInstall: true\n");
  await put(`${CHART}/values-generated.yaml`, "generated: true\n");
  await put(`${CHART}/values-legacy.yaml`, "legacyCrd: true\n");

  // kubernetes/examples databases/cassandra keeps non-manifest YAML next to its manifests.
  await put("apps/cassandra/cassandra-service.yaml", cm("cassandra"));
  await put("apps/cassandra/cassandra-statefulset.yaml", cm("cassandra-sts"));
  await put("apps/cassandra/image/files/cassandra.yaml", "cluster_name: 'Test Cluster'\nnum_tokens: 256\n");
  await put("apps/cassandra/java/pom.yaml", "modelVersion: 4.0.0\n");
  await mkdir(path.join(repo, "apps/empty/docs"), { recursive: true });
  await put("apps/empty/docs/README.md", "nothing to deploy yet\n");
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("one tool lookup", () => {
  it("takes a flag first, then $GITWARD_KUBECTL/$GITWARD_HELM, then .tools/bin, never PATH while those exist", () => {
    const env = { GITWARD_KUBECTL: "/env/kubectl", GITWARD_HELM: "/env/helm", PATH: "/elsewhere" };
    expect(resolveTools({ kubectl: "/flag/kubectl" }, env)).toEqual({
      kubectl: "/flag/kubectl",
      helm: "/env/helm",
    });
    expect(resolveTools({}, env)).toEqual({ kubectl: "/env/kubectl", helm: "/env/helm" });
    // Without flag or variable: the project's pinned binaries, whatever PATH says.
    expect(resolveTools({}, { PATH: "/elsewhere" })).toEqual(tools);
    expect(resolveTools({ kubectl: "", helm: "" }, { GITWARD_KUBECTL: "" })).toEqual(tools);
  });

  it("renders with the binary the lookup names: a wrong one fails with TOOL_FAILED naming it", async () => {
    const bin = path.join(base, "wrong-bin");
    await mkdir(bin, { recursive: true });
    await symlink("/bin/false", path.join(bin, "helm")).catch(() => undefined);
    const wrong = resolveTools({}, { GITWARD_HELM: path.join(bin, "helm") });
    const r = await renderRevision({ repoRoot: repo, settings: { type: "helm", path: CHART }, tools: wrong });
    expect(codes(r)).toEqual(["TOOL_FAILED"]);
    const right = await renderRevision({ repoRoot: repo, settings: { type: "helm", path: CHART }, tools });
    expect(right.ok).toBe(true);
  });
});

describe("helm", () => {
  it("names the release after the chart by default, the same for check's settings and an Application's", async () => {
    const fromCheck = await run({ type: "helm", path: CHART });
    const fromApp = await renderRevision({
      repoRoot: repo,
      settings: renderSettingsOf(app({ type: "helm" }, CHART)),
      namespace: "shop",
      tools,
    });
    expect(names(fromCheck)).toContain("ConfigMap/tiny-config");
    expect(names(fromApp)).toEqual(names(fromCheck));
    const named = await renderRevision({
      repoRoot: repo,
      settings: renderSettingsOf(app({ type: "helm", releaseName: "shop" }, CHART)),
      tools,
    });
    expect(names(named)).toContain("ConfigMap/shop-config");
    expect(names(named)).not.toContain("ConfigMap/tiny-config");
  });

  it("leaves test hooks out and keeps the chart's crds/ folder, as helm install does", async () => {
    const r = await run({ type: "helm", path: CHART });
    expect(names(r).sort()).toEqual([
      "ConfigMap/tiny-config",
      "CustomResourceDefinition/widgets.example.com",
    ]);
  });

  it("refuses Helm 2 crd-install CRDs, which helm itself would silently leave out", async () => {
    const r = await run({ type: "helm", path: CHART, valuesFiles: [`${CHART}/values-legacy.yaml`] });
    expect(codes(r)).toEqual(["HELM_HOOK_UNSUPPORTED"]);
    expect(r.ok ? "" : r.errors[0]?.message).toMatch(/crd-install.*crds\/ folder/);
  });

  it("refuses a chart with a pre-install hook, naming the object", async () => {
    const r = await run({ type: "helm", path: CHART, valuesFiles: [`${CHART}/values-hook.yaml`] });
    expect(codes(r)).toEqual(["HELM_HOOK_UNSUPPORTED"]);
    const message = r.ok ? "" : (r.errors[0]?.message ?? "");
    expect(message).toContain("Job tiny-migrate");
    expect(message).toContain("pre-install,pre-upgrade");
    expect(r.ok ? undefined : r.errors[0]?.file).toBe(`${CHART}/templates/migrate.yaml`);
  });

  it("refuses metadata.generateName without a name, with a hint", async () => {
    const r = await run({ type: "helm", path: CHART, valuesFiles: [`${CHART}/values-generated.yaml`] });
    expect(codes(r)).toEqual(["GENERATE_NAME"]);
    expect(r.ok ? "" : r.errors[0]?.message).toContain("give it a fixed metadata.name");
  });
});

describe("directory include/exclude", () => {
  it("reads everything by default, so stray YAML is refused as not an object", async () => {
    const r = await run({ path: "apps/cassandra" });
    expect(codes(r)).toEqual(["NOT_AN_OBJECT", "NOT_AN_OBJECT"]);
  });

  it("include picks the manifests, exclude drops files, and exclude wins", async () => {
    expect(names(await run({ path: "apps/cassandra", include: ["*.yaml"] })).sort()).toEqual([
      "ConfigMap/cassandra",
      "ConfigMap/cassandra-sts",
    ]);
    expect(names(await run({ path: "apps/cassandra", exclude: ["image/**", "java/**"] })).length).toBe(2);
    expect(
      names(await run({ path: "apps/cassandra", include: ["*.yaml"], exclude: ["*statefulset*"] })),
    ).toEqual(["ConfigMap/cassandra"]);
  });

  it("refuses too many or too long globs, and globs for helm or kustomize", async () => {
    expect(codes(await run({ path: "apps/cassandra", include: ["x".repeat(300)] }))).toEqual(["BAD_INPUT"]);
    expect(
      codes(await run({ path: "apps/cassandra", exclude: Array.from({ length: 65 }, () => "a") })),
    ).toEqual(["BAD_INPUT"]);
    expect(codes(await run({ type: "helm", path: CHART, include: ["*.yaml"] }))).toEqual(["BAD_INPUT"]);
  });

  it("matches a hostile glob against a long path quickly, in the one glob dialect of src/match", () => {
    const g = compileGlobs(["**/a*a*a*a*a*a*a*a*a*a*a*a*b", "{a,b}{c,d}{e,f}"]);
    if (!g.ok) throw new Error(g.message);
    const started = performance.now();
    expect(g.match(`${"a/".repeat(50)}${"a".repeat(5000)}`)).toBe(false);
    expect(g.match("bdf")).toBe(true); // braces are alternatives, as in the TrustPolicy's path globs
    expect(g.match("{a,b}{c,d}{e,f}")).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
    // Extglobs are refused rather than matched literally: the author meant something else.
    const ext = compileGlobs(["+(a|aa)+b"]);
    expect(ext.ok).toBe(false);
  });

  it("a folder with no object is EMPTY_RENDER unless allowEmpty", async () => {
    expect(codes(await run({ path: "apps/empty" }))).toEqual(["EMPTY_RENDER"]);
    expect(codes(await run({ path: "apps/cassandra", include: ["nothing/**"] }))).toEqual(["EMPTY_RENDER"]);
    const allowed = await run({ path: "apps/empty", allowEmpty: true });
    expect(allowed.ok && allowed.manifests.length).toBe(0);
  });

  it("the Application schema takes the new render fields and refuses them where they do not apply", () => {
    const base = app({ type: "directory" }, "apps");
    const ok = (render: Record<string, unknown>) =>
      validateObject({ ...base, spec: { ...base.spec, render } }, objectLocator("Application"));
    expect(ok({ type: "directory", include: ["*.yaml"], exclude: ["x/**"], allowEmpty: true }).ok).toBe(true);
    expect(ok({ type: "helm", releaseName: "podinfo" }).ok).toBe(true);
    expect(ok({ type: "helm", releaseName: "Not_A_Name" }).ok).toBe(false);
    expect(ok({ type: "helm", include: ["*.yaml"] }).ok).toBe(false);
    expect(ok({ type: "directory", releaseName: "x" }).ok).toBe(false);
    expect(ok({ type: "directory", include: Array.from({ length: 65 }, () => "a") }).ok).toBe(false);
  });
});

function manifest(
  apiVersion: string,
  kind: string,
  name: string,
  line: number,
  namespace?: string,
): Manifest {
  return {
    apiVersion,
    kind,
    name,
    ...(namespace === undefined ? {} : { namespace }),
    object: { apiVersion, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) } },
    origin: { file: "apps/web/all.yaml", line },
  };
}

describe("offline pre-apply checks (the same function reconcile runs)", () => {
  const dest = { namespace: "shop" };

  it("DUPLICATE_OBJECT: the same group, kind, namespace and name twice, whatever the version", async () => {
    const r = await precheckRevision(
      [
        manifest("apps/v1", "Deployment", "web", 1),
        manifest("apps/v1", "Deployment", "web", 20, "shop"),
        manifest("v1", "Service", "web", 40),
        manifest("v1", "Service", "web", 50, "other"),
      ],
      { ...dest, allowedNamespaces: ["other"] },
    );
    expect(r.problems.map((p) => p.code)).toEqual(["DUPLICATE_OBJECT"]);
    expect(r.problems[0]?.message).toBe(
      "apps/web/all.yaml:20: Deployment web is also defined at apps/web/all.yaml:1; keep one",
    );
    expect(r.problems[0]?.origin).toEqual({ file: "apps/web/all.yaml", line: 20 });
  });

  it("UNKNOWN_KIND for a kind no built-in group has; custom resources pass unless their CRD says otherwise", async () => {
    const r = await precheckRevision(
      [
        manifest("apps/v1", "Deploymnet", "web", 1),
        manifest("example.com/v1", "Widget", "w", 5),
        manifest("v1", "ConfigMap", "c", 9),
      ],
      dest,
    );
    expect(r.problems.map((p) => p.code)).toEqual(["UNKNOWN_KIND"]);
    expect(r.problems[0]?.message).toContain("Deploymnet (apps/v1)");
  });

  it("CLUSTER_SCOPED for built-in and CRD-defined cluster kinds unless allowed", async () => {
    const crd: Manifest = {
      ...manifest("apiextensions.k8s.io/v1", "CustomResourceDefinition", "globals.example.com", 1),
      object: {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "globals.example.com" },
        spec: {
          group: "example.com",
          scope: "Cluster",
          names: { kind: "Global" },
          versions: [{ name: "v1" }],
        },
      },
    };
    const all = [
      manifest("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", 10),
      manifest("example.com/v1", "Global", "g", 20),
      crd,
    ];
    const refused = await precheckRevision(all, dest);
    expect(refused.problems.map((p) => `${p.code} ${p.origin?.line ?? 0}`)).toEqual([
      "CLUSTER_SCOPED 10",
      "CLUSTER_SCOPED 20",
      "CLUSTER_SCOPED 1",
    ]);
    const allowed = await precheckRevision(all, { ...dest, allowClusterScoped: true });
    expect(allowed.problems).toEqual([]);
  });

  it("OUT_OF_SCOPE only when the destination namespace is known", async () => {
    const objs = [manifest("v1", "ConfigMap", "c", 1, "kube-system")];
    expect((await precheckRevision(objs, dest)).problems.map((p) => p.code)).toEqual(["OUT_OF_SCOPE"]);
    expect((await precheckRevision(objs, {})).problems).toEqual([]);
  });
});
