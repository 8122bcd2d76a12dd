// One audit trail per cluster: the same signed, hash-chained records as the file log (writer.ts), kept in
// numbered ConfigMaps (chunks) in gitward's namespace, so every replica's decisions land in one chain that
// outlives Pods and nodes. Each append is an optimistic-concurrency write (PUT with resourceVersion, or a
// create of the next chunk); a writer that loses the race re-reads the tip and chains from it, so two
// replicas never fork the chain. A full chunk is sealed (by the same kind of write) before the next starts.
import type { KeyObject } from "node:crypto";
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { auditKeyId } from "./keys.js";
import {
  entryProblem,
  headOfLine,
  sealRecord,
  GENESIS,
  type AuditEntry,
  type AuditRecord,
} from "./record.js";
import { AuditError, AuditErrorCode, type AuditSink } from "./writer.js";

/** Label on every chunk ConfigMap; its value is the trail's name. */
export const AUDIT_TRAIL_LABEL = "gitward.dev/audit-trail";
/** Annotation of a chunk that takes no more records: the next one continues the chain. */
export const AUDIT_SEALED_ANNOTATION = "gitward.dev/audit-sealed";
export const RECORDS_KEY = "records.jsonl";
export const DEFAULT_TRAIL = "gitward";
/** A chunk takes records until it holds about this much; a ConfigMap holds at most 1 MiB. */
const CHUNK_TARGET_BYTES = 256 * 1024;
/** The largest record a chunk can hold (with room for the object's metadata). */
export const MAX_CLUSTER_RECORD_BYTES = 900 * 1024;
/** Lost races before an append gives up (each re-reads the tip; a race is lost only to another write). */
const MAX_ATTEMPTS = 100;

export interface ClusterAuditOptions {
  readonly cluster: ClusterClient;
  /** gitward's own namespace (default gitward-system). */
  readonly namespace?: string;
  readonly trail?: string;
  readonly signingKey?: KeyObject;
  readonly now?: () => Date;
  /** Chunk size target (tests use a small one to roll chunks). */
  readonly chunkBytes?: number;
  /** Handed every record once it is stored (e.g. stdout JSON for a log pipeline). */
  readonly onRecord?: (record: AuditRecord) => void;
}

export function chunkName(trail: string, index: number): string {
  return `${trail}-audit-${String(index).padStart(6, "0")}`;
}

interface Tip {
  readonly index: number;
  readonly object: KubeObject;
  readonly text: string;
  readonly sealed: boolean;
  readonly head: { seq: number; hash: string };
}

export class ClusterAuditLog implements AuditSink {
  private queue: Promise<unknown> = Promise.resolve();
  private tip: Tip | undefined;
  private closed = false;
  private readonly namespace: string;
  private readonly trail: string;
  private readonly keyId: string | undefined;

  constructor(private readonly opts: ClusterAuditOptions) {
    this.namespace = opts.namespace ?? "gitward-system";
    this.trail = opts.trail ?? DEFAULT_TRAIL;
    this.keyId = opts.signingKey === undefined ? undefined : auditKeyId(opts.signingKey);
  }

  /** Where the trail lives, for messages. */
  get location(): string {
    return `ConfigMaps ${this.namespace}/${chunkName(this.trail, 1).replace(/0+1$/, "*")}`;
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    const result = this.queue.then(() => this.write(entry));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }

  private async write(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) throw new AuditError(AuditErrorCode.Closed, `audit trail ${this.location} is closed`);
    const problem = entryProblem(entry);
    if (problem !== undefined) {
      throw new AuditError(AuditErrorCode.InvalidEntry, `audit entry rejected at ${problem}`);
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const tip = this.tip ?? (await this.readTip());
      const record = this.build(entry, tip?.head ?? { seq: 0, hash: GENESIS });
      const line = JSON.stringify(record) + "\n";
      if (Buffer.byteLength(line) > MAX_CLUSTER_RECORD_BYTES) {
        throw new AuditError(
          AuditErrorCode.InvalidEntry,
          `audit record of ${Buffer.byteLength(line)} bytes is over the cluster trail's limit of ${MAX_CLUSTER_RECORD_BYTES}`,
        );
      }
      const full =
        tip !== undefined &&
        tip.text !== "" &&
        Buffer.byteLength(tip.text) + Buffer.byteLength(line) > (this.opts.chunkBytes ?? CHUNK_TARGET_BYTES);
      let stored: Tip | undefined;
      if (tip === undefined) stored = await this.createChunk(1, line, record);
      else if (tip.sealed) stored = await this.createChunk(tip.index + 1, line, record);
      else if (full)
        stored = (await this.seal(tip)) ? await this.createChunk(tip.index + 1, line, record) : undefined;
      else stored = await this.extend(tip, line, record);
      if (stored === undefined) {
        // Another writer got there first: chain from what it wrote.
        this.tip = undefined;
        continue;
      }
      this.tip = stored;
      this.opts.onRecord?.(record);
      return record;
    }
    throw new AuditError(
      AuditErrorCode.Io,
      `audit trail ${this.location}: lost ${MAX_ATTEMPTS} races to other writers in a row; the record was not written`,
    );
  }

  private build(entry: AuditEntry, head: { seq: number; hash: string }): AuditRecord {
    return sealRecord(entry, head, {
      ...(this.opts.now === undefined ? {} : { now: this.opts.now }),
      ...(this.keyId === undefined ? {} : { keyId: this.keyId }),
      ...(this.opts.signingKey === undefined ? {} : { signingKey: this.opts.signingKey }),
    });
  }

  /** The newest chunk: the highest index listed, then forward while a later one exists. */
  private async readTip(): Promise<Tip | undefined> {
    const listed = await this.opts.cluster.list("v1", "ConfigMap", {
      namespace: this.namespace,
      labelSelector: `${AUDIT_TRAIL_LABEL}=${this.trail}`,
      metadataOnly: true,
    });
    let index = 0;
    for (const o of listed) index = Math.max(index, chunkIndex(this.trail, o.metadata.name) ?? 0);
    if (index === 0) return undefined;
    let tip = await this.readChunk(index);
    while (tip?.sealed === true) {
      const next = await this.readChunk(tip.index + 1);
      if (next === undefined) break;
      tip = next;
    }
    return tip;
  }

  private async readChunk(index: number): Promise<Tip | undefined> {
    const name = chunkName(this.trail, index);
    const cm = await this.opts.cluster.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: this.namespace,
      name,
    });
    if (cm === undefined) return undefined;
    const text = chunkText(cm);
    return {
      index,
      object: cm,
      text,
      sealed: cm.metadata.annotations?.[AUDIT_SEALED_ANNOTATION] === "true",
      head: lastRecordHead(text, `${this.namespace}/${name}`),
    };
  }

  private chunkObject(index: number, text: string, sealed: boolean, resourceVersion?: string): KubeObject {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: chunkName(this.trail, index),
        namespace: this.namespace,
        labels: { [AUDIT_TRAIL_LABEL]: this.trail },
        ...(sealed ? { annotations: { [AUDIT_SEALED_ANNOTATION]: "true" } } : {}),
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      data: { [RECORDS_KEY]: text },
    };
  }

  /** A new chunk holding `line` first; undefined when another writer made it already. */
  private async createChunk(index: number, line: string, record: AuditRecord): Promise<Tip | undefined> {
    try {
      const object = await this.opts.cluster.create(this.chunkObject(index, line, false));
      return { index, object, text: line, sealed: false, head: { seq: record.seq, hash: record.hash } };
    } catch (err) {
      if (lostRace(err)) return undefined;
      throw ioError(err, this.location);
    }
  }

  private async extend(tip: Tip, line: string, record: AuditRecord): Promise<Tip | undefined> {
    const text = tip.text + line;
    try {
      const object = await this.opts.cluster.replace(
        this.chunkObject(tip.index, text, false, tip.object.metadata.resourceVersion),
      );
      return { ...tip, object, text, head: { seq: record.seq, hash: record.hash } };
    } catch (err) {
      if (lostRace(err)) return undefined;
      throw ioError(err, this.location);
    }
  }

  /** Seals a full chunk; false when another writer changed it first. */
  private async seal(tip: Tip): Promise<boolean> {
    try {
      await this.opts.cluster.replace(
        this.chunkObject(tip.index, tip.text, true, tip.object.metadata.resourceVersion),
      );
      return true;
    } catch (err) {
      if (lostRace(err)) return false;
      throw ioError(err, this.location);
    }
  }
}

function lostRace(err: unknown): boolean {
  return err instanceof ClusterError && err.code === ClusterErrorCode.Conflict;
}

function ioError(err: unknown, where: string): AuditError {
  const message = err instanceof Error ? err.message : String(err);
  return new AuditError(AuditErrorCode.Io, `cannot append to audit trail ${where}: ${message}`);
}

export function chunkIndex(trail: string, name: string): number | undefined {
  const prefix = `${trail}-audit-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^[0-9]{6,}$/.test(rest) ? Number(rest) : undefined;
}

function chunkText(cm: KubeObject): string {
  const data = (cm["data"] ?? {}) as Record<string, unknown>;
  const text = data[RECORDS_KEY];
  return typeof text === "string" ? text : "";
}

/** The seq and hash of a chunk's last record, checked as the file writer checks its last line. */
function lastRecordHead(text: string, where: string): { seq: number; hash: string } {
  const lines = text.split("\n");
  if (lines.pop() !== "") {
    throw new AuditError(
      AuditErrorCode.Damaged,
      `audit trail chunk ${where} ends in an incomplete record: run \`gitward audit verify\``,
    );
  }
  const last = lines.at(-1);
  if (last === undefined) return { seq: 0, hash: GENESIS };
  const head = headOfLine(last);
  if ("problem" in head) {
    throw new AuditError(
      AuditErrorCode.Damaged,
      `the last record of audit trail chunk ${where} is not valid (${head.problem}): run \`gitward audit verify\` before writing`,
    );
  }
  return head;
}

/** The whole trail as JSON Lines, chunk after chunk, for `audit verify`, `audit export` and `history`. */
export async function readClusterTrail(
  cluster: ClusterClient,
  opts: { namespace?: string; trail?: string } = {},
): Promise<{ text: string; chunks: number; missing: number[] }> {
  const namespace = opts.namespace ?? "gitward-system";
  const trail = opts.trail ?? DEFAULT_TRAIL;
  const items = await cluster.list("v1", "ConfigMap", {
    namespace,
    labelSelector: `${AUDIT_TRAIL_LABEL}=${trail}`,
  });
  const byIndex = new Map<number, KubeObject>();
  for (const o of items) {
    const i = chunkIndex(trail, o.metadata.name);
    if (i !== undefined) byIndex.set(i, o);
  }
  const max = Math.max(0, ...byIndex.keys());
  const missing: number[] = [];
  let text = "";
  for (let i = 1; i <= max; i++) {
    const cm = byIndex.get(i);
    if (cm === undefined) missing.push(i);
    else text += chunkText(cm);
  }
  return { text, chunks: byIndex.size, missing };
}
