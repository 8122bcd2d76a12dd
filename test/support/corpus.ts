// The corpus of real public repositories (test/fixtures/corpus): its targets and hand labels, a real git
// repository per corpus folder, the peer render (`kubectl kustomize`, `helm template`, the files themselves),
// gitward's check through the built CLI, and the scoring of findings against the labels. Shared by
// test/corpus/corpus.test.ts and bench/corpus.ts.
import { execFile } from "node:child_process";
import { cp, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import canonicalize from "canonicalize";
import picomatch from "picomatch";
import { parseAllDocuments } from "yaml";
import { render, type RenderOptions } from "../../src/render/render.js";
import type { RenderResult } from "../../src/render/types.js";
import { TestRepo } from "./git-repo.js";
import type { Signer } from "./signers.js";
import { repoRoot, runCli, toolPath } from "./tools.js";

const exec = promisify(execFile);
export const CORPUS_DIR = path.join(repoRoot, "test", "fixtures", "corpus");

export interface CorpusTarget {
  readonly id: string;
  readonly repo: string;
  readonly path: string;
  readonly type: "directory" | "kustomize" | "helm";
  readonly namespace?: string;
  readonly releaseName?: string;
  readonly valuesFiles?: readonly string[];
  readonly exclude?: readonly string[];
  readonly allowClusterScoped?: boolean;
  readonly allowedNamespaces?: readonly string[];
  /** The code check and reconcile must both refuse the target with before applying anything. */
  readonly expectRefusal?: string;
  readonly needs?: readonly string[];
}

/** Per target, per rule: label key → why. */
export type Labels = Record<string, Record<string, Record<string, string>>>;

export async function loadCorpus(): Promise<{ targets: CorpusTarget[]; rules: string[]; labels: Labels }> {
  const t = JSON.parse(await readFile(path.join(CORPUS_DIR, "targets.json"), "utf8")) as {
    targets: CorpusTarget[];
  };
  const l = JSON.parse(await readFile(path.join(CORPUS_DIR, "labels.json"), "utf8")) as {
    rules: string[];
    targets: Labels;
  };
  return { targets: t.targets, rules: l.rules, labels: l.targets };
}

/** A target's id as one path segment (repository and Application name). */
export function corpusSlug(t: CorpusTarget): string {
  return t.id.replaceAll("/", "-").toLowerCase();
}

/** Copies one corpus folder into `dir` as a fresh git repository with one commit (signed when asked). */
export async function corpusRepo(folder: string, dir: string, signer?: Signer): Promise<TestRepo> {
  const repo = await TestRepo.create(dir);
  await cp(path.join(CORPUS_DIR, folder), dir, { recursive: true });
  await repo.commitFiles({}, { message: `import ${folder}`, ...(signer === undefined ? {} : { signer }) });
  return repo;
}

export interface KubeObj {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
}

function objectsOf(text: string): KubeObj[] {
  const out: KubeObj[] = [];
  for (const d of parseAllDocuments(text)) {
    const o = d.toJS() as (KubeObj & { items?: KubeObj[] }) | null;
    if (o === null || typeof o !== "object") continue;
    if (o.kind?.endsWith("List") === true && Array.isArray(o.items)) out.push(...o.items);
    else out.push(o);
  }
  return out;
}

/** Helm test hooks are run by `helm test`, never installed: neither side applies them. */
export function isTestHook(o: KubeObj): boolean {
  const hook = o.metadata?.annotations?.["helm.sh/hook"] ?? "";
  return hook.split(",").some((h) => h.trim().startsWith("test"));
}

/** The peer's render of a target in `dir` (the target's repository): real kubectl and helm, or the files. */
export async function peerRender(t: CorpusTarget, dir: string): Promise<KubeObj[]> {
  const at = path.join(dir, t.path);
  if (t.type === "kustomize") {
    const r = await exec(toolPath("kubectl"), ["kustomize", at], { maxBuffer: 64 << 20 });
    return objectsOf(r.stdout);
  }
  if (t.type === "helm") {
    const args = ["template", t.releaseName ?? "release", at];
    if (t.namespace !== undefined) args.push("--namespace", t.namespace);
    for (const v of t.valuesFiles ?? []) args.push("-f", path.join(dir, v));
    const r = await exec(toolPath("helm"), args, { maxBuffer: 64 << 20 });
    return objectsOf(r.stdout).filter((o) => !isTestHook(o));
  }
  const skip = picomatch([...(t.exclude ?? [])], { dot: true });
  const files = (await readdir(at, { recursive: true }))
    .filter((f) => /\.(ya?ml|json)$/.test(f) && !skip(f))
    .sort();
  const out: KubeObj[] = [];
  for (const f of files) out.push(...objectsOf(await readFile(path.join(at, f), "utf8")));
  return out;
}

export function objectKey(o: KubeObj): string {
  return `${o.apiVersion ?? ""}/${o.kind ?? ""}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

/** Canonical JSON of each object by apiVersion/kind/namespace/name (a duplicate key is kept apart). */
export function canonicalObjects(objs: readonly KubeObj[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of objs) {
    let k = objectKey(o);
    while (m.has(k)) k += "#dup";
    m.set(k, canonicalize(o) ?? "");
  }
  return m;
}

/** gitward's render of a target in `dir`, with the options its Application carries. */
export async function gitwardRender(t: CorpusTarget, dir: string): Promise<RenderResult> {
  const opts: RenderOptions = {
    repoRoot: dir,
    path: t.path,
    type: t.type,
    tools: { kubectl: toolPath("kubectl"), helm: toolPath("helm") },
    ...(t.namespace === undefined ? {} : { namespace: t.namespace }),
    ...(t.valuesFiles === undefined ? {} : { valuesFiles: t.valuesFiles }),
    ...(t.releaseName === undefined ? {} : { releaseName: t.releaseName }),
    ...(t.exclude === undefined ? {} : { exclude: t.exclude }),
  };
  return render(opts);
}

/** The `gitward check` arguments for a target (the built CLI, JSON output). */
export function checkArgs(t: CorpusTarget, dir: string, failOn: string): string[] {
  const args = ["check", path.join(dir, t.path), "--render", t.type, "-o", "json", "--fail-on", failOn];
  if (t.namespace !== undefined) args.push("--namespace", t.namespace);
  for (const v of t.valuesFiles ?? []) args.push("--values", path.join(dir, v));
  if (t.releaseName !== undefined) args.push("--release-name", t.releaseName);
  for (const g of t.exclude ?? []) args.push("--exclude", g);
  if (t.allowClusterScoped === true) args.push("--allow-cluster-scoped");
  for (const n of t.allowedNamespaces ?? []) args.push("--allowed-namespace", n);
  args.push("--kubectl", toolPath("kubectl"), "--helm", toolPath("helm"));
  return args;
}

export interface CheckFinding {
  readonly ruleId: string;
  readonly severity: string;
  readonly message: string;
  readonly object?: { kind: string; namespace?: string; name: string };
  readonly origin?: { file: string };
}

export interface CheckRun {
  readonly code: number;
  readonly findings: CheckFinding[];
  readonly stderr: string;
  readonly stdout: string;
}

export async function runCheck(t: CorpusTarget, dir: string, failOn: string): Promise<CheckRun> {
  const r = await runCli(checkArgs(t, dir, failOn));
  let findings: CheckFinding[];
  try {
    findings = (JSON.parse(r.stdout) as { report?: { findings?: CheckFinding[] } }).report?.findings ?? [];
  } catch {
    findings = [];
  }
  return { code: r.code, findings, stderr: r.stderr, stdout: r.stdout };
}

const CONTAINER = /\b(?:container|initContainer|ephemeralContainer) "([^"]+)"/;

/** A finding as a label key (see labels.json's $comment). */
export function findingKey(f: CheckFinding, t: CorpusTarget): string {
  if (f.object === undefined) return f.origin?.file ?? "(revision)";
  const ns = f.object.namespace ?? t.namespace ?? "";
  if (f.ruleId === "network/default-deny") return `namespace:${ns}`;
  const c = CONTAINER.exec(f.message)?.[1];
  return `${f.object.kind}/${ns}/${f.object.name}${c === undefined ? "" : `:${c}`}`;
}

export interface RuleScore {
  tp: number;
  fp: number;
  fn: number;
  /** Keys by target: what check reported beyond the labels, and what it missed. */
  readonly falsePositives: string[];
  readonly falseNegatives: string[];
}

/** Adds one target's findings to the per-rule scores; returns that target's found keys per rule. */
export function score(
  scores: Map<string, RuleScore>,
  rules: readonly string[],
  t: CorpusTarget,
  labels: Labels,
  findings: readonly CheckFinding[],
): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const f of findings) {
    const s = found.get(f.ruleId) ?? new Set<string>();
    s.add(findingKey(f, t));
    found.set(f.ruleId, s);
  }
  const ids = new Set([...rules, ...found.keys()]);
  for (const rule of ids) {
    const want = new Set(Object.keys(labels[t.id]?.[rule] ?? {}));
    const got = found.get(rule) ?? new Set<string>();
    const sc = scores.get(rule) ?? { tp: 0, fp: 0, fn: 0, falsePositives: [], falseNegatives: [] };
    for (const k of got) {
      if (want.has(k)) sc.tp++;
      else {
        sc.fp++;
        sc.falsePositives.push(`${t.id} ${k}`);
      }
    }
    for (const k of want) {
      if (!got.has(k)) {
        sc.fn++;
        sc.falseNegatives.push(`${t.id} ${k}`);
      }
    }
    scores.set(rule, sc);
  }
  return found;
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 1 : a / b;
}

export function overall(scores: Map<string, RuleScore>): { precision: number; recall: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const s of scores.values()) {
    tp += s.tp;
    fp += s.fp;
    fn += s.fn;
  }
  return { precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) };
}
