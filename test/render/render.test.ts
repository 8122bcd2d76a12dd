// Rendering: directory, kustomize and helm produce objects with file:line origins, and every confinement
// and limit rule rejects its hostile input with a coded error that leaks no byte of an outside file.
import { mkdtemp, mkdir, rm, symlink, truncate, writeFile, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { render, type RenderOptions } from "../../src/render/render.js";
import type { RenderResult } from "../../src/render/types.js";
import { toolPath } from "../support/tools.js";

let base: string;
let repo: string;
let outside: string;
const MARKER = "OUTSIDE-SECRET-7d1f3a9c";
const tools = { kubectl: toolPath("kubectl"), helm: toolPath("helm") };

async function put(rel: string, text: string): Promise<void> {
  const p = path.join(repo, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
}

function run(o: Partial<RenderOptions> & { path: string }): Promise<RenderResult> {
  return render({ repoRoot: repo, type: "directory", tools, ...o });
}

function codes(r: RenderResult): string[] {
  return r.ok ? [] : r.errors.map((e) => e.code);
}

const cm = (name: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: b\n`;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "gitward-render-test-"));
  repo = path.join(base, "repo");
  outside = path.join(base, "outside");
  await mkdir(repo);
  await mkdir(outside);
  await writeFile(path.join(outside, "secret.yaml"), cm(MARKER) + `# ${MARKER}\n`);
  await writeFile(path.join(outside, "values.yaml"), `marker: ${MARKER}\n`);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("directory", () => {
  it("renders every yaml/yml/json file, multi-document, with file and line", async () => {
    await put("apps/ok/a.yaml", `${cm("one")}---\n# comment\n${cm("two")}---\n`);
    await put("apps/ok/sub/b.yml", cm("three"));
    await put(
      "apps/ok/c.json",
      JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "four" } }),
    );
    await put("apps/ok/readme.md", "not yaml: [");
    const r = await run({ path: "apps/ok" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifests.map((m) => `${m.name}@${m.origin.file}:${m.origin.line}`)).toEqual([
      "one@apps/ok/a.yaml:1",
      "two@apps/ok/a.yaml:9",
      "four@apps/ok/c.json:1",
      "three@apps/ok/sub/b.yml:1",
    ]);
  });

  it("a document without metadata.name is an error naming file and line", async () => {
    await put("apps/noname/a.yaml", `${cm("x")}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n`);
    const r = await run({ path: "apps/noname" });
    expect(codes(r)).toEqual(["NOT_AN_OBJECT"]);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/apps\/noname\/a\.yaml:8: .*metadata\.name/);
  });

  it("a duplicate key is an error with its line", async () => {
    await put("apps/dup/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n");
    const r = await run({ path: "apps/dup" });
    expect(codes(r)).toEqual(["DUPLICATE_KEY"]);
    if (!r.ok) expect(r.errors[0]!.message).toContain("apps/dup/a.yaml:5");
  });

  it("an alias bomb is refused", async () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    await put(
      "apps/bomb/a.yaml",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n${lines.map((l) => "  " + l).join("\n")}\n`,
    );
    const r = await run({ path: "apps/bomb" });
    expect(codes(r)).toEqual(["ALIAS_LIMIT"]);
  });

  it("a 50 MB file is refused before it is read", async () => {
    await mkdir(path.join(repo, "apps/big"), { recursive: true });
    await writeFile(path.join(repo, "apps/big/big.yaml"), cm("big"));
    await truncate(path.join(repo, "apps/big/big.yaml"), 50 * 1024 * 1024);
    const r = await run({ path: "apps/big" });
    expect(codes(r)).toEqual(["FILE_TOO_LARGE"]);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/apps\/big\/big\.yaml is 52428800 bytes/);
  });

  it("too many documents in one file are refused", async () => {
    await put("apps/many/a.yaml", Array(20).fill(cm("x")).join("---\n"));
    const r = await run({ path: "apps/many", limits: { maxDocumentsPerFile: 10 } });
    expect(codes(r)).toEqual(["TOO_MANY_DOCUMENTS"]);
  });

  it("a symlink to /etc/passwd is refused and nothing of it is output", async () => {
    await put("apps/etc/ok.yaml", cm("ok"));
    await symlink("/etc/passwd", path.join(repo, "apps/etc/passwd.yaml"));
    const r = await run({ path: "apps/etc" });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    if (!r.ok)
      expect(r.errors[0]!.message).toContain("apps/etc/passwd.yaml is a symlink that leaves the repository");
    const passwd = await readFile("/etc/passwd", "utf8");
    const out = JSON.stringify(r);
    for (const line of passwd.split("\n").filter((l) => l.length > 8)) expect(out).not.toContain(line);
  });

  it("a symlink to a parent folder is refused", async () => {
    await put("apps/parent/ok.yaml", cm("ok"));
    await symlink("../../..", path.join(repo, "apps/parent/up"));
    const r = await run({ path: "apps/parent" });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });

  it("a symlink inside the repository is followed", async () => {
    await put("apps/inner/ok.yaml", cm("inner"));
    await symlink("../ok/a.yaml", path.join(repo, "apps/inner/linked.yaml"));
    const r = await run({ path: "apps/inner" });
    expect(r.ok && r.manifests.map((m) => m.name).sort()).toEqual(["inner", "one", "two"]);
  });

  it("a path with .. or an absolute path is refused", async () => {
    expect(codes(await run({ path: "../outside" }))).toEqual(["OUTSIDE_REPO"]);
    expect(codes(await run({ path: outside }))).toEqual(["OUTSIDE_REPO"]);
  });
});

describe("kustomize", () => {
  it("renders a kustomization with origins of its resources", async () => {
    await put("k/base/deploy.yaml", cm("settings"));
    await put("k/base/kustomization.yaml", "resources:\n  - deploy.yaml\n");
    await put("k/prod/kustomization.yaml", "namePrefix: prod-\nnamespace: shop\nresources:\n  - ../base\n");
    const r = await run({ path: "k/prod", type: "kustomize" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifests.map((m) => [m.name, m.namespace, m.origin.file])).toEqual([
      ["prod-settings", "shop", "k/base/deploy.yaml"],
    ]);
  });

  it("../ out of the repository in a kustomization is refused before kustomize runs", async () => {
    await put("k/escape/kustomization.yaml", "resources:\n  - ok.yaml\n  - ../../../outside/secret.yaml\n");
    await put("k/escape/ok.yaml", cm("ok"));
    const r = await run({ path: "k/escape", type: "kustomize" });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    if (!r.ok) expect(r.errors[0]!.message).toContain("k/escape/kustomization.yaml:3");
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });

  it("an absolute path and a symlinked resource leaving the repository are refused", async () => {
    await put("k/abs/kustomization.yaml", `resources:\n  - ${path.join(outside, "secret.yaml")}\n`);
    expect(codes(await run({ path: "k/abs", type: "kustomize" }))).toEqual(["OUTSIDE_REPO"]);
    await put(
      "k/link/kustomization.yaml",
      "configMapGenerator:\n  - name: x\n    files:\n      - key=linked.txt\n",
    );
    await symlink(path.join(outside, "secret.yaml"), path.join(repo, "k/link/linked.txt"));
    const r = await run({ path: "k/link", type: "kustomize" });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });

  it("a remote base is refused unless allowed", async () => {
    await put(
      "k/remote/kustomization.yaml",
      "resources:\n  - https://github.com/example/repo//base?ref=v1\n",
    );
    const r = await run({ path: "k/remote", type: "kustomize" });
    expect(codes(r)).toEqual(["REMOTE_BASE"]);
    if (!r.ok) expect(r.errors[0]!.message).toContain("k/remote/kustomization.yaml:2");
  });
});

describe("kustomize helmCharts", () => {
  it("a kustomization that would download a helm chart is refused", async () => {
    await put(
      "k/charts/kustomization.yaml",
      "helmCharts:\n  - name: web\n    repo: https://charts.example.com\n",
    );
    const r = await run({ path: "k/charts", type: "kustomize" });
    expect(codes(r)).toEqual(["BAD_INPUT"]);
    if (!r.ok) expect(r.errors[0]!.message).toContain("k/charts/kustomization.yaml:1: helmCharts");
  });
});

describe("helm", () => {
  const chart = async (dir: string): Promise<void> => {
    await put(`${dir}/Chart.yaml`, "apiVersion: v2\nname: web\nversion: 0.1.0\n");
    await put(`${dir}/values.yaml`, "replicas: 1\n");
    await put(
      `${dir}/templates/cm.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
    );
  };

  it("renders a chart with a values file inside the repository", async () => {
    await chart("charts/web");
    await put("env/prod.yaml", "replicas: 3\n");
    const r = await run({
      path: "charts/web",
      type: "helm",
      valuesFiles: ["env/prod.yaml"],
      releaseName: "shop",
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifests).toHaveLength(1);
    expect(r.manifests[0]!.name).toBe("shop-cm");
    expect(r.manifests[0]!.origin.file).toBe("charts/web/templates/cm.yaml");
    expect(r.manifests[0]!.object["data"]).toEqual({ replicas: "3" });
  });

  it("a values file outside the repository is refused", async () => {
    for (const v of ["../outside/values.yaml", path.join(outside, "values.yaml")]) {
      const r = await run({ path: "charts/web", type: "helm", valuesFiles: [v] });
      expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
      expect(JSON.stringify(r)).not.toContain(MARKER);
    }
    await symlink(path.join(outside, "values.yaml"), path.join(repo, "env/linked.yaml"));
    const r = await run({ path: "charts/web", type: "helm", valuesFiles: ["env/linked.yaml"] });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });

  it("a chart file that is a symlink leaving the repository is refused", async () => {
    await chart("charts/evil");
    await symlink(path.join(outside, "secret.yaml"), path.join(repo, "charts/evil/templates/x.yaml"));
    const r = await run({ path: "charts/evil", type: "helm" });
    expect(codes(r)).toEqual(["OUTSIDE_REPO"]);
    expect(JSON.stringify(r)).not.toContain(MARKER);
  });
});
