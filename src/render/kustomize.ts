// The `kustomize` renderer: before kustomize runs, every kustomization reachable from the entry folder is
// read by gitward and each path it names is confined to the repository (remote bases refused unless
// allowed); then `kubectl kustomize` runs with its own load restrictor as a second wall.
import { stat } from "node:fs/promises";
import path from "node:path";
import { confine, relToRoot } from "./confine.js";
import { readConfined } from "./files.js";
import { isRecord, parseManifests, parseYamlData } from "./parse.js";
import { linkPositions } from "./positions.js";
import { runTool } from "./tool.js";
import {
  RenderErrorCode,
  renderError,
  type Manifest,
  type RenderError,
  type RenderLimits,
  type RenderResult,
} from "./types.js";

const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

export interface KustomizeOptions {
  readonly kubectl: string;
  readonly allowRemoteBases: boolean;
}

/** kustomize's own notion of remote: URLs, scp-like git addresses and well-known forge hosts. */
export function looksRemote(p: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(p) ||
    /^git@/.test(p) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(p) ||
    p.includes("?ref=") ||
    p.includes("?version=")
  );
}

/** The path-valued entries of one kustomization, with the field each came from. */
function referencedPaths(
  k: Record<string, unknown>,
): { field: string; value: string; kustomization: boolean }[] {
  const out: { field: string; value: string; kustomization: boolean }[] = [];
  const strings = (field: string, kustomization: boolean): void => {
    const v = k[field];
    if (!Array.isArray(v)) return;
    for (const s of v) {
      // Inline patches and generator configs are objects or multi-line strings, not paths.
      if (typeof s === "string" && !s.includes("\n")) out.push({ field, value: s, kustomization });
    }
  };
  strings("resources", true);
  strings("bases", true);
  strings("components", true);
  for (const f of [
    "patchesStrategicMerge",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
  ]) {
    strings(f, false);
  }
  for (const f of ["patches", "patchesJson6902", "replacements"]) {
    const v = k[f];
    if (!Array.isArray(v)) continue;
    for (const p of v)
      if (isRecord(p) && typeof p["path"] === "string")
        out.push({ field: f, value: p["path"], kustomization: false });
  }
  for (const f of ["configMapGenerator", "secretGenerator"]) {
    const v = k[f];
    if (!Array.isArray(v)) continue;
    for (const g of v) {
      if (!isRecord(g)) continue;
      for (const key of ["files", "envs"]) {
        const list = g[key];
        if (!Array.isArray(list)) continue;
        for (const entry of list) {
          if (typeof entry !== "string") continue;
          // `files` entries may be "key=path".
          const eq = key === "files" ? entry.indexOf("=") : -1;
          out.push({
            field: `${f}.${key}`,
            value: eq >= 0 ? entry.slice(eq + 1) : entry,
            kustomization: false,
          });
        }
      }
      if (typeof g["env"] === "string")
        out.push({ field: `${f}.env`, value: g["env"], kustomization: false });
    }
  }
  const openapi = k["openapi"];
  if (isRecord(openapi) && typeof openapi["path"] === "string") {
    out.push({ field: "openapi", value: openapi["path"], kustomization: false });
  }
  return out;
}

interface Inspection {
  readonly errors: RenderError[];
  /** Objects of the plain resource files, indexed to give kustomize's output an origin. */
  readonly sources: Manifest[];
  readonly entry: string | undefined;
}

async function findKustomization(dir: string): Promise<string | undefined> {
  for (const n of KUSTOMIZATION_NAMES) {
    const st = await stat(path.join(dir, n)).catch(() => undefined);
    if (st?.isFile() === true) return path.join(dir, n);
  }
  return undefined;
}

/** Line of the first occurrence of `needle` in `text` (1-based), for error messages. */
function lineOf(text: string, needle: string): number | undefined {
  const i = text.indexOf(needle);
  return i < 0 ? undefined : text.slice(0, i).split("\n").length;
}

async function inspect(
  root: string,
  entryDir: string,
  opts: KustomizeOptions,
  limits: RenderLimits,
): Promise<Inspection> {
  const errors: RenderError[] = [];
  const sources: Manifest[] = [];
  const visited = new Set<string>();
  const entry = await findKustomization(entryDir);
  const visit = async (dir: string): Promise<void> => {
    if (visited.has(dir)) return;
    visited.add(dir);
    const kfile = await findKustomization(dir);
    if (kfile === undefined) {
      errors.push(
        renderError(
          RenderErrorCode.BadInput,
          `${relToRoot(root, dir)} has no kustomization.yaml; add one or render it as a directory`,
          {
            file: relToRoot(root, dir),
          },
        ),
      );
      return;
    }
    const rel = relToRoot(root, kfile);
    const read = await readConfined(root, kfile, limits.maxFileBytes);
    if (!read.ok) {
      errors.push(read.error);
      return;
    }
    const parsed = parseYamlData(read.text, rel, limits);
    if (!parsed.ok) {
      errors.push(parsed.error);
      return;
    }
    if (!isRecord(parsed.value)) {
      errors.push(
        renderError(RenderErrorCode.BadInput, `${rel}: not a kustomization (expected a mapping)`, {
          file: rel,
        }),
      );
      return;
    }
    const k = parsed.value;
    if (k["helmCharts"] !== undefined || k["helmGlobals"] !== undefined) {
      errors.push(
        renderError(
          RenderErrorCode.BadInput,
          `${rel}:${lineOf(read.text, "helmCharts") ?? 1}: helmCharts in a kustomization download charts; render the chart with --render helm instead`,
          { file: rel, line: lineOf(read.text, "helmCharts") ?? 1 },
        ),
      );
    }
    for (const ref of referencedPaths(k)) {
      const line = lineOf(read.text, ref.value);
      const referrer = line === undefined ? { file: rel } : { file: rel, line };
      if (looksRemote(ref.value)) {
        if (!opts.allowRemoteBases) {
          errors.push(
            renderError(
              RenderErrorCode.RemoteBase,
              `${rel}${line === undefined ? "" : `:${line}`}: ${ref.field} entry "${ref.value}" is a remote base; ` +
                "remote bases are off: vendor it into the repository or set allowRemoteBases",
              referrer,
            ),
          );
        }
        continue;
      }
      const c = await confine(root, dir, ref.value, referrer);
      if (!c.ok) {
        errors.push(c.error);
        continue;
      }
      const st = await stat(c.real);
      if (st.isDirectory()) {
        if (ref.kustomization) await visit(c.real);
        else
          errors.push(
            renderError(
              RenderErrorCode.BadInput,
              `${rel}: ${ref.field} entry "${ref.value}" is a folder`,
              referrer,
            ),
          );
      } else if (ref.field === "resources" || ref.field === "bases" || ref.field === "components") {
        const res = await readConfined(root, c.real, limits.maxFileBytes);
        if (!res.ok) {
          errors.push(res.error);
          continue;
        }
        const p = parseManifests(res.text, c.rel, limits);
        errors.push(...p.errors);
        sources.push(...p.manifests);
      } else {
        // Patch and generator files are read by kustomize; gitward only checks their size here.
        const res = await readConfined(root, c.real, limits.maxFileBytes);
        if (!res.ok) errors.push(res.error);
      }
    }
  };
  await visit(entryDir);
  return { errors, sources, entry };
}

/** The resource each object kustomize wrote most likely came from: its origin is that object's. */
function sourceFor(m: Manifest, sources: readonly Manifest[]): Manifest | undefined {
  let best: Manifest | undefined;
  for (const s of sources) {
    if (s.kind !== m.kind) continue;
    if (s.name === m.name) return s;
    // namePrefix / nameSuffix change the name; the longest source name contained in it is the best guess.
    if (m.name.includes(s.name) && (best === undefined || s.name.length > best.name.length)) best = s;
  }
  return best;
}

/** Renders the kustomization in `dir` (a real path inside the real repository root `root`). */
export async function renderKustomize(
  root: string,
  dir: string,
  opts: KustomizeOptions,
  limits: RenderLimits,
): Promise<RenderResult> {
  const ins = await inspect(root, dir, opts, limits);
  if (ins.errors.length > 0) return { ok: false, errors: ins.errors };
  const res = await runTool(
    opts.kubectl,
    ["kustomize", dir, "--load-restrictor", "LoadRestrictionsRootOnly"],
    root,
    limits,
  );
  if (!res.ok) return { ok: false, errors: [res.error] };
  const entryRel = relToRoot(root, ins.entry ?? dir);
  const parsed = parseManifests(res.stdout, entryRel, { ...limits, maxDocumentsPerFile: limits.maxObjects });
  if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors };
  const fallback = { file: entryRel, line: 1 };
  return {
    ok: true,
    manifests: parsed.manifests.map((m) => {
      const s = sourceFor(m, ins.sources);
      // Lines of kustomize's output are no file's lines: field lines come from the source file, where
      // the value is still as written there (positions.ts).
      linkPositions(m.object, s?.object);
      return { ...m, origin: s?.origin ?? fallback };
    }),
  };
}
