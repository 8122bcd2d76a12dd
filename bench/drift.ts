// `npm run bench -- drift [--objects N] [--events N] [--memory-objects N]`: how soon the operator reports
// drift (the time from another client's change to gitward's drift report, over N drift events on an
// Application of N objects), how long its interval pass takes, and its resident memory with many managed
// objects. The peer, Flux, finds drift only on its reconcile interval (10 minutes by default).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { parse, parseAllDocuments } from "yaml";
import type { Application, TrustPolicy } from "../src/config/types.js";
import { ClusterClient } from "../src/cluster/client.js";
import type { LogFn, Operator } from "../src/reconcile/operator.js";
import { applicationFor, intArg, objectsFor, signedRepo, trustFor } from "./support/app-repo.js";
import { startBenchOperator } from "./support/operator.js";
import {
  installOperatorIdentity,
  startSandboxProcess,
  stopChild,
  type SandboxProcess,
} from "./support/sandbox-process.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const DEFAULTS = { objects: 2000, events: 200, memoryObjects: 10_000 } as const;
const TARGETS = { p99Ms: 1000, rssMB: 250 } as const;
/** Flux's kustomize-controller compares the cluster with git only on `spec.interval`. */
const PEER = {
  name: "flux (interval-based)",
  detectionSeconds: 600,
  source: "Flux kustomize-controller default interval",
} as const;
/** The field manager of the "someone else" who changes managed objects. */
const DRIFTER = "bench-drifter";
/** A drift not reported within this long counts as missed. */
const REPORT_TIMEOUT_MS = 10_000;
const SYNC_TIMEOUT_MS = 15 * 60_000;

interface Options {
  readonly objects: number;
  readonly events: number;
  readonly memoryObjects: number;
}

// ---- the sandbox, in its own process ----------------------------------------------------------------

/**
 * gitward's own least-privilege identity (deploy/install) and the shop namespace's grant to it
 * (deploy/examples); returns the kubeconfig of gitward's service account, as the operator runs.
 */
async function prepareCluster(adminKubeconfig: string): Promise<string> {
  const admin = ClusterClient.fromText(adminKubeconfig);
  try {
    await installOperatorIdentity(admin);
    return admin.kubeconfigWithToken(await admin.requestToken("gitward-system", "gitward"), "gitward");
  } finally {
    admin.close();
  }
}

// ---- the other client that makes the drift -----------------------------------------------------------

/**
 * Raw HTTPS as admin with its own field manager: ClusterClient writes as `gitward`, and a change by
 * gitward's own manager would not be someone else's drift.
 */
class Drifter {
  private readonly base: URL;
  private readonly token: string;
  private readonly ca: string;
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(kubeconfig: string) {
    const kc = parse(kubeconfig) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { token: string } }[];
    };
    const cluster = kc.clusters[0]?.cluster;
    const token = kc.users[0]?.user.token;
    if (cluster === undefined || token === undefined)
      throw new Error("the sandbox kubeconfig has no cluster or token");
    this.base = new URL(cluster.server);
    this.token = token;
    this.ca = Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8");
  }

  /** A JSON merge patch of a namespaced core object as field manager bench-drifter. */
  patch(plural: "configmaps" | "services", name: string, body: Record<string, unknown>): Promise<void> {
    const url = new URL(
      `/api/v1/namespaces/shop/${plural}/${encodeURIComponent(name)}?fieldManager=${DRIFTER}`,
      this.base,
    );
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: "PATCH",
          agent: this.agent,
          ca: this.ca,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: "application/json",
            "Content-Type": "application/merge-patch+json",
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("error", reject);
          res.on("end", () => {
            if (res.statusCode === 200) resolve();
            else {
              const text = Buffer.concat(chunks).toString("utf8").slice(0, 300);
              reject(new Error(`patch of ${plural}/${name}: HTTP ${String(res.statusCode)}: ${text}`));
            }
          });
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---- the operator and when it reports ---------------------------------------------------------------

interface DriftReport {
  readonly at: number;
  readonly manager: string;
  readonly fields: readonly string[];
}

/** The operator's log, read for drift lines: the moment each object's drift is reported, as a user sees it. */
class ReportClock {
  readonly reports = new Map<string, DriftReport>();
  /** Drift lines for an object already reported (the same drift must be reported once). */
  duplicates = 0;
  /** Warnings and errors other than drift lines (a watch that failed, an audit record not written). */
  readonly problems: string[] = [];
  private readonly waiters = new Map<string, (r: DriftReport) => void>();

  readonly log: LogFn = (level, message, fields = {}) => {
    const at = performance.now();
    const object = fields["object"] as { name?: unknown } | undefined;
    if (fields["action"] === "detected" && typeof object?.name === "string") {
      const name = object.name;
      if (this.reports.has(name)) {
        this.duplicates++;
        return;
      }
      const report: DriftReport = {
        at,
        manager: String(fields["manager"]),
        fields: Array.isArray(fields["fields"]) ? (fields["fields"] as string[]) : [],
      };
      this.reports.set(name, report);
      this.waiters.get(name)?.(report);
      this.waiters.delete(name);
      return;
    }
    if (level !== "info" && this.problems.length < 20) {
      const error = typeof fields["error"] === "string" ? `: ${fields["error"]}` : "";
      this.problems.push(`${level} ${message}${error}`);
    }
  };

  /** The report of `name`'s drift, or undefined if none came within `ms`. */
  async waitFor(name: string, ms: number): Promise<DriftReport | undefined> {
    const seen = this.reports.get(name);
    if (seen !== undefined) return seen;
    const timer = new AbortController();
    const reported = new Promise<DriftReport>((resolve) => this.waiters.set(name, resolve));
    const timedOut = sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined);
    const result = await Promise.race([reported, timedOut]);
    timer.abort();
    this.waiters.delete(name);
    return result;
  }
}

interface RunningOperator {
  readonly op: Operator;
  readonly clock: ReportClock;
  stop(): Promise<void>;
}

/** The in-process Operator as `gitward run` builds it, as gitward's service account, for one application. */
async function startOperator(opts: {
  readonly kubeconfig: string;
  readonly dir: string;
  readonly app: Application;
  readonly trust: TrustPolicy;
}): Promise<RunningOperator> {
  const clock = new ReportClock();
  const running = await startBenchOperator({
    kubeconfig: opts.kubeconfig,
    dir: opts.dir,
    apps: [opts.app],
    trust: opts.trust,
    name: opts.app.metadata.name,
    log: clock.log,
  });
  return { op: running.op, clock, stop: () => running.stop() };
}

/** Waits for the first reconcile to have applied the revision, then for the watches to list and open. */
async function synced(op: Operator): Promise<number> {
  const started = performance.now();
  while (!op.synced) {
    if (performance.now() - started > SYNC_TIMEOUT_MS) throw new Error("the first reconcile did not finish");
    await sleep(20);
  }
  const ms = performance.now() - started;
  const report = op.snapshot()[0]?.lastReport;
  if (report?.result !== "applied") {
    throw new Error(`first reconcile: ${String(report?.result)} ${String(report?.message)}`);
  }
  // One list and one watch per kind: give them a second before changing anything.
  await sleep(1000);
  return ms;
}

// ---- phase 1: drift latency and the interval pass ---------------------------------------------------

const round = (x: number): number => Math.round(x);

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

async function driftLatency(
  o: Options,
  dir: string,
  sandbox: SandboxProcess,
  kubeconfig: string,
  stack: (() => Promise<void>)[],
) {
  const objects = objectsFor("", o.objects);
  const configMaps = objects.filter((x) => x.kind === "ConfigMap").map((x) => x.metadata.name);
  if (o.events > configMaps.length) {
    throw new Error(`--events ${o.events}: the application has only ${configMaps.length} ConfigMaps`);
  }
  const repo = await signedRepo(path.join(dir, "repo-shop"), "shop", objects);
  const running = await startOperator({
    kubeconfig,
    dir,
    app: applicationFor("shop", repo.dir),
    trust: trustFor(repo.publicKeyLine),
  });
  stack.push(() => running.stop());
  const { op, clock } = running;
  const firstReconcileMs = await synced(op);

  // One change at a time, spread over the application, each to a different ConfigMap.
  const drifter = new Drifter(sandbox.kubeconfig);
  const latencies: number[] = [];
  const missedNames: string[] = [];
  let attributed = 0;
  try {
    const step = configMaps.length / o.events;
    for (let k = 0; k < o.events; k++) {
      const name = configMaps[Math.floor(k * step)]!;
      const sent = performance.now();
      await drifter.patch("configmaps", name, { data: { index: `drifted-${k}` } });
      const report = await clock.waitFor(name, REPORT_TIMEOUT_MS);
      if (report === undefined) {
        missedNames.push(name);
        continue;
      }
      latencies.push(report.at - sent);
      if (report.manager === DRIFTER && report.fields.join() === "data.index") attributed++;
    }
  } finally {
    drifter.close();
  }

  // The full comparison of every managed object that an interval pass makes (and all Flux does).
  const id = op.snapshot()[0]!.application;
  const before = op.snapshot()[0]!.reconciles;
  const t = performance.now();
  op.trigger(id, "bench: interval pass");
  while (op.snapshot()[0]!.reconciles === before) await sleep(2);
  const intervalPassMs = performance.now() - t;
  const pass = op.snapshot()[0]!.lastReport;
  await running.stop();

  latencies.sort((a, b) => a - b);
  return {
    firstReconcileMs,
    latencies,
    missed: missedNames.length,
    missedNames: missedNames.slice(0, 10),
    attributed,
    duplicates: clock.duplicates,
    problems: clock.problems,
    intervalPass: {
      ms: intervalPassMs,
      result: pass?.result,
      driftFound: pass?.drift.length ?? 0,
      steps: pass?.timings,
    },
  };
}

// ---- phase 2: resident memory, in a process of its own ----------------------------------------------

interface MemoryJob {
  readonly kubeconfig: string;
  readonly adminKubeconfig: string;
  readonly repo: string;
  readonly publicKeyLine: string;
  readonly dir: string;
  readonly objects: number;
}

interface MemoryResult {
  readonly objects: number;
  readonly firstReconcileMs: number;
  readonly rssMB: number;
  readonly heapUsedMB: number;
  readonly heapTotalMB: number;
  readonly externalMB: number;
  /** The same process before the operator started: Node with gitward's modules loaded. */
  readonly baselineRssMB: number;
  readonly baselineHeapUsedMB: number;
  readonly peakRssMB: number;
  /** V8's heap spaces (size reserved, size used), to tell live objects from heap kept for reuse. */
  readonly heapSpacesMB: Readonly<Record<string, { size: number; used: number }>>;
  readonly gc: boolean;
  /** The Node flags the operator ran with (those of the install manifest, and --expose-gc). */
  readonly nodeFlags: readonly string[];
  /** Drift of one ConfigMap and one Service, to show both kinds' watches are live when memory is read. */
  readonly probeLatencyMs: readonly (number | null)[];
  readonly problems: readonly string[];
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** Memory after a forced GC when Node allows one (--expose-gc), so garbage not yet collected is not counted. */
async function collectAndRead(): Promise<NodeJS.MemoryUsage> {
  const gc = globalThis.gc;
  if (gc !== undefined) {
    gc();
    await sleep(50);
    gc();
  }
  return process.memoryUsage();
}

/**
 * The child's side: only the operator lives in this process, so its memory is the operator's (plus Node
 * itself), not the benchmark's generated objects or what phase 1 left on the heap.
 */
async function memoryChild(jobFile: string): Promise<MemoryResult> {
  // Before the operator starts, with gitward's modules loaded (run.js imported this file): what Node and
  // the code itself take, so what the managed objects add can be told apart.
  const baseline = await collectAndRead();
  const job = JSON.parse(await readFile(jobFile, "utf8")) as MemoryJob; // Written by the parent just now.
  const running = await startOperator({
    kubeconfig: job.kubeconfig,
    dir: job.dir,
    app: applicationFor("stock", job.repo),
    trust: trustFor(job.publicKeyLine),
  });
  const drifter = new Drifter(job.adminKubeconfig);
  try {
    const firstReconcileMs = await synced(running.op);
    const probes: [plural: "configmaps" | "services", name: string, body: Record<string, unknown>][] = [
      ["configmaps", "stock-cm-0", { data: { index: "drifted" } }],
      ["services", "stock-svc-3", { spec: { selector: { app: "drifted" } } }],
    ];
    const probeLatencyMs: (number | null)[] = [];
    for (const [plural, name, body] of probes) {
      const sent = performance.now();
      await drifter.patch(plural, name, body);
      const report = await running.clock.waitFor(name, REPORT_TIMEOUT_MS);
      probeLatencyMs.push(report === undefined ? null : round(report.at - sent));
    }
    // Let the drift's audit record and status write settle, then collect what is garbage.
    await sleep(500);
    const mem = await collectAndRead();
    return {
      objects: job.objects,
      firstReconcileMs: round(firstReconcileMs),
      rssMB: mb(mem.rss),
      heapUsedMB: mb(mem.heapUsed),
      heapTotalMB: mb(mem.heapTotal),
      externalMB: mb(mem.external),
      baselineRssMB: mb(baseline.rss),
      baselineHeapUsedMB: mb(baseline.heapUsed),
      // maxRSS is in kilobytes: the high-water mark, reached during the first apply.
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      heapSpacesMB: Object.fromEntries(
        v8
          .getHeapSpaceStatistics()
          .map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }]),
      ),
      gc: globalThis.gc !== undefined,
      nodeFlags: process.execArgv,
      probeLatencyMs,
      problems: running.clock.problems,
    };
  } finally {
    drifter.close();
    await running.stop();
  }
}

/** NODE_OPTIONS of the operator's container in deploy/install/deployment.yaml (split on spaces). */
async function installedNodeOptions(): Promise<string[]> {
  const file = path.join(here, "..", "..", "deploy", "install", "deployment.yaml");
  // Our own manifest; a shape it does not have is a failure of the benchmark, not a default.
  // The file holds the Deployment first, then its PodDisruptionBudget and Service.
  const doc = parseAllDocuments(await readFile(file, "utf8"))[0]?.toJS() as {
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
  };
  const env = doc.spec.template.spec.containers[0]?.env ?? [];
  const value = env.find((e) => e.name === "NODE_OPTIONS")?.value;
  if (value === undefined) throw new Error(`${file}: the operator's container sets no NODE_OPTIONS`);
  return value.split(" ").filter((f) => f !== "");
}

async function residentMemory(
  o: Options,
  dir: string,
  sandbox: SandboxProcess,
  kubeconfig: string,
  stack: (() => Promise<void>)[],
): Promise<MemoryResult> {
  const repo = await signedRepo(path.join(dir, "repo-stock"), "stock", objectsFor("stock-", o.memoryObjects));
  const childDir = path.join(dir, "memory");
  await mkdir(childDir);
  const job: MemoryJob = {
    kubeconfig,
    adminKubeconfig: sandbox.kubeconfig,
    repo: repo.dir,
    publicKeyLine: repo.publicKeyLine,
    dir: childDir,
    objects: o.memoryObjects,
  };
  // The operator as installed: Node with the NODE_OPTIONS of the install manifest.
  const nodeOptions = await installedNodeOptions();
  const jobFile = path.join(dir, "memory-job.json");
  await writeFile(jobFile, JSON.stringify(job), { mode: 0o600 });
  // run.js prints the JSON that run() returns; --expose-gc so the reading is of live memory only.
  const child = spawn(
    process.execPath,
    [...nodeOptions, "--expose-gc", path.join(here, "run.js"), "drift", "--memory-child", jobFile],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  stack.push(() => stopChild(child));
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the memory run exited with ${String(code)}`);
  return JSON.parse(out) as MemoryResult; // Our own child's output.
}

// ---- the benchmark ----------------------------------------------------------------------------------

export async function run(args: readonly string[]): Promise<unknown> {
  const child = args.indexOf("--memory-child");
  if (child >= 0) return memoryChild(args[child + 1] ?? "");
  const o: Options = {
    objects: intArg(args, "--objects", DEFAULTS.objects),
    events: intArg(args, "--events", DEFAULTS.events),
    memoryObjects: intArg(args, "--memory-objects", DEFAULTS.memoryObjects),
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-bench-drift-"));
  // Undone last first, on success and failure alike.
  const stack: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const sandbox = await startSandboxProcess(dir, "sandbox");
    stack.push(() => stopChild(sandbox.child));
    const kubeconfig = await prepareCluster(sandbox.kubeconfig);

    const drift = await driftLatency(o, dir, sandbox, kubeconfig, stack);
    const memory = await residentMemory(o, dir, sandbox, kubeconfig, stack);

    const lat = drift.latencies;
    const p99 = percentile(lat, 0.99);
    return {
      objects: o.objects,
      driftEvents: o.events,
      latencyMs: {
        p50: round(percentile(lat, 0.5)),
        p90: round(percentile(lat, 0.9)),
        p99: round(p99),
        max: round(lat[lat.length - 1] ?? Number.NaN),
        count: lat.length,
      },
      missed: drift.missed,
      ...(drift.missed === 0 ? {} : { missedObjects: drift.missedNames }),
      // Reports naming the other client as the manager and data.index as the field, out of driftEvents.
      attributedToDrifter: drift.attributed,
      duplicateReports: drift.duplicates,
      firstReconcileMs: round(drift.firstReconcileMs),
      memory: {
        objects: memory.objects,
        rssMB: memory.rssMB,
        heapUsedMB: memory.heapUsedMB,
        heapTotalMB: memory.heapTotalMB,
        externalMB: memory.externalMB,
        peakRssMB: memory.peakRssMB,
        heapSpacesMB: memory.heapSpacesMB,
        baselineRssMB: memory.baselineRssMB,
        baselineHeapUsedMB: memory.baselineHeapUsedMB,
        gcBeforeReading: memory.gc,
        nodeFlags: memory.nodeFlags,
        firstReconcileMs: memory.firstReconcileMs,
        probeLatencyMs: memory.probeLatencyMs,
      },
      intervalPassMs: round(drift.intervalPass.ms),
      intervalPass: {
        result: drift.intervalPass.result,
        driftFound: drift.intervalPass.driftFound,
        steps: drift.intervalPass.steps,
      },
      peer: PEER,
      ratioPeerToP99: Number(((PEER.detectionSeconds * 1000) / p99).toFixed(1)),
      targets: TARGETS,
      met: { p99: drift.missed === 0 && p99 < TARGETS.p99Ms, rss: memory.rssMB < TARGETS.rssMB },
      operatorProblems: [...drift.problems, ...memory.problems],
      notes:
        "Latency: from just before another field manager's merge patch is sent to the operator's drift " +
        "log line, one change at a time, the sandbox in its own process. Memory: a separate Node process " +
        "running only the operator, synced and watching, after a forced GC; the sandbox is not counted.",
      node: process.version,
      // The machine is shared: its load says how far these figures are from an idle machine's.
      machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))) },
    };
  } finally {
    for (const undo of stack.reverse()) {
      await undo().catch((err: unknown) => {
        process.stderr.write(`bench drift cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    }
  }
}
