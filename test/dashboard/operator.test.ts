// The dashboard served by the operator (`gitward run --in-cluster --dashboard-addr`): it answers as the
// operator's own least-privilege account, so every request needs a bearer token that TokenReview accepts
// and a SubjectAccessReview allows; what the operator applied shows with its signer.
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observe/logger.js";
import { startOperator, type RunningOperator } from "../../src/reconcile/run-operator.js";
import { configMap, installCrds, startWorld, type World } from "../reconcile/harness.js";
import { until } from "../support/until.js";

let w: World;
let running: RunningOperator | undefined;

beforeAll(async () => {
  w = await startWorld();
  await installCrds(w.admin);
  await w.commit({ "apps/shop/a.yaml": configMap("a", { x: "1" }) });
});

afterAll(async () => {
  await running?.stop();
  await w.stop();
});

describe("gitward run --dashboard-addr", () => {
  it("serves the Applications of the cluster to a token allowed to get them, and 401/403 to others", async () => {
    const trust = w.trust();
    await w.admin.apply({ ...trust, metadata: { name: trust.metadata.name } });
    const app = w.app({ interval: "1h" });
    await w.admin.apply({ ...app, metadata: { ...app.metadata } });
    running = await startOperator({
      inCluster: true,
      kubeconfigText: w.sb.kubeconfigFor(w.sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
      listen: { host: "127.0.0.1", port: 0 },
      dashboard: { host: "127.0.0.1", port: 0 },
      cacheDir: path.join(w.dir, "cache"),
      auditPath: path.join(w.dir, "operator-audit.jsonl"),
      leaderElection: false,
      logger: createLogger({
        destination: new Writable({
          write(_c: Buffer, _e, done) {
            done();
          },
        }),
      }),
    });
    const url = running.dashboard?.url ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(url)).status).toBe(401);
    const nobody = w.sb.mintToken("nobody");
    expect((await fetch(url, { headers: { authorization: `Bearer ${nobody}` } })).status).toBe(403);
    await w.admin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "carol-views" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "gitward-operator" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "carol" }],
    });
    const carol = w.sb.mintToken("carol");
    const body = await until(
      "the applied revision on the overview",
      async () => {
        const res = await fetch(url, { headers: { authorization: `Bearer ${carol}` } });
        const text = await res.text();
        return res.status === 200 && text.includes("Synced") ? text : undefined;
      },
      20_000,
    );
    expect(body).toContain("gitward-system/shop");
    expect(body).toContain("platform");
    const audit = await fetch(`${url}audit`, { headers: { authorization: `Bearer ${carol}` } });
    expect(audit.status).toBe(200);
    expect(await audit.text()).toMatch(/chain intact|verified/);
  });
});
