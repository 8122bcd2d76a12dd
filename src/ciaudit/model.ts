// A common view of GitHub workflows, composite actions and GitLab CI files for the rules: triggers, jobs,
// steps (`uses:` with its inputs) and shell scripts (`run:` blocks, GitLab `script:` lines), each with the
// node it came from so a finding can name its line.
import { isMap } from "yaml";
import { entries, get, items, str, strings, type YNode } from "./nav.js";
import { scriptLines } from "./shell.js";
import type { CiFile } from "./types.js";

export interface Step {
  readonly node: YNode;
  /** `uses:` value and node, when the step calls an action. */
  readonly uses?: { readonly value: string; readonly node: YNode };
  readonly with: YNode;
  readonly run?: Script;
}

export interface Script {
  readonly text: string;
  readonly node: YNode;
}

export interface Job {
  readonly id: string;
  /** The job's key node (where a finding about the whole job points). */
  readonly keyNode: YNode;
  readonly node: YNode;
  readonly steps: readonly Step[];
  /** Every shell script of the job: GitHub `run:` steps, GitLab before_script/script/after_script. */
  readonly scripts: readonly Script[];
}

/** The events that start a GitHub workflow, each with the node naming it. */
export function triggers(file: CiFile): Map<string, YNode> {
  const out = new Map<string, YNode>();
  if (file.kind !== "github-workflow") return out;
  const on = get(file.doc.contents, "on");
  for (const s of strings(on)) out.set(s.value, s.node);
  for (const e of entries(on)) out.set(e.key, e.pair.key as YNode);
  return out;
}

/** The configuration of one trigger (`on: push: {tags: [...]}` gives the push mapping). */
export function triggerConfig(file: CiFile, event: string): YNode {
  return get(get(file.doc.contents, "on"), event);
}

function readSteps(list: YNode): Step[] {
  return items(list).map((node) => {
    const usesNode = get(node, "uses");
    const uses = str(usesNode);
    const runNode = get(node, "run");
    const run = str(runNode);
    return {
      node,
      with: get(node, "with"),
      ...(uses === undefined ? {} : { uses: { value: uses.trim(), node: usesNode } }),
      ...(run === undefined ? {} : { run: { text: run, node: runNode } }),
    };
  });
}

// GitLab's global keywords; every other top-level key is a job (hidden ones, starting with ".", are
// templates that jobs extend, so their scripts run too).
const GITLAB_GLOBALS = new Set([
  "stages",
  "variables",
  "include",
  "workflow",
  "image",
  "services",
  "cache",
  "before_script",
  "after_script",
  "default",
  "spec",
  "types",
  "pages:deploy",
]);

function gitlabScripts(job: YNode): Script[] {
  const out: Script[] = [];
  for (const key of ["before_script", "script", "after_script"]) {
    const value = get(job, key);
    const one = str(value);
    if (one !== undefined) out.push({ text: one, node: value });
    // GitLab flattens nested lists (from !reference) one level deep.
    for (const item of items(value)) {
      const s = str(item);
      if (s !== undefined) out.push({ text: s, node: item });
      for (const inner of items(item)) {
        const t = str(inner);
        if (t !== undefined) out.push({ text: t, node: inner });
      }
    }
  }
  return out;
}

// Every rule asks for the jobs of the same file: read them once per file (files are never changed after
// parsing, so the cache cannot go stale; a WeakMap lets them go with the file).
const jobCache = new WeakMap<CiFile, readonly Job[]>();

export function jobs(file: CiFile): readonly Job[] {
  let cached = jobCache.get(file);
  if (cached === undefined) {
    cached = readJobs(file);
    jobCache.set(file, cached);
  }
  return cached;
}

function readJobs(file: CiFile): Job[] {
  const root = file.doc.contents;
  if (file.kind === "github-action") {
    const runs = get(root, "runs");
    const steps = readSteps(get(runs, "steps"));
    return [
      {
        id: "(action)",
        keyNode: root,
        node: runs,
        steps,
        scripts: steps.flatMap((s) => (s.run === undefined ? [] : [s.run])),
      },
    ];
  }
  if (file.kind === "github-workflow") {
    return entries(get(root, "jobs")).map((e) => {
      const steps = readSteps(get(e.value, "steps"));
      return {
        id: e.key,
        keyNode: e.pair.key as YNode,
        node: e.value,
        steps,
        scripts: steps.flatMap((s) => (s.run === undefined ? [] : [s.run])),
      };
    });
  }
  const out: Job[] = [];
  for (const e of entries(root)) {
    if (GITLAB_GLOBALS.has(e.key) || !isMap(e.value)) continue;
    out.push({
      id: e.key,
      keyNode: e.pair.key as YNode,
      node: e.value,
      steps: [],
      scripts: gitlabScripts(e.value),
    });
  }
  // Global and default before/after scripts run in every job: audit them as one pseudo-job.
  const globals = [...gitlabScripts(root), ...gitlabScripts(get(root, "default"))];
  if (globals.length > 0)
    out.push({ id: "(default)", keyNode: root, node: get(root, "default"), steps: [], scripts: globals });
  return out;
}

// Several rules read the lines of the same script; split each script once (keyed on the script object,
// which the job cache keeps alive for as long as its file).
const lineCache = new WeakMap<Script, readonly string[]>();

/** The logical lines of a script (see shell.ts scriptLines), split once per script. */
export function linesOf(script: Script): readonly string[] {
  let cached = lineCache.get(script);
  if (cached === undefined) {
    cached = scriptLines(script.text);
    lineCache.set(script, cached);
  }
  return cached;
}

/** The action a `uses:` names, without its ref and lower-cased ("actions/checkout"). */
export function actionName(uses: string): string {
  const at = uses.indexOf("@");
  return (at < 0 ? uses : uses.slice(0, at)).toLowerCase();
}

export function usesAction(step: Step, ...names: string[]): boolean {
  if (step.uses === undefined) return false;
  const name = actionName(step.uses.value);
  return names.some((n) => name === n || name.startsWith(n + "/"));
}
