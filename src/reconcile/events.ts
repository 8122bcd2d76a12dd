// Kubernetes Events about an application's reconcile, so `kubectl get events` and `kubectl describe`
// show the same reason and revision as the status, the audit log and the CLI.
import { randomBytes } from "node:crypto";
import type { ClusterClient } from "../cluster/client.js";

export interface EventInput {
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  readonly now: string;
}

/** Creates a core/v1 Event about `target` (messages are capped at 1 KiB, as the API server caps them). */
export async function emitEvent(
  cluster: ClusterClient,
  target: { apiVersion: string; kind: string; namespace: string; name: string },
  e: EventInput,
): Promise<void> {
  const time = e.now.replace(/\.\d+Z$/, "Z");
  await cluster.create({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${target.name}.${randomBytes(8).toString("hex")}`, namespace: target.namespace },
    involvedObject: target,
    type: e.type,
    reason: e.reason.slice(0, 128),
    message: e.message.slice(0, 1024),
    source: { component: "gitward" },
    reportingComponent: "gitward",
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  });
}
