// Finds the pod template in each workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
// CronJob, and the ReplicationController) so that the pod security rules judge every pod the same way.
import type { Manifest } from "../render/types.js";
import { asArray, field, isRecord } from "./types.js";

export interface PodTemplate {
  readonly manifest: Manifest;
  /** The pod spec. */
  readonly spec: Record<string, unknown>;
  /** The pod's metadata (annotations for AppArmor). */
  readonly metadata: Record<string, unknown>;
}

export interface ContainerRef {
  readonly kind: "container" | "initContainer" | "ephemeralContainer";
  readonly name: string;
  readonly c: Record<string, unknown>;
}

export const WORKLOAD_KINDS = new Set([
  "Pod",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "ReplicationController",
  "Job",
  "CronJob",
]);

export function podTemplate(m: Manifest): PodTemplate | undefined {
  if (!WORKLOAD_KINDS.has(m.kind)) return undefined;
  const o = m.object;
  const [spec, metadata] =
    m.kind === "Pod"
      ? [field(o, "spec"), field(o, "metadata")]
      : m.kind === "CronJob"
        ? [
            field(o, "spec", "jobTemplate", "spec", "template", "spec"),
            field(o, "spec", "jobTemplate", "spec", "template", "metadata"),
          ]
        : [field(o, "spec", "template", "spec"), field(o, "spec", "template", "metadata")];
  if (!isRecord(spec)) return undefined;
  return { manifest: m, spec, metadata: isRecord(metadata) ? metadata : {} };
}

export function* podTemplates(manifests: readonly Manifest[]): Iterable<PodTemplate> {
  for (const m of manifests) {
    const t = podTemplate(m);
    if (t !== undefined) yield t;
  }
}

export function containers(spec: Record<string, unknown>): ContainerRef[] {
  const out: ContainerRef[] = [];
  const add = (key: string, kind: ContainerRef["kind"]): void => {
    for (const c of asArray(spec[key])) {
      if (isRecord(c)) out.push({ kind, name: typeof c["name"] === "string" ? c["name"] : "?", c });
    }
  };
  add("containers", "container");
  add("initContainers", "initContainer");
  add("ephemeralContainers", "ephemeralContainer");
  return out;
}

export function describeContainer(c: ContainerRef): string {
  return `${c.kind} "${c.name}"`;
}
