// `npm run bench -- scale [--apps A] [--per-app P] [--objects N] [--rss-objects M] [--prune-percent Q]
// [--phases many,one,rss] [--cpu-prof DIR]`: gitward at size, next to `kubectl apply --server-side` of the
// same objects on its own fresh sandbox. "many": A Applications of P objects each (default 100 × 200);
// "one": one Application of N objects (default 50,000), its first reconcile, no-op reconciles and a
// revision that drops Q% of the objects (default 10%), which gitward prunes; "rss": the same as "one" at M
// objects (default 10,000) without the peer, for the operator's memory. gitward runs as the operator does,
// in a Node process of its own started without any Node flags (--cpu-prof only when asked), whose
// resident memory is read after each step.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { ClusterClient, type KubeObject } from "../src/cluster/client.js";
import type { ReconcileReport } from "../src/reconcile/reconcile.js";
import type { LogFn } from "../src/reconcile/operator.js";
import { git } from "../src/source/git.js";
import { commitSigned } from "../src/trust/commit/signed-commit.js";
import {
  applicationFor,
  intArg,
  objectsFor,
  OBJECTS_PER_FILE,
  signedRepo,
  trustFor,
} from "./support/app-repo.js";
import { startBenchOperator } from "./support/operator.js";
import {
  installOperatorIdentity,
  root,
  startSandboxProcess,
  stopChild,
  type SandboxProcess,
} from "./support/sandbox-process.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const kubectlBin = path.join(root, ".tools", "bin", "kubectl");
const execFileP = promisify(execFile);

const DEFAULTS = { apps: 100, perApp: 200, objects: 50_000, rssObjects: 10_000, prunePercent: 10 } as const;
const PHASES = ["many", "one", "rss"] as const;
type Phase = (typeof PHASES)[number];
/** Issue 18's targets. */
const TARGETS = { firstVsKubectl: 0.5, noopVsFirst: 0.02, rssMBAt10k: 200 } as const;
/** No-op passes measured in each phase; the median is the figure. */
const NOOP_RUNS = 3;
/** The longest any one measured reconcile may take before the bench gives up. */
const STEP_TIMEOUT_MS = 60 * 60_000;
/** The branch a phase moves main to for its prune step: the same files minus the last Q%. */
const PRUNED_BRANCH = "pruned";

const round = (x: number): number => Math.round(x);
const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ---- the operator's side, in a process of its own ---------------------------------------------------

interface ChildJob {
  /** gitward's service account's kubeconfig. */
  readonly kubeconfig: string;
  readonly dir: string;
  readonly publicKeyLine: string;
  /** One per Application: its name and repository. */
  readonly apps: readonly { readonly name: string; readonly repo: string }[];
  /** Moves each repository's main to PRUNED_BRANCH and reconciles once more (one Application phases). */
  readonly prune: boolean;
}

interface Memory {
  readonly rssMB: number;
  readonly heapUsedMB: number;
}

interface StepFigures {
  readonly ms: number;
  /** Per-step wall times of the slowest Application's report. */
  readonly steps: Readonly<Record<string, number>>;
  readonly applied: number;
  readonly pruned: number;
  readonly memory: Memory;
}

interface ChildResult {
  readonly first: StepFigures;
  readonly noop: readonly StepFigures[];
  readonly prune?: StepFigures;
  readonly peakRssMB: number;
  readonly baselineRssMB: number;
  readonly nodeFlags: readonly string[];
  readonly problems: readonly string[];
}

function memoryNow(): Memory {
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed) };
}

async function operatorChild(jobFile: string): Promise<ChildResult> {
  const baseline = memoryNow();
  const job = JSON.parse(await readFile(jobFile, "utf8")) as ChildJob; // Written by the parent just now.
  const problems: string[] = [];
  const log: LogFn = (level, message, fields = {}) => {
    if (level === "info" || problems.length >= 20) return;
    const error = typeof fields["error"] === "string" ? `: ${fields["error"]}` : "";
    problems.push(`${level} ${message}${error}`);
  };
  const running = await startBenchOperator({
    kubeconfig: job.kubeconfig,
    dir: job.dir,
    apps: job.apps.map((a) => applicationFor(a.name, a.repo)),
    trust: trustFor(job.publicKeyLine),
    name: "scale",
    log,
  });
  const { op } = running;
  /** Waits until every Application has reconciled `after + 1` times, each with `result`. */
  const pass = async (after: number, result: ReconcileReport["result"], started: number) => {
    for (;;) {
      const apps = op.snapshot();
      if (apps.every((a) => a.reconciles > after)) {
        const ms = performance.now() - started;
        const reports = apps.map((a) => a.lastReport);
        const bad = reports.find((r) => r?.result !== result);
        if (bad !== undefined) {
          const name = `${bad.application.namespace}/${bad.application.name}`;
          throw new Error(`${name}: ${bad.result} (${bad.reason ?? "-"}) ${bad.message}; expected ${result}`);
        }
        const slowest = reports.reduce<ReconcileReport | undefined>((s, r) => {
          const total = (x: ReconcileReport | undefined) =>
            Object.values(x?.timings ?? {}).reduce((a, b) => a + b, 0);
          return total(r) > total(s) ? r : s;
        }, undefined);
        return {
          ms: round(ms),
          steps: slowest?.timings ?? {},
          applied: reports.reduce((n, r) => n + (r?.applied.length ?? 0), 0),
          pruned: reports.reduce((n, r) => n + (r?.pruned.length ?? 0), 0),
          memory: memoryNow(),
        };
      }
      if (performance.now() - started > STEP_TIMEOUT_MS)
        throw new Error(`no ${result} pass within the timeout`);
      await sleep(25);
    }
  };
  const again = async (passes: number, result: ReconcileReport["result"]) => {
    const started = performance.now();
    for (const a of op.snapshot()) op.trigger(a.application, "bench");
    return pass(passes, result, started);
  };
  try {
    // start() ran above: the first pass of every Application began with it.
    const first = await pass(0, "applied", performance.now());
    const noop: StepFigures[] = [];
    for (let i = 0; i < NOOP_RUNS; i++) noop.push(await again(1 + i, "unchanged"));
    let prune: StepFigures | undefined;
    if (job.prune) {
      for (const a of job.apps)
        await git(["update-ref", "refs/heads/main", `refs/heads/${PRUNED_BRANCH}`], { cwd: a.repo });
      prune = await again(1 + NOOP_RUNS, "applied");
    }
    return {
      first,
      noop,
      ...(prune === undefined ? {} : { prune }),
      // maxRSS is in kilobytes: the high-water mark of the whole run.
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      baselineRssMB: baseline.rssMB,
      nodeFlags: process.execArgv,
      problems,
    };
  } finally {
    await running.stop();
  }
}

/**
 * The operator's side in a Node process started without flags (but --cpu-prof when `cpuProfDir` is
 * given); resolves what it printed.
 */
async function runOperatorChild(
  dir: string,
  job: ChildJob,
  stack: (() => Promise<void>)[],
  cpuProfDir: string | undefined,
) {
  const jobFile = path.join(dir, `job-${String(stack.length)}.json`);
  await writeFile(jobFile, JSON.stringify(job), { mode: 0o600 });
  const flags = cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", cpuProfDir];
  const script = [path.join(here, "run.js"), "scale", "--child", jobFile];
  const child = spawn(process.execPath, [...flags, ...script], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  stack.push(() => stopChild(child));
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the operator run exited with ${String(code)}`);
  return JSON.parse(out) as ChildResult; // Our own child's output.
}

// ---- the peer ---------------------------------------------------------------------------------------

class Kubectl {
  constructor(
    private readonly dir: string,
    private readonly kubeconfig: string,
  ) {}

  /** Runs kubectl with `args`; resolves its wall time in ms. */
  async time(args: readonly string[]): Promise<number> {
    const started = performance.now();
    await execFileP(
      kubectlBin,
      ["--kubeconfig", this.kubeconfig, "--cache-dir", path.join(this.dir, "kcache"), ...args],
      { maxBuffer: 512 * 1024 * 1024, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: this.dir } },
    );
    return round(performance.now() - started);
  }
}

/** A fresh sandbox with gitward's identity installed; resolves it and gitward's service account's kubeconfig. */
async function freshCluster(dir: string, name: string, stack: (() => Promise<void>)[]) {
  const sandbox: SandboxProcess = await startSandboxProcess(dir, name);
  stack.push(() => stopChild(sandbox.child));
  const admin = ClusterClient.fromText(sandbox.kubeconfig);
  try {
    await installOperatorIdentity(admin);
    const operator = admin.kubeconfigWithToken(
      await admin.requestToken("gitward-system", "gitward"),
      "gitward",
    );
    const file = path.join(dir, `${name}.admin.kubeconfig`);
    await writeFile(file, sandbox.kubeconfig, { mode: 0o600 });
    return { sandbox, operator, kubectl: new Kubectl(dir, file) };
  } finally {
    admin.close();
  }
}

async function writeManifest(file: string, objects: readonly KubeObject[]): Promise<string> {
  await writeFile(file, objects.map((o) => stringify(o)).join("---\n"));
  return file;
}

// ---- the phases -------------------------------------------------------------------------------------

interface AppSpec {
  readonly name: string;
  readonly objects: readonly KubeObject[];
}

/**
 * One repository per Application, all signed with one key, each with a second branch that drops the
 * last `prunePercent` of its files (whole files of 100 objects); resolves the repositories and the
 * objects the pruned branch no longer holds.
 */
async function repositories(dir: string, apps: readonly AppSpec[], prunePercent: number) {
  const made: { name: string; repo: string }[] = [];
  const removed: KubeObject[] = [];
  let publicKeyLine = "";
  let key: Awaited<ReturnType<typeof signedRepo>>["key"] | undefined;
  for (const a of apps) {
    const repo = await signedRepo(path.join(dir, "repos", a.name), a.name, a.objects, key);
    key = repo.key;
    publicKeyLine = repo.publicKeyLine;
    const files = Math.ceil(a.objects.length / OBJECTS_PER_FILE);
    const drop = Math.max(1, Math.round((files * prunePercent) / 100));
    await git(["checkout", "-q", "-b", PRUNED_BRANCH], { cwd: repo.dir });
    for (let f = files - drop; f < files; f++)
      await rm(path.join(repo.dir, "apps", a.name, `part-${String(f)}.yaml`));
    await commitSigned({
      repoDir: repo.dir,
      message: `bench: drop ${String(drop)} files`,
      key: repo.key,
      author: { name: "Bench", email: "bench@gitward.dev" },
    });
    await git(["checkout", "-q", "main"], { cwd: repo.dir });
    removed.push(...a.objects.slice((files - drop) * OBJECTS_PER_FILE));
    made.push({ name: a.name, repo: repo.dir });
  }
  return { apps: made, publicKeyLine, removed };
}

interface PhaseOptions {
  readonly name: Phase;
  readonly apps: readonly AppSpec[];
  readonly prunePercent: number;
  readonly prune: boolean;
  readonly peer: boolean;
  /** Where the operator's process writes a CPU profile; absent: no profile (and no flags). */
  readonly cpuProfDir: string | undefined;
}

async function phase(dir: string, o: PhaseOptions) {
  const phaseDir = path.join(dir, o.name);
  await mkdir(phaseDir);
  const stack: (() => Promise<void>)[] = [];
  try {
    const repos = await repositories(phaseDir, o.apps, o.prunePercent);
    const objects = o.apps.reduce((n, a) => n + a.objects.length, 0);

    // gitward: the operator with every Application, on a fresh sandbox.
    const g = await freshCluster(phaseDir, "gitward", stack);
    const childDir = path.join(phaseDir, "operator");
    await mkdir(childDir);
    const operator = await runOperatorChild(
      phaseDir,
      {
        kubeconfig: g.operator,
        dir: childDir,
        publicKeyLine: repos.publicKeyLine,
        apps: repos.apps,
        prune: o.prune,
      },
      stack,
      o.cpuProfDir,
    );
    await stopChild(g.sandbox.child);
    const noopMs = median(operator.noop.map((n) => n.ms));
    const gitward = {
      firstMs: operator.first.ms,
      noopMs,
      noopRunsMs: operator.noop.map((n) => n.ms),
      ...(operator.prune === undefined ? {} : { pruneMs: operator.prune.ms }),
      applied: operator.first.applied,
      ...(operator.prune === undefined ? {} : { pruned: operator.prune.pruned }),
      slowestAppSteps: {
        first: operator.first.steps,
        noop: operator.noop.map((n) => n.steps),
        ...(operator.prune === undefined ? {} : { prune: operator.prune.steps }),
      },
    };
    const memory = {
      objects,
      afterFirstMB: operator.first.memory,
      afterNoopMB: operator.noop.at(-1)?.memory,
      ...(operator.prune === undefined ? {} : { afterPruneMB: operator.prune.memory }),
      peakRssMB: operator.peakRssMB,
      baselineRssMB: operator.baselineRssMB,
      nodeFlags: operator.nodeFlags,
    };
    if (!o.peer) return { objects, gitward, memory, problems: operator.problems };

    // kubectl: the same objects on another fresh sandbox, one invocation for all of them (the fastest
    // way to call it), then the same again (its no-op), then the pruned revision: what is left applied,
    // what was dropped deleted.
    const k = await freshCluster(phaseDir, "kubectl", stack);
    const all = await writeManifest(
      path.join(phaseDir, "all.yaml"),
      o.apps.flatMap((a) => a.objects),
    );
    const first = await k.kubectl.time(["apply", "--server-side", "-f", all]);
    const again = await k.kubectl.time(["apply", "--server-side", "-f", all]);
    let prune: { applyKeptMs: number; deleteRemovedMs: number; totalMs: number } | undefined;
    if (o.prune) {
      const gone = new Set(repos.removed);
      const kept = await writeManifest(
        path.join(phaseDir, "kept.yaml"),
        o.apps.flatMap((a) => a.objects.filter((x) => !gone.has(x))),
      );
      const removed = await writeManifest(path.join(phaseDir, "removed.yaml"), repos.removed);
      const applyKeptMs = await k.kubectl.time(["apply", "--server-side", "-f", kept]);
      const deleteRemovedMs = await k.kubectl.time(["delete", "--wait=false", "-f", removed]);
      prune = { applyKeptMs, deleteRemovedMs, totalMs: applyKeptMs + deleteRemovedMs };
    }
    const kubectl = { firstMs: first, reapplyMs: again, ...(prune === undefined ? {} : { prune }) };
    return {
      objects,
      gitward,
      kubectl,
      ratios: {
        firstVsKubectl: ratio(gitward.firstMs, first),
        noopVsFirst: ratio(noopMs, gitward.firstMs),
        noopVsKubectlReapply: ratio(noopMs, again),
        ...(prune === undefined || gitward.pruneMs === undefined
          ? {}
          : { pruneVsKubectlApplyAndDelete: ratio(gitward.pruneMs, prune.totalMs) }),
      },
      memory,
      problems: operator.problems,
    };
  } finally {
    for (const undo of stack.reverse()) await undo();
  }
}

function phasesArg(args: readonly string[]): Set<Phase> {
  const i = args.indexOf("--phases");
  if (i < 0) return new Set(PHASES);
  const wanted = String(args[i + 1]).split(",");
  const bad = wanted.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (bad.length > 0) throw new Error(`--phases ${bad.join(",")}: give some of ${PHASES.join(",")}`);
  return new Set(wanted as Phase[]);
}

export async function run(args: readonly string[]): Promise<unknown> {
  const child = args.indexOf("--child");
  if (child >= 0) return operatorChild(args[child + 1] ?? "");
  const o = {
    apps: intArg(args, "--apps", DEFAULTS.apps),
    perApp: intArg(args, "--per-app", DEFAULTS.perApp),
    objects: intArg(args, "--objects", DEFAULTS.objects),
    rssObjects: intArg(args, "--rss-objects", DEFAULTS.rssObjects),
    prunePercent: intArg(args, "--prune-percent", DEFAULTS.prunePercent),
  };
  const phases = phasesArg(args);
  const prof = args.indexOf("--cpu-prof");
  const cpuProfDir = prof < 0 ? undefined : path.resolve(args[prof + 1] ?? ".");
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-bench-scale-"));
  const loadBefore = os.loadavg().map((x) => Number(x.toFixed(2)));
  const started = performance.now();
  try {
    const many = phases.has("many")
      ? await phase(dir, {
          name: "many",
          apps: Array.from({ length: o.apps }, (_, k) => ({
            name: `a${String(k)}`,
            objects: objectsFor(`a${String(k)}-`, o.perApp),
          })),
          prunePercent: o.prunePercent,
          prune: false,
          peer: true,
          cpuProfDir,
        })
      : undefined;
    const one = phases.has("one")
      ? await phase(dir, {
          name: "one",
          apps: [{ name: "big", objects: objectsFor("big-", o.objects) }],
          prunePercent: o.prunePercent,
          prune: true,
          peer: true,
          cpuProfDir,
        })
      : undefined;
    const rss = phases.has("rss")
      ? await phase(dir, {
          name: "rss",
          apps: [{ name: "mid", objects: objectsFor("mid-", o.rssObjects) }],
          prunePercent: o.prunePercent,
          prune: true,
          peer: false,
          cpuProfDir,
        })
      : undefined;
    return {
      options: o,
      ...(many === undefined ? {} : { many }),
      ...(one === undefined ? {} : { one }),
      ...(rss === undefined ? {} : { rss }),
      targets: {
        firstVsKubectl: `<= ${String(TARGETS.firstVsKubectl)}`,
        noopVsFirst: `< ${String(TARGETS.noopVsFirst)}`,
        rssMBAt10k: `< ${String(TARGETS.rssMBAt10k)} (after the first reconcile, no Node flags)`,
      },
      met: {
        ...(many === undefined
          ? {}
          : {
              manyFirstVsKubectl: (many.ratios?.firstVsKubectl ?? Infinity) <= TARGETS.firstVsKubectl,
              manyNoopVsFirst: (many.ratios?.noopVsFirst ?? Infinity) < TARGETS.noopVsFirst,
            }),
        ...(one === undefined
          ? {}
          : {
              oneFirstVsKubectl: (one.ratios?.firstVsKubectl ?? Infinity) <= TARGETS.firstVsKubectl,
              oneNoopVsFirst: (one.ratios?.noopVsFirst ?? Infinity) < TARGETS.noopVsFirst,
            }),
        ...(rss === undefined || o.rssObjects !== DEFAULTS.rssObjects
          ? {}
          : { rssAt10k: rss.memory.afterFirstMB.rssMB < TARGETS.rssMBAt10k }),
      },
      notes:
        "gitward: the operator (all Applications at once, as `gitward run` starts them) in its own Node " +
        "process without flags; first = from start until every Application's first pass applied (fetch, " +
        "verify, render, policy, dry run, apply as each Application's service account, inventory); no-op = " +
        "every Application reconciled again, unchanged (median of 3); prune = main moved to a revision " +
        "without the last files, reconciled. kubectl: one `apply --server-side -f` of all objects on its " +
        "own fresh sandbox, the same again, then the pruned revision as apply of what is left and " +
        "`delete --wait=false` of what was dropped. Each sandbox runs in its own process.",
      totalSeconds: round((performance.now() - started) / 1000),
      node: process.version,
      // The machine is shared: its load says how far these figures are from an idle machine's.
      machine: {
        cpus: os.cpus().length,
        loadavgBefore: loadBefore,
        loadavgAfter: os.loadavg().map((x) => Number(x.toFixed(2))),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
