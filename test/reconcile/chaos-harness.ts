// Crash tests of `gitward run` against the sandbox, shared by test/reconcile/chaos.test.ts and
// bench/chaos.ts: revisions of many ConfigMaps, the operator as a real process, the sandbox's ConfigMap
// events watched so that a SIGKILL lands at a chosen point of the work (the n-th object written, the n-th
// object pruned, a given inventory part written) instead of after a guessed delay, and the checks made
// after each restart: the exact object set of the revision, nothing wrongly pruned, the inventory whole,
// the audit trail's chain and signatures intact and no record written twice.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, createPublicKey } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";
import { generateAuditKeyPair, loadAuditSigningKey } from "../../src/audit/keys.js";
import { ClusterAuditLog, readClusterTrail } from "../../src/audit/cluster-log.js";
import type { ReconcileEnv } from "../../src/reconcile/reconcile.js";
import { verifyAuditText } from "../../src/audit/verify.js";
import type { ClusterClient, KubeObject, WatchEvent } from "../../src/cluster/client.js";
import type { ApplicationStatus } from "../../src/config/types.js";
import { OWNER_LABEL, ownerLabelValue } from "../../src/reconcile/inventory.js";
import {
  GENERATION_ANNOTATION,
  PART_LABEL,
  PARTS_ANNOTATION,
  partName,
} from "../../src/reconcile/inventory-parts.js";
import { ConfigMapStateStore, stateName } from "../../src/reconcile/state.js";
import type { FileChanges } from "../support/git-repo.js";
import { cliEntry } from "../support/tools.js";
import { until } from "../support/until.js";
import { APP_NAMESPACE, configMap, type World } from "./harness.js";

const SYSTEM_NAMESPACE = "gitward-system";
const APP_ID = { namespace: SYSTEM_NAMESPACE, name: "shop" };
const HEAD = stateName(APP_ID);
const HOOK_SECRET = "chaos-push-hook-secret";
/** Objects in one YAML file of the repository: a file per bucket of names, so files change little. */
const FILES = 40;

// ---- revisions ------------------------------------------------------------------------------------

/** A revision: each object's name and the version its data carries. */
export type Revision = ReadonlyMap<string, string>;

/** A small seedable generator (mulberry32): the same seed gives the same revisions and kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function firstRevision(objects: number): Revision {
  return new Map(Array.from({ length: objects }, (_, i) => [`obj-${i}`, "v0"]));
}

export interface Change {
  readonly revision: Revision;
  /** Objects the change writes (changed or new) and removes. */
  readonly written: readonly string[];
  readonly removed: readonly string[];
}

/** `prev` with a share of its objects changed, a share removed, and as many new ones added. */
export function nextRevision(
  prev: Revision,
  version: string,
  random: () => number,
  share: { changed: number; removed: number },
): Change {
  const next = new Map<string, string>();
  const written: string[] = [];
  const removed: string[] = [];
  for (const [name, v] of prev) {
    const r = random();
    if (r < share.removed) {
      removed.push(name);
    } else if (r < share.removed + share.changed) {
      next.set(name, version);
      written.push(name);
    } else {
      next.set(name, v);
    }
  }
  // At least one object goes and one comes, so that every change prunes and writes its inventory ahead.
  const first = removed.length === 0 ? [...next.keys()][0] : undefined;
  if (first !== undefined) {
    next.delete(first);
    removed.push(first);
    const at = written.indexOf(first);
    if (at >= 0) written.splice(at, 1);
  }
  for (let i = 0; i < removed.length; i++) {
    const name = `${version}-new-${i}`;
    next.set(name, version);
    written.push(name);
  }
  return { revision: next, written, removed };
}

function bucketOf(name: string): number {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return h % FILES;
}

/** The repository's files for `rev`: FILES multi-document files under apps/shop, empty ones removed. */
export function revisionFiles(rev: Revision): FileChanges {
  const docs: string[][] = Array.from({ length: FILES }, () => []);
  for (const [name, version] of [...rev].sort(([a], [b]) => a.localeCompare(b))) {
    docs[bucketOf(name)]?.push(configMap(name, { version, name }));
  }
  return Object.fromEntries(
    docs.map((d, i) => [`apps/shop/bucket-${i}.yaml`, d.length === 0 ? null : d.join("---\n")]),
  );
}

// ---- the sandbox's ConfigMap events -------------------------------------------------------------------

export type EventListener = (e: WatchEvent) => void;

/**
 * Every ConfigMap event of some namespaces, as the sandbox sends them, in order; a watch that fails (the
 * sandbox's faults hit watches too) is opened again from the last version seen, so no event is missed.
 */
export class ConfigMapEvents {
  /** The last version of each ConfigMap seen, by "namespace/name" (deleted ones removed). */
  readonly latest = new Map<string, KubeObject>();
  private readonly listeners = new Set<EventListener>();
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  /** How often a watch could not resume where it ended (410 Gone): events were missed. */
  lost = 0;

  private constructor(private readonly client: ClusterClient) {}

  static async start(client: ClusterClient, namespaces: readonly string[]): Promise<ConfigMapEvents> {
    const events = new ConfigMapEvents(client);
    for (const ns of namespaces) events.loops.push(events.loop(ns, await events.relist(ns)));
    return events;
  }

  /** Calls `f` with every event from now on, until the returned function is called. */
  on(f: EventListener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private async relist(namespace: string): Promise<string> {
    const list = await this.client.listWithVersion("v1", "ConfigMap", { namespace });
    for (const key of [...this.latest.keys()]) if (key.startsWith(`${namespace}/`)) this.latest.delete(key);
    for (const o of list.items) this.latest.set(`${namespace}/${o.metadata.name}`, o);
    return list.resourceVersion;
  }

  private async loop(namespace: string, from: string): Promise<void> {
    let rv = from;
    let failures = 0;
    // A function, not the property: the abort lands while awaiting, which flow analysis cannot see.
    const aborted = (): boolean => this.abort.signal.aborted;
    while (!aborted()) {
      const seen = { gone: false };
      try {
        const { status } = await this.client.watch("v1", "ConfigMap", {
          namespace,
          resourceVersion: rv,
          signal: this.abort.signal,
          onEvent: (e) => {
            if (e.type === "ERROR") {
              seen.gone = true;
              return;
            }
            const v = e.object.metadata.resourceVersion;
            if (typeof v === "string" && v !== "") rv = v;
            if (e.type === "BOOKMARK") return;
            const key = `${namespace}/${e.object.metadata.name}`;
            if (e.type === "DELETED") this.latest.delete(key);
            else this.latest.set(key, e.object);
            for (const f of this.listeners) f(e);
          },
        });
        if (seen.gone || status === 410) {
          // The events since rv are gone (the sandbox keeps the last 50,000): a kill point counted from
          // them may be off, so say so; the latest versions are read again and watched from there.
          this.lost++;
          rv = await this.relist(namespace);
          continue;
        }
        failures = status === 200 ? 0 : failures + 1;
      } catch {
        if (aborted()) return;
        failures++;
      }
      // An injected 500 or 429 on the watch itself: open it again, soon.
      await new Promise((r) => setTimeout(r, Math.min(1_000, 20 * failures)));
    }
  }
}

// ---- the operator process -----------------------------------------------------------------------------

export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Its JSON log lines, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Where its /readyz and /hooks/ are served, once it logged that it started. */
  url: string | undefined;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ChaosSetup {
  readonly publicKey: ReturnType<typeof createPublicKey>;
  /** The same audit trail and state store the operator uses, for a reconcile in this process. */
  readonly env: Pick<ReconcileEnv, "audit" | "state">;
  spawn(name: string): OperatorProcess;
}

/**
 * Writes the operator's files for `w`: gitward.yaml (the Application with a push webhook and `interval`,
 * which retries a failed reconcile), its least-privilege kubeconfig and an audit signing key. Audit
 * records go to the cluster trail, so every process extends one chain and a killed one holds no lock.
 */
export async function prepareChaos(
  w: World,
  opts: { interval: string; partBytes?: number },
): Promise<ChaosSetup> {
  const config = path.join(w.dir, "chaos.yaml");
  const app = w.app({ interval: opts.interval, webhook: { secret: { env: "GITWARD_HOOK_SECRET" } } });
  await writeFile(config, [stringify(w.trust()), stringify(app)].join("---\n"));
  const kubeconfig = path.join(w.dir, "chaos.kubeconfig");
  await writeFile(
    kubeconfig,
    w.sb.kubeconfigFor(w.sb.serviceAccountToken(SYSTEM_NAMESPACE, "gitward"), "gitward"),
    {
      mode: 0o600,
    },
  );
  const key = generateAuditKeyPair();
  const keyFile = path.join(w.dir, "chaos-audit.key");
  await writeFile(keyFile, key.privatePem, { mode: 0o600 });
  const args = [
    cliEntry,
    "run",
    "--config",
    config,
    "--kubeconfig",
    kubeconfig,
    "--metrics-addr",
    "127.0.0.1:0",
    "--cache-dir",
    path.join(w.dir, "chaos-cache"),
    "--audit-store",
    "cluster",
    "--audit-key",
    keyFile,
    "--no-leader-elect",
    "--health-timeout",
    "10s",
    ...(opts.partBytes === undefined ? [] : ["--inventory-part-bytes", String(opts.partBytes)]),
  ];
  return {
    publicKey: createPublicKey(key.publicPem),
    env: {
      audit: new ClusterAuditLog({
        cluster: w.operator,
        namespace: SYSTEM_NAMESPACE,
        signingKey: loadAuditSigningKey(key.privatePem),
      }),
      state: new ConfigMapStateStore(
        w.operator,
        opts.partBytes === undefined ? {} : { partBytes: opts.partBytes },
      ),
    },
    spawn(name) {
      const child = spawn(process.execPath, args, {
        env: { PATH: process.env["PATH"] ?? "", HOME: w.dir, GITWARD_HOOK_SECRET: HOOK_SECRET },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const p: OperatorProcess = {
        child,
        lines: [],
        url: undefined,
        exit: new Promise((resolve) => {
          child.on("exit", (code, signal) => {
            resolve({ code, signal });
          });
        }),
      };
      createInterface({ input: child.stdout }).on("line", (line) => {
        const rec = parseLogLine(line);
        rec["process"] = name;
        p.lines.push(rec);
        if (rec["msg"] === "gitward run started") p.url = String(rec["listen"]);
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        p.lines.push({ process: name, msg: `stderr: ${chunk}` });
      });
      return p;
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { msg: line };
  }
}

/** Asks `p` to reconcile now, as a signed GitHub push webhook does. */
export async function pushHook(p: OperatorProcess, head: string): Promise<void> {
  const url = await until(
    "the operator's server",
    () => p.url,
    30_000,
    () => lastLines(p),
  );
  const body = JSON.stringify({ ref: "refs/heads/main", after: head });
  const sig = "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex");
  const res = await fetch(`${url}/hooks/shop`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sig },
    body,
  });
  if (res.status !== 202) throw new Error(`push webhook answered ${res.status}: ${lastLines(p)}`);
}

export function lastLines(p: OperatorProcess, n = 8): string {
  return p.lines
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join("\n");
}

// ---- kill points ----------------------------------------------------------------------------------------

/**
 * Where a kill is aimed: after the `count`-th object of the change is written (apply), after the
 * `count`-th removed object is deleted (prune), or once part `part` of the `generation`-th inventory
 * written in this run is stored (1: the write-ahead inventory before the apply, 2: the one after it).
 */
export type KillPoint =
  | { readonly phase: "apply"; readonly count: number }
  | { readonly phase: "prune"; readonly count: number }
  | { readonly phase: "inventory"; readonly generation: number; readonly part: number };

export function describeKillPoint(k: KillPoint): string {
  switch (k.phase) {
    case "apply":
      return `after object write ${k.count}`;
    case "prune":
      return `after prune ${k.count}`;
    case "inventory":
      return `after part ${k.part} of inventory write ${k.generation}`;
  }
}

/** The generation of the inventory last written, as the events saw its head. */
export function headGeneration(events: ConfigMapEvents): number {
  return Number(headAnnotation(events, GENERATION_ANNOTATION) ?? "0");
}

/** How many parts the inventory last written has (0: inline). */
export function headParts(events: ConfigMapEvents): number {
  return Number(headAnnotation(events, PARTS_ANNOTATION) ?? "0");
}

function headAnnotation(events: ConfigMapEvents, name: string): string | undefined {
  return events.latest.get(`${SYSTEM_NAMESPACE}/${HEAD}`)?.metadata.annotations?.[name];
}

/**
 * Kills `p` with SIGKILL from inside the event handler of the event that reaches `point` of the change to
 * `version` (the kill is sent before any further event is read). Resolves once `p` is dead, saying whether
 * the point was reached (false: `p` ended first, or `orElse` settled first, e.g. the reconcile finished
 * without getting there; then `p` is killed all the same).
 */
export async function killAt(
  events: ConfigMapEvents,
  p: OperatorProcess,
  point: KillPoint,
  change: { version: string; removed: ReadonlySet<string> },
  orElse?: Promise<unknown>,
): Promise<boolean> {
  const startGeneration = headGeneration(events);
  let seen = 0;
  let fired = false;
  const hit = (e: WatchEvent): boolean => {
    const o = e.object;
    switch (point.phase) {
      case "apply":
        return (
          e.type !== "DELETED" &&
          o.metadata.namespace === APP_NAMESPACE &&
          (o["data"] as Record<string, string> | undefined)?.["version"] === change.version &&
          ++seen === point.count
        );
      case "prune":
        return e.type === "DELETED" && change.removed.has(o.metadata.name) && ++seen === point.count;
      case "inventory": {
        if (e.type === "DELETED" || o.metadata.labels?.[PART_LABEL] !== "true") return false;
        const generation = startGeneration + point.generation;
        return (
          o.metadata.annotations?.[GENERATION_ANNOTATION] === String(generation) &&
          o.metadata.name === partName(HEAD, generation % 2, point.part - 1)
        );
      }
    }
  };
  const off = events.on((e) => {
    if (fired || !hit(e)) return;
    fired = true;
    p.child.kill("SIGKILL");
  });
  // Missed (the work ended without reaching the point): killed all the same, so the next run restarts.
  void orElse?.then(
    () => p.child.kill("SIGKILL"),
    () => p.child.kill("SIGKILL"),
  );
  try {
    await p.exit;
  } finally {
    off();
  }
  return fired;
}

// ---- checks -----------------------------------------------------------------------------------------------

/** Watches for deletions of objects that must stay: the revision's own, and a bystander's. */
export class WrongDeletions {
  readonly found: string[] = [];
  private keep: ReadonlySet<string> = new Set();
  private readonly off: () => void;

  constructor(events: ConfigMapEvents, bystanders: readonly string[]) {
    const always = new Set(bystanders);
    this.off = events.on((e) => {
      const { name, namespace } = e.object.metadata;
      if (e.type !== "DELETED" || namespace !== APP_NAMESPACE) return;
      if (this.keep.has(name) || always.has(name)) this.found.push(name);
    });
  }

  /** The revision now in force: none of its objects may be deleted. */
  set revision(rev: Revision) {
    this.keep = new Set(rev.keys());
  }

  stop(): void {
    this.off();
  }
}

/** The Application's status as last written (the state ConfigMap's status.json), as the events saw it. */
export function statusSeen(events: ConfigMapEvents): ApplicationStatus | undefined {
  const head = events.latest.get(`${SYSTEM_NAMESPACE}/${HEAD}`);
  const text = (head?.["data"] as Record<string, string> | undefined)?.["status.json"];
  return text === undefined ? undefined : (JSON.parse(text) as ApplicationStatus);
}

/**
 * Waits until `p` has finished a reconcile (its /readyz says so) and the status says `sha` is applied and
 * Ready; answers the milliseconds since `since`. Fails when `p` ends first.
 */
export async function converged(
  events: ConfigMapEvents,
  p: OperatorProcess,
  sha: string,
  since: number,
  ms: number,
): Promise<number> {
  await until(
    `convergence to ${sha.slice(0, 7)}`,
    async () => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`the operator ended before converging: ${lastLines(p)}`);
      }
      const s = statusSeen(events);
      if (s?.lastAppliedRevision !== sha || s.lastAttemptedRevision !== sha) return false;
      if (s.conditions?.find((c) => c.type === "Ready")?.status !== "True") return false;
      if (p.url === undefined) return false;
      const res = await fetch(`${p.url}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
    ms,
    () => `${JSON.stringify(statusSeen(events))}\n${lastLines(p)}`,
  );
  return Date.now() - since;
}

export interface ClusterCheck {
  /** Objects of the revision missing, or holding another version. */
  readonly lost: string[];
  /** Owned objects that the revision does not have. */
  readonly extra: string[];
  /** Inventory entries that are repeated, lack a uid, or do not match the revision. */
  readonly inventoryProblems: string[];
}

/** What the cluster holds against `rev`, read as admin. */
export async function checkCluster(admin: ClusterClient, rev: Revision): Promise<ClusterCheck> {
  const items = await admin.list("v1", "ConfigMap", {
    namespace: APP_NAMESPACE,
    labelSelector: `${OWNER_LABEL}=${ownerLabelValue(APP_ID)}`,
  });
  const live = new Map(items.map((o) => [o.metadata.name, o]));
  const lost: string[] = [];
  for (const [name, version] of rev) {
    const data = live.get(name)?.["data"] as Record<string, string> | undefined;
    if (data?.["version"] !== version || data["name"] !== name) lost.push(name);
  }
  const extra = [...live.keys()].filter((n) => !rev.has(n));
  const state = await new ConfigMapStateStore(admin).load(APP_ID);
  const inventoryProblems: string[] = [];
  const names = new Set<string>();
  for (const e of state?.inventory ?? []) {
    if (names.has(e.name)) inventoryProblems.push(`${e.name}: listed twice`);
    names.add(e.name);
    if (!rev.has(e.name)) inventoryProblems.push(`${e.name}: not in the revision`);
    else if (e.uid !== live.get(e.name)?.metadata.uid)
      inventoryProblems.push(`${e.name}: uid is not the live one`);
  }
  for (const n of rev.keys()) if (!names.has(n)) inventoryProblems.push(`${n}: not in the inventory`);
  return { lost, extra, inventoryProblems };
}

export interface AuditCheck {
  readonly status: string;
  readonly records: number;
  /** Records whose id, or whose whole content but chain position, another record already has. */
  readonly duplicates: number;
  /** Records that say `result: applied`, by revision. */
  readonly appliedByRevision: Record<string, number>;
}

/** Reads the cluster's audit trail and verifies its chain and signatures with `publicKey`. */
export async function checkAudit(
  admin: ClusterClient,
  publicKey: ReturnType<typeof createPublicKey>,
): Promise<AuditCheck> {
  const trail = await readClusterTrail(admin, { namespace: SYSTEM_NAMESPACE });
  const verdict = verifyAuditText(trail.text, { publicKey });
  const ids = new Set<string>();
  const bodies = new Set<string>();
  let duplicates = 0;
  const appliedByRevision: Record<string, number> = {};
  for (const line of trail.text.split("\n")) {
    if (line === "") continue;
    const {
      seq: _seq,
      prev: _prev,
      hash: _hash,
      sig: _sig,
      id,
      ...body
    } = JSON.parse(line) as Record<string, unknown>;
    const text = JSON.stringify(body);
    if (ids.has(String(id)) || bodies.has(text)) duplicates++;
    ids.add(String(id));
    bodies.add(text);
    if (body["result"] === "applied") {
      const rev = String(body["revision"]);
      appliedByRevision[rev] = (appliedByRevision[rev] ?? 0) + 1;
    }
  }
  return {
    status: trail.missing.length > 0 ? `broken (chunks ${trail.missing.join(", ")} missing)` : verdict.status,
    records: verdict.records,
    duplicates,
    appliedByRevision,
  };
}

/** What the kill left, read once the process is dead: how far the change had got. */
export async function landing(
  admin: ClusterClient,
  events: ConfigMapEvents,
  change: { version: string; written: readonly string[]; removed: readonly string[] },
  generationBefore: number,
): Promise<{ written: number; of: number; pruned: number; prunable: number; inventoryWrites: number }> {
  const items = await admin.list("v1", "ConfigMap", { namespace: APP_NAMESPACE });
  const live = new Map(items.map((o) => [o.metadata.name, o]));
  const written = change.written.filter(
    (n) => (live.get(n)?.["data"] as Record<string, string> | undefined)?.["version"] === change.version,
  ).length;
  const pruned = change.removed.filter((n) => !live.has(n)).length;
  return {
    written,
    of: change.written.length,
    pruned,
    prunable: change.removed.length,
    inventoryWrites: headGeneration(events) - generationBefore,
  };
}
