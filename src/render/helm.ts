// The `helm` renderer: `helm template` on a chart folder of the repository, with values files that must
// lie inside the repository, every file of the chart checked for symlinks that leave it, file:// chart
// dependencies confined too, and helm's cache, config and data folders in a private temporary home.
import path from "node:path";
import { confine, relToRoot } from "./confine.js";
import { readConfinedBytes, readConfinedUtf8, walkWithinLimits } from "./files.js";
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
  readonly releaseName: string;
  readonly namespace: string | undefined;
}

async function inspectChart(root: string, chartDir: string, limits: RenderLimits): Promise<RenderError[]> {
  const errors: RenderError[] = [];
  const chartRel = relToRoot(root, chartDir);
  // helm follows symlinks inside a chart; walking every file refuses those that leave the repository.
  const all = await walkWithinLimits(root, chartDir, () => true, limits);
  for (const e of all.errors) errors.push(e);
  if (all.tooMany) return errors;
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
    return errors;
  }
  for (const f of all.files) {
    // Charts may hold binary files (packaged dependencies): only their type and size are checked here.
    const read = await readConfinedBytes(root, f, limits.maxFileBytes);
    if (!read.ok) errors.push(read.error);
  }
  const read = await readConfinedUtf8(root, chartYaml, limits.maxFileBytes);
  if (!read.ok) return errors;
  const rel = relToRoot(root, chartYaml);
  const parsed = parseYamlData(read.text, rel, limits);
  if (!parsed.ok) {
    errors.push(parsed.error);
    return errors;
  }
  const deps = isRecord(parsed.value) ? parsed.value["dependencies"] : undefined;
  if (Array.isArray(deps)) {
    for (const d of deps) {
      if (!isRecord(d) || typeof d["repository"] !== "string") continue;
      const repo = d["repository"];
      if (!repo.startsWith("file://")) continue; // remote dependencies must be vendored under charts/
      const c = await confine(root, chartDir, repo.slice("file://".length), { file: rel });
      if (!c.ok) errors.push(c.error);
      else errors.push(...(await inspectChart(root, c.real, limits)));
    }
  }
  return errors;
}

/** Renders the chart in `chartDir` (a real path inside the real repository root `root`). */
export async function renderHelm(
  root: string,
  chartDir: string,
  opts: HelmOptions,
  limits: RenderLimits,
): Promise<RenderResult> {
  const errors = await inspectChart(root, chartDir, limits);
  const values: string[] = [];
  for (const v of opts.valuesFiles) {
    const c = await confine(root, root, v, { file: `values file ${v}` });
    if (!c.ok) {
      errors.push(c.error);
      continue;
    }
    const read = await readConfinedUtf8(root, c.real, limits.maxFileBytes);
    if (!read.ok) {
      errors.push(read.error);
      continue;
    }
    const parsed = parseYamlData(read.text, c.rel, limits);
    if (!parsed.ok) errors.push(parsed.error);
    values.push(c.real);
  }
  if (errors.length > 0) return { ok: false, errors };
  const args = ["template", opts.releaseName, chartDir];
  if (opts.namespace !== undefined) args.push("--namespace", opts.namespace);
  for (const v of values) args.push("--values", v);
  const res = await runTool(opts.helm, args, root, limits, (home) => ({
    HELM_CACHE_HOME: path.join(home, "helm-cache"),
    HELM_CONFIG_HOME: path.join(home, "helm-config"),
    HELM_DATA_HOME: path.join(home, "helm-data"),
  }));
  if (!res.ok) return { ok: false, errors: [res.error] };
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
  return { ok: true, manifests };
}
