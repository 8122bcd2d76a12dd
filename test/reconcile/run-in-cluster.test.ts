// `gitward run --in-cluster` put together (startOperator): the operator reads an Application and its
// TrustPolicy from the CRDs, applies the signed revision as the application's account, writes the status
// into the Application's status subresource, and picks up a new Application without a restart.
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/cluster/client.js";
import { createLogger } from "../../src/observe/logger.js";
import { generateSealingKey, sealingKeyToSecret } from "../../src/secrets/keys.js";
import { startOperator, type RunningOperator } from "../../src/reconcile/run-operator.js";
import { configMap, installCrds, startWorld, type World } from "./harness.js";
import { until as waitUntil } from "../support/until.js";

let w: World;
let running: RunningOperator | undefined;
const lines: string[] = [];

beforeAll(async () => {
  w = await startWorld();
  await installCrds(w.admin);
  await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "1" }) });
});

afterAll(async () => {
  await running?.stop();
  await w.stop();
});

const until = <T>(what: string, f: () => Promise<T | undefined>, ms = 20_000) =>
  waitUntil(what, f, ms, () => lines.slice(-5).join(""));

/** `gitward run --in-cluster` as gitward's own account, without a lease; its log lines go to `into`. */
function startInCluster(
  into: string[],
  name: string,
  extra: Partial<Parameters<typeof startOperator>[0]> = {},
): Promise<RunningOperator> {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      into.push(chunk.toString("utf8"));
      done();
    },
  });
  return startOperator({
    inCluster: true,
    kubeconfigText: w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
    listen: { host: "127.0.0.1", port: 0 },
    cacheDir: path.join(w.dir, `${name}-cache`),
    auditPath: path.join(w.dir, `${name}-audit.jsonl`),
    leaderElection: false,
    logger: createLogger({ destination }),
    ...extra,
  });
}

describe("gitward run --in-cluster", () => {
  it("reconciles Applications from the CRDs, status in the subresource, new ones without a restart", async () => {
    const trust = w.trust();
    await w.admin.apply({ ...trust, metadata: { name: trust.metadata.name } });
    const app = w.app({ interval: "1h" });
    await w.admin.apply({ ...app, metadata: { ...app.metadata } });
    running = await startInCluster(lines, "op");
    const status = await until("the Application's status", async () => {
      const live = await w.admin.get({
        apiVersion: "gitward.dev/v1alpha1",
        kind: "Application",
        namespace: "gitward-system",
        name: "shop",
      });
      const st = live?.["status"] as { lastAppliedRevision?: string; lastAppliedSigner?: string } | undefined;
      return st?.lastAppliedRevision === undefined ? undefined : st;
    });
    expect(status.lastAppliedRevision).toBe(await w.repo.git("rev-parse", "HEAD"));
    expect(status.lastAppliedSigner).toBe("platform");
    expect(
      (await w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "a" }))?.["data"],
    ).toEqual({
      x: "1",
    });
    const ready = await fetch(`${running.server.url}/readyz`);
    expect(ready.status).toBe(200);

    // A second Application, created while the operator runs, is reconciled without a restart.
    await w.commit({ "apps/more/b.yaml": configMap("b", { y: "2" }) });
    const more = w.app({ interval: "1h", source: { ...app.spec.source, path: "apps/more" } });
    await w.admin.apply({ ...more, metadata: { name: "more", namespace: "gitward-system" } });
    const b = await until("the new Application's object", () =>
      w.admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "b" }),
    );
    expect(b["data"]).toEqual({ y: "2" });
  });
  it("reads the sealing keys from --key-namespace, exports their age, and warns when rotation is overdue", async () => {
    await running?.stop();
    running = undefined;
    const made = new Date(Date.now() - 40 * 86_400_000);
    const old = await generateSealingKey({ modulusLength: 2048, now: made });
    await w.admin.apply(sealingKeyToSecret(old, "gitward-keys") as unknown as KubeObject);
    const seen: string[] = [];
    running = await startInCluster(seen, "op-keys", {
      keyNamespace: "gitward-keys",
      keyMaxAgeMs: 30 * 86_400_000,
    });
    const warning = await until("the overdue warning", () =>
      Promise.resolve(
        seen
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((r) => String(r["msg"]).startsWith("sealing key rotation overdue")),
      ),
    );
    expect(warning).toMatchObject({ namespace: "gitward-keys", newestKey: old.name, maxAgeDays: 30 });
    const metrics = await (await fetch(`${running.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^gitward_sealing_keys 1$/m);
    const stamp = Number(/^gitward_sealing_key_newest_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    expect(Math.abs(stamp - (old.createdAt?.getTime() ?? 0) / 1000)).toBeLessThan(1);
    // Warned once, not on every pass.
    expect(seen.filter((l) => l.includes("rotation overdue"))).toHaveLength(1);
  });
});
