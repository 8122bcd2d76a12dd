// The `helm` renderer: `helm template` on a chart folder of the repository, with values files that must
// lie inside the repository, every file of the chart checked for symlinks that leave it, file:// chart
// dependencies confined too, and helm's cache, config and data folders in a private temporary home. Helm
// hooks are handled as one revision can be: test hooks are left out (helm runs them only on `helm test`),
// any other hook is refused, and so is a chart whose Helm 2 crd-install CRDs helm itself skipped.
import path from "node:path";
import { confine, relToRoot } from "./confine.js";
import { readConfined, walk } from "./files.js";
import { isRecord, parseManifests, parseYamlData } from "./parse.js";
import { runTool } from "./tool.js";
import {
  RenderErrorCode,
  renderError,
  type Manifest,
  type RenderError,
  type RenderLimits,
  type RenderResult,
} from "./types.js";

export interface HelmOptions {
  readonly helm: string;
  /** Values files, relative to the repository root. */
  readonly valuesFiles: readonly string[];
  /** Default: the chart's name (DEFAULT_RELEASE_NAME), the same in `gitward check` and reconcile. */
  readonly releaseName?: string;
  readonly namespace: string | undefined;
}

/** Documents the default of spec.render.releaseName and check's --release-name. */
export const DEFAULT_RELEASE_NAME = "the chart's name (Chart.yaml `name`)";

/** The chart's own problems, and its name from Chart.yaml when it has one. */
interface ChartInspection {
  readonly errors: RenderError[];
  readonly name?: string;
}

async function inspectChart(root: string, chartDir: string, limits: RenderLimits): Promise<ChartInspection> {
  const errors: RenderError[] = [];
  const chartRel = relToRoot(root, chartDir);
  // helm follows symlinks inside a chart; walking every file refuses those that leave the repository.
  const all = await walk(root, chartDir, () => true);
  errors.push(...all.errors);
  const chartYaml = path.join(chartDir, "Chart.yaml");
  if (!all.files.includes(chartYaml)) {
    errors.push(
      renderError(
        RenderErrorCode.BadInput,
        `${chartRel} has no Chart.yaml; point --render helm at a chart folder`,
        {
          file: chartRel,
        },
      ),
    );
    return { errors };
  }
  for (const f of all.files) {
    const read = await readConfined(root, f, limits.maxFileBytes);
    if (!read.ok) errors.push(read.error);
  }
  const read = await readConfined(root, chartYaml, limits.maxFileBytes);
  if (!read.ok) return { errors };
  const rel = relToRoot(root, chartYaml);
  const parsed = parseYamlData(read.text, rel, limits);
  if (!parsed.ok) {
    errors.push(parsed.error);
    return { errors };
  }
  const deps = isRecord(parsed.value) ? parsed.value["dependencies"] : undefined;
  if (Array.isArray(deps)) {
    for (const d of deps) {
      if (!isRecord(d) || typeof d["repository"] !== "string") continue;
      const repo = d["repository"];
      if (!repo.startsWith("file://")) continue; // remote dependencies must be vendored under charts/
      const c = await confine(root, chartDir, repo.slice("file://".length), { file: rel });
      if (!c.ok) errors.push(c.error);
      else errors.push(...(await inspectChart(root, c.real, limits)).errors);
    }
  }
  const name = isRecord(parsed.value) ? parsed.value["name"] : undefined;
  return typeof name === "string" && name !== "" ? { errors, name } : { errors };
}

/** Renders the chart in `chartDir` (a real path inside the real repository root `root`). */
export async function renderHelm(
  root: string,
  chartDir: string,
  opts: HelmOptions,
  limits: RenderLimits,
): Promise<RenderResult> {
  const chart = await inspectChart(root, chartDir, limits);
  const errors = chart.errors;
  const values: string[] = [];
  for (const v of opts.valuesFiles) {
    const c = await confine(root, root, v, { file: `values file ${v}` });
    if (!c.ok) {
      errors.push(c.error);
      continue;
    }
    const read = await readConfined(root, c.real, limits.maxFileBytes);
    if (!read.ok) {
      errors.push(read.error);
      continue;
    }
    const parsed = parseYamlData(read.text, c.rel, limits);
    if (!parsed.ok) errors.push(parsed.error);
    values.push(c.real);
  }
  const releaseName = opts.releaseName ?? chart.name;
  if (releaseName === undefined) {
    errors.push(
      renderError(
        RenderErrorCode.BadInput,
        `${relToRoot(root, chartDir)}/Chart.yaml has no name; set render.releaseName (--release-name)`,
        { file: `${relToRoot(root, chartDir)}/Chart.yaml` },
      ),
    );
  }
  if (errors.length > 0 || releaseName === undefined) return { ok: false, errors };
  // --include-crds: `helm install` installs a chart's crds/ folder, so the revision holds those CRDs too.
  const args = ["template", releaseName, chartDir, "--include-crds"];
  if (opts.namespace !== undefined) args.push("--namespace", opts.namespace);
  for (const v of values) args.push("--values", v);
  const res = await runTool(opts.helm, args, root, limits, (home) => ({
    HELM_CACHE_HOME: path.join(home, "helm-cache"),
    HELM_CONFIG_HOME: path.join(home, "helm-config"),
    HELM_DATA_HOME: path.join(home, "helm-data"),
  }));
  if (!res.ok) return { ok: false, errors: [res.error] };
  // Helm 3 and 4 drop objects whose hook they do not know (Helm 2's crd-install) with only a log line:
  // rendering on would leave out the chart's CRDs, so the chart is refused instead.
  const skipped = /skipping unknown hooks?:? ?(?:hookTypes=)?"?([A-Za-z0-9_,-]*)/.exec(res.stderr);
  if (skipped !== null) {
    const chartRel = relToRoot(root, chartDir);
    return {
      ok: false,
      errors: [
        renderError(
          RenderErrorCode.HelmHookUnsupported,
          `helm left out objects of ${chartRel} with an unknown hook (${skipped[1] || "unknown"}): Helm 2's ` +
            "crd-install hook is not run by Helm 3 or later; move those CustomResourceDefinitions to the " +
            "chart's crds/ folder (gitward renders it) or drop the annotation",
          { file: chartRel },
        ),
      ],
    };
  }
  return fromHelmOutput(res.stdout, relToRoot(root, chartDir), limits);
}

/** helm marks each document with `# Source: <chart>/templates/x.yaml`; that template is the origin. */
function fromHelmOutput(out: string, chartRel: string, limits: RenderLimits): RenderResult {
  const parsed = parseManifests(out, `${chartRel}/(helm template)`, {
    ...limits,
    maxDocumentsPerFile: limits.maxObjects,
  });
  if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors };
  const sources: { line: number; file: string }[] = [];
  out.split("\n").forEach((text, i) => {
    const m = /^# Source: [^/]+\/(.+)$/.exec(text);
    if (m?.[1] !== undefined) sources.push({ line: i + 1, file: `${chartRel}/${m[1]}` });
  });
  const manifests: Manifest[] = parsed.manifests.map((m) => {
    let file: string | undefined;
    for (const s of sources) if (s.line <= m.origin.line) file = s.file;
    return file === undefined ? m : { ...m, origin: { file, line: 1 } };
  });
  return withHooks(manifests);
}

const HOOK_ANNOTATION = "helm.sh/hook";
const TEST_HOOKS = new Set(["test", "test-success", "test-failure"]);

/**
 * Helm's hooks in a revision applied as a whole: objects whose hooks are all test hooks are dropped (they
 * are what `helm test` runs, never part of a release: applying them re-created and pruned podinfo's test
 * Pods on every reconcile); every other hook would have to run in a phase gitward does not have
 * (pre-install, post-upgrade, pre-delete...), so it is refused by name rather than applied at the wrong
 * time or silently left out.
 */
function withHooks(manifests: readonly Manifest[]): RenderResult {
  const kept: Manifest[] = [];
  const errors: RenderError[] = [];
  for (const m of manifests) {
    const annotations = isRecord(m.object["metadata"]) ? m.object["metadata"]["annotations"] : undefined;
    const value = isRecord(annotations) ? annotations[HOOK_ANNOTATION] : undefined;
    if (typeof value !== "string" || value.trim() === "") {
      kept.push(m);
      continue;
    }
    const hooks = value
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    if (hooks.every((h) => TEST_HOOKS.has(h))) continue;
    errors.push(
      renderError(
        RenderErrorCode.HelmHookUnsupported,
        `${m.origin.file}: ${m.kind} ${m.name} is a helm hook (${HOOK_ANNOTATION}: ${value.trim()}); gitward ` +
          "applies a chart as one revision and does not run hooks in phases, so the chart is refused. Make " +
          "it an ordinary object (drop the annotation, e.g. through the chart's values) or run it outside gitward",
        { file: m.origin.file, line: m.origin.line },
      ),
    );
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, manifests: kept };
}
