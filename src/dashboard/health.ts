// Health of a live object in the spirit of kstatus: Current when the controller has caught up and the
// object is ready, InProgress while it is rolling out, Failed when a condition says so, NotFound when the
// object is gone. Only what the object's own status says; nothing is guessed.
import type { KubeObject } from "../cluster/client.js";
import { isRecord } from "../json/record.js";

export type Health = "Current" | "InProgress" | "Failed" | "NotFound" | "Unknown";

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function conditions(status: Record<string, unknown>): Record<string, unknown>[] {
  const c = status["conditions"];
  return Array.isArray(c) ? c.filter(isRecord) : [];
}

export function healthOf(obj: KubeObject | undefined): Health {
  if (obj === undefined) return "NotFound";
  const status = isRecord(obj["status"]) ? obj["status"] : {};
  const meta = obj.metadata as Record<string, unknown>;
  if (typeof meta["deletionTimestamp"] === "string") return "InProgress";
  const conds = conditions(status);
  if (conds.some((c) => (c["type"] === "Failed" || c["type"] === "Stalled") && c["status"] === "True"))
    return "Failed";
  const generation = num(meta["generation"]);
  const observed = status["observedGeneration"];
  if (generation > 0 && typeof observed === "number" && observed < generation) return "InProgress";
  switch (obj.kind) {
    case "Deployment":
    case "StatefulSet":
    case "ReplicaSet": {
      const spec = isRecord(obj["spec"]) ? obj["spec"] : {};
      const want = spec["replicas"] === undefined ? 1 : num(spec["replicas"]);
      if (num(status["readyReplicas"]) >= want && num(status["updatedReplicas"] ?? want) >= want)
        return "Current";
      return "InProgress";
    }
    case "DaemonSet":
      return num(status["numberReady"]) >= num(status["desiredNumberScheduled"]) ? "Current" : "InProgress";
    case "Job":
      if (conds.some((c) => c["type"] === "Complete" && c["status"] === "True")) return "Current";
      return "InProgress";
    case "Pod":
      if (status["phase"] === "Succeeded") return "Current";
      return conds.some((c) => c["type"] === "Ready" && c["status"] === "True") ? "Current" : "InProgress";
    default: {
      const ready = conds.find((c) => c["type"] === "Ready");
      if (ready === undefined) return "Current";
      return ready["status"] === "True" ? "Current" : ready["status"] === "False" ? "InProgress" : "Unknown";
    }
  }
}
