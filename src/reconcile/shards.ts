// Sharded replicas of `gitward run --shards S`: shard i is the Lease gitward-shard-<i>, held through a
// LeaderElector each (so every fence rule of leader.ts applies per shard), and each replica announces itself
// with a heartbeat Lease of its own (gitward-replica-<hash of identity>). A replica takes free or expired
// shards up to its fair share (at most ceil(S / live replicas)), and hands back shards above it: it first lowers the
// shard's fence, waits for the shard's work in progress to end while still renewing, and only then clears
// the Lease, so the next holder never overlaps it. See docs/adr/0014-sharded-replicas.md.
import { createHash } from "node:crypto";
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { isRecord } from "../json/record.js";
import { LEADER_ELECTION_DEFAULTS, LeaderElector, microTime, type LeaderLogLevel } from "./leader.js";
import { longSleep } from "./long-timer.js";

export const SHARD_LEASE_PREFIX = "gitward-shard-";
export const REPLICA_LEASE_PREFIX = "gitward-replica-";
/** Label of the replicas' heartbeat Leases (value "true"): the one selector membership is listed by. */
export const REPLICA_LABEL = "gitward.dev/replica";
/** Annotation of a heartbeat Lease: the shard count that replica runs with. */
export const SHARDS_ANNOTATION = "gitward.dev/shards";
/** The single leader Lease of `--shards 1`; while another replica holds it, no shard is taken. */
export const LEGACY_LEASE = "gitward-operator";
/** Heartbeat Leases unchanged this many lease durations (by our clock) are deleted as left behind. */
const FORGET_AFTER_LEASES = 4;

const LEASE_API = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

export interface ShardOptions {
  readonly cluster: ClusterClient;
  /** Namespace of the Leases; it must exist. */
  readonly namespace: string;
  readonly identity: string;
  /** How many shards (S); every replica must run with the same count. */
  readonly shards: number;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Resolves when no work of the shard is running any more (its fence is already down). */
  readonly drain: (shard: number) => Promise<void>;
  /** The shard's fence went up: reconcile its Applications now. */
  readonly onAcquired?: (shard: number) => void;
  /** The shard's fence went down (lost, or being handed back). */
  readonly onLost?: (shard: number) => void;
  /** The number of shards held changed (metrics). */
  readonly onHeldChange?: (held: number) => void;
  readonly log?: (level: LeaderLogLevel, message: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What this replica last saw of the others (for logs and tests). */
export interface ShardView {
  readonly held: readonly number[];
  readonly liveReplicas: number;
  readonly fairShare: number;
  /** Why no shard is taken now, when that is so. */
  readonly blocked: string | undefined;
}

/**
 * Why no shard may be taken: `settling` (just started, or membership unreadable: shards already held keep
 * their own fences) or `conflict` (another topology is running: every shard is handed back).
 */
interface Block {
  readonly kind: "settling" | "conflict";
  readonly reason: string;
}

/** Lease record of another replica, remembered with when our clock first saw it that way. */
interface Seen {
  readonly key: string;
  readonly at: number;
}

export function shardLeaseName(shard: number): string {
  return `${SHARD_LEASE_PREFIX}${String(shard)}`;
}

/** A Lease name from any identity: identities (host names, pod names) need not be valid object names. */
export function replicaLeaseName(identity: string): string {
  return `${REPLICA_LEASE_PREFIX}${createHash("sha256").update(identity, "utf8").digest("hex").slice(0, 16)}`;
}

function specOf(lease: KubeObject): Record<string, unknown> {
  const spec = lease["spec"];
  return isRecord(spec) ? spec : {};
}

function holderOf(lease: KubeObject): string {
  const h = specOf(lease)["holderIdentity"];
  return typeof h === "string" ? h : "";
}

function announcedMs(lease: KubeObject): number | undefined {
  const s = specOf(lease)["leaseDurationSeconds"];
  return typeof s === "number" && Number.isSafeInteger(s) && s > 0 ? s * 1000 : undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ShardCoordinator {
  private readonly cluster: ClusterClient;
  private readonly namespace: string;
  private readonly identity: string;
  private readonly shards: number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly log: (level: LeaderLogLevel, message: string, fields?: Record<string, unknown>) => void;
  private readonly memberName: string;

  private readonly electors: LeaderElector[] = [];
  /** Shards taken or being taken, with when the claim was made: counted against the fair share at once,
   * so two electors of this replica racing for two shards cannot both pass the gate. */
  private readonly claims = new Map<number, number>();
  /** Shards whose fence is down while their work drains, before the Lease is handed back. */
  private readonly draining = new Set<number>();
  private readonly handoffs = new Set<Promise<void>>();
  /** Other replicas' heartbeat and the legacy Lease, as last seen. */
  private readonly seen = new Map<string, Seen>();
  private live = 1;
  /** Our place among the live replicas sorted by identity: it decides who holds one more shard. */
  private rank = 0;
  private block: Block | undefined = { kind: "settling", reason: "membership not read yet" };
  private registeredAt: number | undefined;
  private lastWarning: string | undefined;
  private lastHeld = 0;
  private lastBlock: string | undefined;
  private readonly controller = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private state: "new" | "running" | "stopped" = "new";
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: ShardOptions) {
    this.cluster = opts.cluster;
    this.namespace = opts.namespace;
    this.identity = opts.identity;
    this.shards = opts.shards;
    this.leaseDurationMs = opts.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = opts.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? longSleep;
    this.log = opts.log ?? (() => undefined);
    this.memberName = replicaLeaseName(opts.identity);
    if (!Number.isSafeInteger(opts.shards) || opts.shards < 1)
      throw new RangeError(`shards must be a whole number >= 1, not ${String(opts.shards)}`);
    for (let i = 0; i < opts.shards; i++) this.electors.push(this.electorFor(i));
  }

  /** Whether this replica may work on the shard now: its Lease is held, fresh, and not being handed back. */
  owns(shard: number): boolean {
    return this.electors[shard]?.isLeader === true && !this.draining.has(shard);
  }

  view(): ShardView {
    return {
      held: this.heldShards(),
      liveReplicas: this.live,
      fairShare: this.fairShare(),
      blocked: this.block?.reason,
    };
  }

  start(): void {
    if (this.state !== "new") throw new Error("a ShardCoordinator starts once");
    this.state = "running";
    for (const e of this.electors) e.start();
    this.loop = this.run(this.controller.signal);
  }

  /** Lowers every fence, releases the shards (the caller has stopped the work) and the heartbeat. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const wasRunning = this.state === "running";
      this.state = "stopped";
      this.controller.abort();
      await this.loop;
      await Promise.allSettled([...this.handoffs]);
      await Promise.all(this.electors.map((e) => e.stop({ release: true })));
      if (wasRunning) await this.forgetSelf();
    })();
    return this.stopping;
  }

  // ---- the loop -----------------------------------------------------------------------------------

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.round();
      await this.sleep(this.retryPeriodMs, signal);
    }
  }

  /** Heartbeat, membership, guards, then hand back what is above the fair share. */
  private async round(): Promise<void> {
    try {
      // One read for everything: the heartbeats, the shard Leases (fed to their electors, which do not
      // read a Lease they could not take) and the --shards 1 leader's Lease.
      const leases = await this.cluster.list(LEASE_API.apiVersion, LEASE_API.kind, {
        namespace: this.namespace,
      });
      const byName = new Map(leases.map((l) => [l.metadata.name, l]));
      for (let i = 0; i < this.shards; i++) {
        const lease = byName.get(shardLeaseName(i));
        if (lease !== undefined) this.electors[i]?.observeLease(lease);
      }
      await this.heartbeat(byName.get(this.memberName));
      const members = leases.filter((l) => l.metadata.labels?.[REPLICA_LABEL] === "true");
      this.block = this.assess(members, byName.get(LEGACY_LEASE));
    } catch (err) {
      // Membership unknown: take nothing new; shards already held keep their own fences.
      const hint =
        err instanceof ClusterError && err.code === ClusterErrorCode.Forbidden
          ? `; gitward's identity needs get, list, create, update and delete on leases in namespace ${this.namespace}`
          : "";
      this.block = { kind: "settling", reason: `membership not readable: ${errText(err)}${hint}` };
    }
    this.warnOnce();
    this.pruneClaims();
    this.rebalance();
    this.reportHeld();
  }

  private reportHeld(): void {
    const n = this.heldShards().length;
    if (n === this.lastHeld) return;
    this.lastHeld = n;
    this.opts.onHeldChange?.(n);
  }

  /** Renews our heartbeat Lease as listed (a 409 means someone touched it: the next round writes again). */
  private async heartbeat(live: KubeObject | undefined): Promise<void> {
    const now = microTime(this.now());
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      renewTime: now,
    };
    if (live === undefined) {
      await this.cluster.create({
        ...LEASE_API,
        metadata: {
          name: this.memberName,
          namespace: this.namespace,
          labels: { [REPLICA_LABEL]: "true", "app.kubernetes.io/part-of": "gitward" },
          annotations: { [SHARDS_ANNOTATION]: String(this.shards) },
        },
        spec: { ...spec, acquireTime: now },
      });
    } else {
      await this.cluster.replace({
        ...live,
        metadata: {
          ...live.metadata,
          annotations: { ...live.metadata.annotations, [SHARDS_ANNOTATION]: String(this.shards) },
        },
        spec: { ...specOf(live), ...spec },
      });
    }
    this.registeredAt ??= this.now();
  }

  /** Counts live replicas (ourselves included) and says why nothing may be taken, if so. */
  private assess(members: readonly KubeObject[], legacy: KubeObject | undefined): Block | undefined {
    const live = new Set([this.identity]);
    const others: string[] = [];
    for (const m of members) {
      const holder = holderOf(m);
      if (m.metadata.name === this.memberName) continue;
      if (!this.fresh(`member/${m.metadata.name}`, m)) {
        void this.forgetStale(m);
        continue;
      }
      live.add(holder === "" ? m.metadata.name : holder);
      const theirs = m.metadata.annotations?.[SHARDS_ANNOTATION];
      if (theirs !== String(this.shards))
        others.push(`${holder || m.metadata.name} runs --shards ${theirs ?? "?"}`);
    }
    this.live = live.size;
    this.rank = [...live].sort().indexOf(this.identity);
    if (others.length > 0)
      return {
        kind: "conflict",
        reason: `replicas disagree on the shard count (this one runs --shards ${String(this.shards)}; ${others.join(", ")})`,
      };
    if (legacy !== undefined) {
      const holder = holderOf(legacy);
      if (holder !== "" && holder !== this.identity && this.fresh(`legacy/${LEGACY_LEASE}`, legacy))
        return {
          kind: "conflict",
          reason: `Lease ${this.namespace}/${LEGACY_LEASE} is held by ${holder}, a replica running --shards 1`,
        };
    }
    // Registered a renew deadline ago: replicas that started about when we did have had time to announce
    // themselves, so the first fair share is not computed as if we were alone (which would take every
    // shard, only to hand most of them back).
    if (this.registeredAt === undefined || this.now() - this.registeredAt < this.renewDeadlineMs)
      return { kind: "settling", reason: "membership not settled yet" };
    return undefined;
  }

  /** Another replica's Lease counts while it changed within its lease duration, by our own clock (as
   * leader.ts judges expiry: the writer's renewTime is not trusted across clock skew). */
  private fresh(key: string, lease: KubeObject, lasting = 1): boolean {
    const record = JSON.stringify(specOf(lease));
    const prev = this.seen.get(key);
    const now = this.now();
    if (prev?.key !== record) this.seen.set(key, { key: record, at: now });
    const at = prev?.key === record ? prev.at : now;
    const duration = Math.max(this.leaseDurationMs, announcedMs(lease) ?? 0);
    return now - at < duration * lasting;
  }

  /** Heartbeats long unchanged belong to replicas that died: deleted (by uid) so the list stays short. */
  private async forgetStale(m: KubeObject): Promise<void> {
    if (this.fresh(`member/${m.metadata.name}`, m, FORGET_AFTER_LEASES)) return;
    try {
      await this.cluster.delete(this.ref(m.metadata.name), {
        ...(m.metadata.uid === undefined ? {} : { uid: m.metadata.uid }),
      });
      this.seen.delete(`member/${m.metadata.name}`);
    } catch {
      // Someone else deleted or renewed it first; the next round looks again.
    }
  }

  private async forgetSelf(): Promise<void> {
    try {
      await this.cluster.delete(this.ref(this.memberName));
    } catch (err) {
      this.log("warn", `could not delete heartbeat Lease ${this.namespace}/${this.memberName}`, {
        replica: this.identity,
        error: errText(err),
      });
    }
  }

  /** A conflict is logged when it starts and when it ends, not every round. */
  private warnOnce(): void {
    if (this.block?.reason !== this.lastBlock) {
      this.lastBlock = this.block?.reason;
      this.log("debug", `shards: ${this.lastBlock ?? "taking shards"}`, {
        replica: this.identity,
        live: this.live,
      });
    }
    const reason = this.block?.kind === "conflict" ? this.block.reason : undefined;
    if (reason === this.lastWarning) return;
    if (reason === undefined)
      this.log("info", "shards: the conflict is over; taking shards again", { replica: this.identity });
    else this.log("warn", `shards: taking no shard: ${reason}`, { replica: this.identity });
    this.lastWarning = reason;
  }

  // ---- fair share ---------------------------------------------------------------------------------

  /**
   * With S = q*L + r shards over L live replicas, the first r replicas by identity hold q+1 and the others
   * q: every replica computes the same quotas from the same membership, they add up to S exactly (so no
   * shard stays free while every replica is full), and none exceeds ceil(S/L).
   */
  private fairShare(): number {
    const live = Math.max(1, this.live);
    const q = Math.floor(this.shards / live);
    return q + (this.rank < this.shards % live ? 1 : 0);
  }

  /** Shards held or claimed (draining ones included: their Leases are still ours). */
  private heldShards(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.shards; i++)
      if (this.claims.has(i) || this.electors[i]?.isLeader === true) out.push(i);
    return out;
  }

  /** Whether a follower elector should read its Lease at all: only while the shard could be taken. */
  private wants(shard: number): boolean {
    if (this.state !== "running" || this.block !== undefined) return false;
    return this.claims.has(shard) || this.heldShards().length < this.fairShare();
  }

  /** The gate of each shard's elector: a vacant or expired shard is taken only within the fair share. */
  private gate(shard: number): ((acquired: boolean) => void) | undefined {
    if (this.state !== "running" || this.block !== undefined) return undefined;
    if (this.heldShards().length >= this.fairShare() && !this.claims.has(shard)) return undefined;
    this.claims.set(shard, this.now());
    return (acquired) => {
      if (!acquired) this.claims.delete(shard);
    };
  }

  /** A claim whose take succeeded late (no leadership followed) must not count for ever. */
  private pruneClaims(): void {
    for (const [shard, at] of this.claims) {
      if (this.electors[shard]?.isLeader === true) continue;
      if (this.now() - at > this.leaseDurationMs) this.claims.delete(shard);
    }
  }

  /** Hands back the shards above the fair share, or every shard while another topology runs. */
  private rebalance(): void {
    if (this.state !== "running" || this.block?.kind === "settling") return;
    const keep = this.block === undefined ? this.fairShare() : 0;
    const active: number[] = [];
    for (let i = 0; i < this.shards; i++) if (this.owns(i)) active.push(i);
    // Shards already draining are on their way out: only the active ones above the share go now.
    const excess = active.length - keep;
    if (excess <= 0) return;
    const why = this.block?.reason ?? `above the fair share of ${String(keep)}`;
    for (const shard of active.slice(-excess)) this.handBack(shard, why);
  }

  /** Fence down, wait for the shard's work to end while the Lease is still renewed, then release it. */
  private handBack(shard: number, why: string): void {
    this.draining.add(shard);
    this.log("info", `handing back shard ${String(shard)}: ${why}`, this.fields(shard));
    this.opts.onLost?.(shard);
    const p = (async () => {
      try {
        await this.opts.drain(shard);
      } catch (err) {
        this.log("warn", `shard ${String(shard)}: waiting for its work failed`, {
          ...this.fields(shard),
          error: errText(err),
        });
      }
      const old = this.electors[shard];
      await old?.stop({ release: true });
      this.claims.delete(shard);
      if (this.state === "running") {
        const next = this.electorFor(shard);
        this.electors[shard] = next;
        next.start();
      }
      this.draining.delete(shard);
      this.log("info", `handed back shard ${String(shard)}`, this.fields(shard));
      this.reportHeld();
    })();
    this.handoffs.add(p);
    void p.finally(() => this.handoffs.delete(p));
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private electorFor(shard: number): LeaderElector {
    const e = new LeaderElector({
      cluster: this.cluster,
      namespace: this.namespace,
      name: shardLeaseName(shard),
      identity: this.identity,
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
      now: this.now,
      sleep: this.sleep,
      log: this.log,
      mayAcquire: () => this.gate(shard),
      wantsLease: () => this.wants(shard),
    });
    e.onStartedLeading(() => {
      this.log("info", `holding shard ${String(shard)}`, this.fields(shard));
      this.reportHeld();
      this.opts.onAcquired?.(shard);
    });
    e.onStoppedLeading(() => {
      this.claims.delete(shard);
      this.reportHeld();
      if (!this.draining.has(shard)) this.opts.onLost?.(shard);
    });
    return e;
  }

  private ref(name: string): ObjectRef {
    return { ...LEASE_API, namespace: this.namespace, name };
  }

  private fields(shard: number): Record<string, unknown> {
    return { shard, lease: `${this.namespace}/${shardLeaseName(shard)}`, replica: this.identity };
  }
}
