// A running operator for the day-2 command tests: the reconcile world (sandbox, git server, SSH-signed
// commits, gitward's own least-privilege account), the CRDs, one Application `shop` with an hour's
// interval (so only a request makes it reconcile), and `gitward run --in-cluster` as that account writing
// the signed cluster audit trail. The commands under test are the built CLI, run as an admin with a
// kubeconfig file, as a person at a terminal would.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { API_VERSION, type ApplicationStatus } from "../../src/config/types.js";
import { requestReconcile } from "../../src/day2/apps.js";
import { waitHandled } from "../../src/day2/wait.js";
import { createLogger } from "../../src/observe/logger.js";
import { startOperator, type RunningOperator } from "../../src/reconcile/run-operator.js";
import { opensslKeyPair } from "../audit/support.js";
import { configMap, installCrds, startWorld, type World } from "../reconcile/harness.js";
import { runCli, type CliRun } from "../support/tools.js";
import { until } from "../support/until.js";

/** A row of `gitward get apps -o json`. */
export interface AppRow {
  name: string;
  ready: string;
  revision?: string;
  latest?: string;
  signer?: string;
  lastError?: { reason: string; message: string };
  driftedObjects: number;
  suspended: boolean;
  pinnedRevision?: string;
}

/** A row of `gitward history APP -o json`. */
export interface HistoryRow {
  result: string;
  revision: string;
  signers: { name: string; key?: string }[];
  reason?: string;
  auditRecord: string;
}

export interface Day2World {
  readonly w: World;
  /** The first commit, applied before the world is handed out. */
  readonly first: string;
  /** The operator's audit signing key pair (files). */
  readonly keys: { priv: string; pub: string };
  /** The built CLI with the admin kubeconfig. */
  gw(...args: string[]): Promise<CliRun>;
  /** `gitward get apps shop -o json`. */
  row(): Promise<AppRow>;
  /** `gitward history shop -o json`, every record's signature checked with the operator's key. */
  history(): Promise<HistoryRow[]>;
  /** The data of ConfigMap shop/a, which every revision here changes. */
  data(): Promise<unknown>;
  /** The Application's status, read directly (cheap enough to poll). */
  status(): Promise<ApplicationStatus>;
  /** A reconcile request made in-process (as `reconcile --now` does) and its handled status. */
  handled(): Promise<ApplicationStatus>;
  /** The operator's last log lines, for failure messages. */
  readonly tail: () => string;
  stop(): Promise<void>;
}

export async function startDay2World(): Promise<Day2World> {
  const w = await startWorld();
  const logs: string[] = [];
  let running: RunningOperator | undefined;
  try {
    await installCrds(w.admin);
    const kubeconfig = path.join(w.dir, "admin.kubeconfig");
    await writeFile(kubeconfig, w.sb.kubeconfig);
    const keys = await opensslKeyPair(w.dir);
    const first = await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "1" }) });
    const trust = w.trust();
    await w.admin.apply({ ...trust, metadata: { name: trust.metadata.name } });
    const app = w.app({ interval: "1h" });
    await w.admin.apply({ ...app, metadata: { ...app.metadata } });
    running = await startOperator({
      inCluster: true,
      kubeconfigText: w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
      listen: { host: "127.0.0.1", port: 0 },
      cacheDir: path.join(w.dir, "operator-cache"),
      auditStore: "cluster",
      auditKeyPath: keys.priv,
      leaderElection: false,
      logger: createLogger({
        destination: new Writable({
          write(chunk: Buffer, _e, done) {
            logs.push(chunk.toString("utf8"));
            done();
          },
        }),
      }),
    });
    const ref = {
      apiVersion: API_VERSION,
      kind: "Application",
      namespace: "gitward-system",
      name: "shop",
    };
    const tail = () => logs.slice(-5).join("");
    await until(
      "the first revision applied",
      async () =>
        ((await w.admin.get(ref))?.["status"] as ApplicationStatus | undefined)?.lastAppliedRevision ===
        first,
      30_000,
      tail,
    );
    const op = running;
    const gw = (...args: string[]) => runCli([...args, "--kubeconfig", kubeconfig]);
    return {
      w,
      first,
      keys,
      gw,
      async row() {
        const r = await gw("get", "apps", "shop", "-o", "json");
        if (r.code !== 0) throw new Error(`get apps: exit ${r.code}: ${r.stderr}`);
        const rows = (JSON.parse(r.stdout) as { applications: AppRow[] }).applications;
        if (rows.length !== 1 || rows[0] === undefined) throw new Error(`get apps shop: ${r.stdout}`);
        return rows[0];
      },
      async history() {
        const r = await gw("history", "shop", "-o", "json", "--key", keys.pub);
        if (r.code !== 0) throw new Error(`history: exit ${r.code}: ${r.stderr}`);
        return (JSON.parse(r.stdout) as { history: HistoryRow[] }).history;
      },
      async data() {
        return (await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" }))?.[
          "data"
        ];
      },
      async status() {
        return (await w.admin.get(ref))?.["status"] ?? {};
      },
      async handled() {
        const token = await requestReconcile(w.admin, "gitward-system", "shop");
        return waitHandled(w.admin, "gitward-system", "shop", token, { timeoutMs: 30_000 });
      },
      tail,
      async stop() {
        await op.stop();
        await w.stop();
      },
    };
  } catch (err) {
    await running?.stop();
    await w.stop();
    throw err;
  }
}
