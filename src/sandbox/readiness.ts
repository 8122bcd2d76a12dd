// The readiness simulation's data: which kinds become ready, after what delay, and the status a controller
// would write once a workload's pods are all ready (or its job completed). The timers are in api.ts.
import { isObject, text, type JsonObject } from "./fieldset.js";
import { metaOf } from "./store.js";
import { now } from "./object-rules.js";

export type Readiness = { delayMs: number } | "never";

export const workloadKinds = new Set(["apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "batch/Job"]);

/** The status a controller would write once a workload's pods are all ready (or its job completed). */
export function readyStatus(kind: string, obj: JsonObject): JsonObject {
  const meta = metaOf(obj);
  const spec = isObject(obj["spec"]) ? obj["spec"] : {};
  const gen = meta["generation"] ?? 1;
  const replicas = typeof spec["replicas"] === "number" ? spec["replicas"] : 1;
  const t = now();
  switch (kind) {
    case "Deployment":
      return {
        observedGeneration: gen,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          {
            type: "Available",
            status: "True",
            lastUpdateTime: t,
            lastTransitionTime: t,
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
          },
          {
            type: "Progressing",
            status: "True",
            lastUpdateTime: t,
            lastTransitionTime: t,
            reason: "NewReplicaSetAvailable",
            message: `ReplicaSet "${text(meta["name"])}" has successfully progressed.`,
          },
        ],
      };
    case "StatefulSet":
      return {
        observedGeneration: gen,
        replicas,
        readyReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        currentRevision: `${text(meta["name"])}-${text(gen)}`,
        updateRevision: `${text(meta["name"])}-${text(gen)}`,
        collisionCount: 0,
      };
    case "DaemonSet":
      return {
        observedGeneration: gen,
        currentNumberScheduled: 1,
        desiredNumberScheduled: 1,
        numberAvailable: 1,
        numberMisscheduled: 0,
        numberReady: 1,
        updatedNumberScheduled: 1,
      };
    default: {
      const completions = typeof spec["completions"] === "number" ? spec["completions"] : 1;
      return {
        startTime: t,
        completionTime: t,
        succeeded: completions,
        active: 0,
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          {
            type: "SuccessCriteriaMet",
            status: "True",
            lastProbeTime: t,
            lastTransitionTime: t,
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
          },
          {
            type: "Complete",
            status: "True",
            lastProbeTime: t,
            lastTransitionTime: t,
            reason: "CompletionsReached",
            message: "Reached expected number of succeeded pods",
          },
        ],
      };
    }
  }
}
