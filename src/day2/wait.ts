// Waiting for the operator to handle a request (`reconcile APP --now`, `rollback`): polls the Application
// until its status echoes the request's token, reporting each change of its Ready condition as progress,
// and gives up after a timeout with a message that says what to check.
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterClient } from "../cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import type { ApplicationStatus } from "../config/types.js";
import { getApp, statusOf } from "./apps.js";

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Progress lines for people (stderr). */
  readonly progress?: (line: string) => void;
  readonly pollMs?: number;
}

export async function waitHandled(
  cluster: ClusterClient,
  namespace: string,
  name: string,
  token: string,
  opts: WaitOptions,
): Promise<ApplicationStatus> {
  const deadline = Date.now() + opts.timeoutMs;
  let said = "";
  for (;;) {
    const status = statusOf(await getApp(cluster, namespace, name));
    const ready = status.conditions?.find((c) => c.type === "Ready");
    if (status.lastHandledReconcileAt === token) return status;
    const line =
      ready === undefined ? "waiting for the operator" : `waiting: Ready ${ready.status} (${ready.reason})`;
    if (line !== said) {
      opts.progress?.(`${namespace}/${name}: ${line}`);
      said = line;
    }
    if (Date.now() >= deadline) {
      throw new ClusterError(
        ClusterErrorCode.Timeout,
        `Application ${namespace}/${name}: the operator did not handle the request within ${Math.round(opts.timeoutMs / 1000)} s ` +
          "(is `gitward run --in-cluster` running and leading? see `gitward get apps` and its logs)",
      );
    }
    await sleep(opts.pollMs ?? 250);
  }
}
