// "What check passes is what reconcile applies", end to end against the sandbox: both render with the
// same kubectl when PATH holds another one first, a helm chart's test hooks are neither applied nor
// re-created on every pass and its objects carry the release name check shows, and the pre-apply checks
// that refuse a revision in reconcile fail `gitward check` too (offline and with --kubeconfig).
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../src/config/types.js";
import { precheckRevision, renderRevision, renderSettingsOf } from "../../src/reconcile/pipeline.js";
import type { RenderType } from "../../src/render/render.js";
import { TOOL_ENV } from "../../src/render/tool.js";
import { runCli } from "../support/tools.js";
import { configMap, startWorld, type World } from "./harness.js";

let w: World;
let fakeBin: string;
let kubeconfig: string;

const kustomization =
  "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n";

const chart = {
  "apps/chart/Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
  "apps/chart/templates/config.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  a: b\n",
  // Like podinfo's three test Pods: an unpinned image that policy would refuse if it were checked.
  "apps/chart/templates/tests/test.yaml": [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    "  name: {{ .Release.Name }}-test",
    '  annotations: { "helm.sh/hook": test }',
    "spec:",
    "  restartPolicy: Never",
    "  containers: [{ name: t, image: busybox, securityContext: { privileged: true } }]",
    "",
  ].join("\n"),
};

/** Runs `fn` with PATH starting with a folder whose kubectl and helm are /bin/false. */
async function withWrongToolsOnPath<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env["PATH"];
  process.env["PATH"] = `${fakeBin}:${saved ?? ""}`;
  try {
    return await fn();
  } finally {
    process.env["PATH"] = saved;
  }
}

beforeAll(async () => {
  w = await startWorld();
  fakeBin = await mkdtemp(path.join(os.tmpdir(), "gitward-fake-bin-"));
  // Real binaries under the tools' names: whichever ran is seen by its result (/bin/false fails).
  await symlink("/bin/false", path.join(fakeBin, "kubectl"));
  await symlink("/bin/false", path.join(fakeBin, "helm"));
  kubeconfig = path.join(w.dir, "kubeconfig");
  await writeFile(kubeconfig, w.sb.kubeconfig);
  await w.commit({
    "apps/kust/kustomization.yaml": kustomization,
    "apps/kust/cm.yaml": configMap("from-kustomize", { a: "1" }),
    ...chart,
    "apps/dupes/a.yaml": configMap("twice", { a: "1" }),
    "apps/dupes/b.yaml": configMap("twice", { a: "2" }),
  });
});

/** The Application of the folder `folder` of the config repository's main branch, rendered as `type`. */
function appAt(folder: string, type: RenderType = "directory"): Application {
  return w.app({
    source: { url: w.git.url("config"), ref: { branch: "main" }, path: folder },
    render: { type },
  });
}

afterAll(async () => {
  await w.stop();
  await rm(fakeBin, { recursive: true, force: true });
});

describe("one kubectl for check and reconcile", () => {
  const kustApp = () => appAt("apps/kust", "kustomize");

  it("reconcile renders with the pinned kubectl, not the one first on PATH", async () => {
    const r = await withWrongToolsOnPath(() => w.reconcile(kustApp()));
    expect(r.reason).toBeUndefined();
    expect(r.applied).toContain("ConfigMap shop/from-kustomize");
  });

  it(`both use ${TOOL_ENV.kubectl} when set: a wrong binary there fails both`, async () => {
    const wrong = path.join(fakeBin, "kubectl");
    process.env.GITWARD_KUBECTL = wrong;
    try {
      const r = await w.reconcile(kustApp());
      expect(r.result).toBe("refused");
      expect(r.reason).toBe("RENDER_FAILED");
      expect(r.details.join("\n")).toContain("TOOL_FAILED");
    } finally {
      delete process.env.GITWARD_KUBECTL;
    }
    const repo = w.repo.dir;
    const env = { ...process.env, PATH: `${fakeBin}:${process.env["PATH"] ?? ""}` } as Record<string, string>;
    const passes = await runCli(
      ["check", "--render", "kustomize", path.join(repo, "apps/kust"), "-o", "json"],
      {
        env,
      },
    );
    expect(passes.code).toBe(0);
    const fails = await runCli(
      ["check", "--render", "kustomize", path.join(repo, "apps/kust"), "-o", "json"],
      {
        env: { ...env, [TOOL_ENV.kubectl]: wrong },
      },
    );
    expect(fails.code).toBe(1);
    const gate = JSON.parse(fails.stdout) as { renderErrors: { code: string }[] };
    expect(gate.renderErrors.map((e) => e.code)).toEqual(["TOOL_FAILED"]);
  });
});

describe("helm through reconcile", () => {
  const helmApp = () => appAt("apps/chart", "helm");

  it("applies the chart under the release name check renders, without its test Pods, and stays unchanged", async () => {
    const checked = await renderRevision({
      repoRoot: w.repo.dir,
      settings: renderSettingsOf(helmApp()),
      namespace: "shop",
    });
    expect(checked.ok && checked.manifests.map((m) => m.name)).toEqual(["tiny-config"]);
    const first = await w.reconcile(helmApp());
    expect(first.reason).toBeUndefined();
    expect(first.applied).toEqual(["ConfigMap shop/tiny-config"]);
    expect(
      await w.admin.get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "tiny-test" }),
    ).toBeUndefined();
    const again = await w.reconcile(helmApp());
    expect(again.result).toBe("unchanged");
    expect(again.applied).toEqual([]);
    expect(again.pruned).toEqual([]);
  });
});

describe("reconcile's pre-apply refusals fail check too", () => {
  it("DUPLICATE_OBJECT: reconcile refuses, and check (offline) fails with the same code and place", async () => {
    const app = appAt("apps/dupes");
    const r = await w.reconcile(app);
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("DUPLICATE_OBJECT");
    const c = await runCli([
      "check",
      path.join(w.repo.dir, "apps/dupes"),
      "--namespace",
      "shop",
      "-o",
      "json",
    ]);
    expect(c.code).toBe(1);
    const gate = JSON.parse(c.stdout) as {
      passed: boolean;
      precheckErrors: { code: string; message: string }[];
    };
    expect(gate.passed).toBe(false);
    expect(gate.precheckErrors.map((e) => e.code)).toEqual(["DUPLICATE_OBJECT"]);
    expect(r.details[0]).toBe(`DUPLICATE_OBJECT: ${gate.precheckErrors[0]?.message ?? ""}`);
  });

  it("with --kubeconfig, kinds come from the cluster's discovery: an unserved custom kind is UNKNOWN_KIND", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-precheck-"));
    await mkdir(path.join(dir, ".git"));
    await writeFile(
      path.join(dir, "widget.yaml"),
      "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: { name: g }\nspec: {}\n---\n" +
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: reader }\nrules: []\n",
    );
    try {
      const manifests = await renderRevision({ repoRoot: dir, settings: { type: "directory", path: "." } });
      if (!manifests.ok) throw new Error("render failed");
      const offline = await precheckRevision(manifests.manifests, { namespace: "shop" });
      expect(offline.problems.map((p) => p.code)).toEqual(["CLUSTER_SCOPED"]);
      const online = await runCli([
        "check",
        dir,
        "--namespace",
        "shop",
        "--kubeconfig",
        kubeconfig,
        "-o",
        "json",
      ]);
      expect(online.code).toBe(1);
      const gate = JSON.parse(online.stdout) as { precheckErrors: { code: string }[] };
      expect(gate.precheckErrors.map((e) => e.code)).toEqual(["UNKNOWN_KIND", "CLUSTER_SCOPED"]);
      const text = await runCli(["check", dir, "--allow-cluster-scoped"]);
      expect(text.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
