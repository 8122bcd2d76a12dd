// Shared by the benchmarks that run the operator: the in-process Operator as `gitward run` builds it, as
// gitward's own service account, for the given Applications, with its audit log in the bench's folder.
import path from "node:path";
import type { Application, TrustPolicy } from "../../src/config/types.js";
import { AuditLog } from "../../src/audit/writer.js";
import { ClusterClient } from "../../src/cluster/client.js";
import { Operator, type LogFn } from "../../src/reconcile/operator.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { SealingKeyRing } from "../../src/secrets/keys.js";

export interface BenchOperator {
  readonly op: Operator;
  /** Stops the operator, closes its audit log and its client; a second call does nothing. */
  stop(): Promise<void>;
}

export async function startBenchOperator(opts: {
  /** gitward's service account's kubeconfig. */
  readonly kubeconfig: string;
  readonly dir: string;
  readonly apps: readonly Application[];
  readonly trust: TrustPolicy;
  /** Names the audit log file (audit-<name>.jsonl). */
  readonly name: string;
  readonly log: LogFn;
}): Promise<BenchOperator> {
  const cluster = ClusterClient.fromText(opts.kubeconfig);
  const audit = await AuditLog.open({ path: path.join(opts.dir, `audit-${opts.name}.jsonl`) });
  const op = new Operator({
    cluster,
    state: new ConfigMapStateStore(cluster),
    cacheDir: path.join(opts.dir, "cache"),
    workDir: opts.dir,
    audit,
    actor: { type: "operator", name: "system:serviceaccount:gitward-system:gitward" },
    log: opts.log,
    sealingKeys: () => Promise.resolve(new SealingKeyRing([])),
    credentials: () => Promise.resolve(undefined),
  });
  op.setConfig(opts.apps, [opts.trust]);
  op.start();
  let stopped = false;
  return {
    op,
    async stop() {
      if (stopped) return;
      stopped = true;
      await op.stop();
      await audit.close();
      cluster.close();
    },
  };
}
