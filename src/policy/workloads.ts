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
  /** JSON pointers of the pod spec and metadata in the object, so findings can name the field. */
  readonly specPath: string;
  readonly metadataPath: string;
}

export interface ContainerRef {
  readonly kind: "container" | "initContainer" | "ephemeralContainer";
  readonly name: string;
  readonly c: Record<string, unknown>;
  /** JSON pointer of the container in the object (e.g. /spec/template/spec/containers/0). */
  readonly path: string;
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

/** Where the pod template sits in each kind: the keys leading to the pod's `spec` and `metadata`. */
function templateKeys(kind: string): string[] {
  if (kind === "Pod") return [];
  if (kind === "CronJob") return ["spec", "jobTemplate", "spec", "template"];
  return ["spec", "template"];
}

export function podTemplate(m: Manifest): PodTemplate | undefined {
  if (!WORKLOAD_KINDS.has(m.kind)) return undefined;
  const keys = templateKeys(m.kind);
  const spec = field(m.object, ...keys, "spec");
  const metadata = field(m.object, ...keys, "metadata");
  if (!isRecord(spec)) return undefined;
  const base = keys.map((k) => `/${k}`).join("");
  return {
    manifest: m,
    spec,
    metadata: isRecord(metadata) ? metadata : {},
    specPath: `${base}/spec`,
    metadataPath: `${base}/metadata`,
  };
}

export function* podTemplates(manifests: readonly Manifest[]): Iterable<PodTemplate> {
  for (const m of manifests) {
    const t = podTemplate(m);
    if (t !== undefined) yield t;
  }
}

/** Every container of a pod spec; `specPath` is the spec's JSON pointer, for each container's `path`. */
export function containers(spec: Record<string, unknown>, specPath = ""): ContainerRef[] {
  const out: ContainerRef[] = [];
  const add = (key: string, kind: ContainerRef["kind"]): void => {
    asArray(spec[key]).forEach((c, i) => {
      if (isRecord(c))
        out.push({
          kind,
          name: typeof c["name"] === "string" ? c["name"] : "?",
          c,
          path: `${specPath}/${key}/${i}`,
        });
    });
  };
  add("containers", "container");
  add("initContainers", "initContainer");
  add("ephemeralContainers", "ephemeralContainer");
  return out;
}

export function describeContainer(c: ContainerRef): string {
  return `${c.kind} "${c.name}"`;
}
