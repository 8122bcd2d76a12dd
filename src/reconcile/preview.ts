// Turns a dry run's preview (reconcile.ts, env.dryRun) into what people read: per object a unified diff of
// the live object against the server's dry-run answer, as `kubectl diff` shows it, plus the objects prune
// would delete. Both sides are cleaned of what the server assigns (managedFields, resourceVersion, uid...)
// and Secret values are replaced by fixed markers on both sides: a diff says that a value changed, never what.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { stringify } from "yaml";
import { describeRef, refOf, type ClusterClient, type KubeObject } from "../cluster/client.js";
import { isOwnedBy, keyOf, type AppId } from "./inventory.js";
import type { PlanPreview } from "./reconcile.js";
import { isRecord } from "../json/record.js";

/** The marker for a Secret value the same on both sides (or on one side only). */
export const SECRET_MARKER = "*** (redacted)";
const BEFORE_MARKER = "*** (redacted, before)";
const AFTER_MARKER = "*** (redacted, after)";

const SERVER_FIELDS = [
  "managedFields",
  "resourceVersion",
  "generation",
  "uid",
  "creationTimestamp",
  "selfLink",
] as const;

export type DiffAction = "create" | "update" | "delete";

export interface ObjectDiff {
  /** "Kind namespace/name". */
  readonly object: string;
  readonly action: DiffAction;
  /** Unified diff of the cleaned YAML (live → what the apply would make); Secret values redacted. */
  readonly diff: string;
}

/** A copy without status and the metadata the server assigns: what the diff compares. */
export function cleanObject(o: KubeObject): Record<string, unknown> {
  const { status: _status, ...rest } = structuredClone(o) as KubeObject & { status?: unknown };
  const meta: Record<string, unknown> = Object.fromEntries(
    Object.entries(rest.metadata).filter(([k]) => !(SERVER_FIELDS as readonly string[]).includes(k)),
  );
  const annotations = meta["annotations"];
  if (isRecord(annotations)) {
    // kubectl's client-side apply copy holds the whole object again, Secret values included.
    delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
    if (Object.keys(annotations).length === 0) delete meta["annotations"];
  }
  return { ...rest, metadata: meta };
}

function isSecret(o: { apiVersion?: unknown; kind?: unknown } | undefined): boolean {
  return o?.apiVersion === "v1" && o.kind === "Secret";
}

/** Secret values as markers; `other` is the object on the other side of the diff, to tell a changed value. */
export function redactSecret(
  o: Record<string, unknown>,
  other?: Record<string, unknown>,
  side: "before" | "after" = "after",
): Record<string, unknown> {
  if (!isSecret(o)) return o;
  const out = { ...o };
  for (const field of ["data", "stringData"] as const) {
    const values = o[field];
    if (!isRecord(values)) continue;
    const theirs = other?.[field];
    const masked: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      const changed = isRecord(theirs) && k in theirs && theirs[k] !== v;
      masked[k] = changed ? (side === "before" ? BEFORE_MARKER : AFTER_MARKER) : SECRET_MARKER;
    }
    out[field] = masked;
  }
  return out;
}

function yamlOf(o: Record<string, unknown> | undefined): string {
  return o === undefined ? "" : stringify(o, { sortMapEntries: true, lineWidth: 0 });
}

function fileName(o: KubeObject): string {
  const ns = o.metadata.namespace;
  return [o.apiVersion.replace("/", "."), o.kind, ...(ns === undefined ? [] : [ns]), o.metadata.name].join(
    ".",
  );
}

/** The diff of one object, or undefined when the cleaned objects are the same. */
export function objectDiff(
  live: KubeObject | undefined,
  merged: KubeObject | undefined,
): ObjectDiff | undefined {
  const ref = merged ?? live;
  if (ref === undefined) return undefined;
  const before = live === undefined ? undefined : cleanObject(live);
  const after = merged === undefined ? undefined : cleanObject(merged);
  const a = yamlOf(before === undefined ? undefined : redactSecret(before, after, "before"));
  const b = yamlOf(after === undefined ? undefined : redactSecret(after, before, "after"));
  if (a === b) return undefined;
  const name = fileName(ref);
  return {
    object: describeRef(refOf(ref)),
    action: live === undefined ? "create" : merged === undefined ? "delete" : "update",
    diff: createTwoFilesPatch(`live/${name}`, `merged/${name}`, a, b, undefined, undefined, {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
    }),
  };
}

/**
 * The diffs of a dry run: every planned change (the server's dry-run answer, or the object itself where it
 * could not be dry-run before its namespace or CRD exists) against the live object, then every object
 * prune would delete that is still there and still the application's.
 */
export async function previewDiffs(
  cluster: ClusterClient,
  app: AppId,
  preview: PlanPreview,
): Promise<ObjectDiff[]> {
  const out: ObjectDiff[] = [];
  for (const d of preview.plan.changes) {
    const key = keyOf(refOf(d.object));
    const diff = objectDiff(preview.plan.live.get(key), preview.dryRun.get(key) ?? d.object);
    if (diff !== undefined) out.push(diff);
  }
  for (const e of preview.prune) {
    const live = await cluster.get(e, { impersonate: preview.serviceAccount });
    if (live === undefined || !isOwnedBy(live, app)) continue;
    const diff = objectDiff(live, undefined);
    if (diff !== undefined) out.push(diff);
  }
  return out;
}
