// The operator against the sandbox over HTTP with RBAC on: drift made with kubectl (another field manager)
// is reported within a second with the fields and the manager, left alone under drift: alert and undone
// under drift: revert; a deleted object is recreated; alerts reach a real HTTP receiver with a valid HMAC;
// the interval pass catches drift no watch saw.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Application } from "../../src/config/types.js";
import type { KubeObject } from "../../src/cluster/client.js";
import { Notifier } from "../../src/notify/notifier.js";
import { OperatorMetrics } from "../../src/observe/metrics.js";
import { Operator, type LogFn } from "../../src/reconcile/operator.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { SealingKeyRing } from "../../src/secrets/keys.js";
import { verifyAuditLog } from "../../src/audit/verify.js";
import { kubectlFor, type Kubectl } from "../sandbox/helpers.js";
import { startReceiver, type Receiver } from "../notify/receiver.js";
import { configMap, deployment, startWorld, type World } from "./harness.js";
import { until } from "../support/until.js";

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown>;
  at: number;
}

let w: World;
let kubectl: Kubectl;
let receiver: Receiver;
const HMAC = "alert-hmac-secret-for-tests";

beforeAll(async () => {
  w = await startWorld();
  kubectl = await kubectlFor(w.sb);
  receiver = await startReceiver(HMAC);
  await w.commit({
    "apps/shop/web.yaml": deployment("web", 2),
    "apps/shop/settings.yaml": configMap("settings", { mode: "blue", size: "3" }),
    "apps/shop/extra.yaml": configMap("extra", { a: "1" }),
  });
});

afterAll(async () => {
  await receiver.close();
  await kubectl.cleanup();
  await w.stop();
});

function makeOperator(app: Application, lines: Line[], notifier?: Notifier) {
  const log: LogFn = (level, message, fields = {}) => {
    lines.push({ level, message, fields, at: performance.now() });
  };
  const metrics = new OperatorMetrics();
  const op = new Operator({
    cluster: w.operator,
    state: new ConfigMapStateStore(w.operator),
    cacheDir: path.join(w.dir, "cache"),
    workDir: w.dir,
    audit: w.audit,
    actor: { type: "operator", name: "system:serviceaccount:gitward-system:gitward" },
    ...(notifier === undefined ? {} : { notifier: () => notifier }),
    metrics,
    log,
    sealingKeys: () => Promise.resolve(new SealingKeyRing([])),
    credentials: () => Promise.resolve(undefined),
    env: { healthTimeoutMs: 10_000 },
  });
  op.setConfig([app], [w.trust()]);
  return { op, metrics };
}

const drift = (lines: Line[], action: string, name: string) =>
  lines.find(
    (l) =>
      l.fields["action"] === action && (l.fields["object"] as { name?: string } | undefined)?.name === name,
  );

/** A change by another field manager (kubectl-patch), as a person would make it. */
function patchSettings(patch: string) {
  return kubectl.run(["-n", "shop", "patch", "configmap", "settings", "-p", patch]);
}

async function live(kind: "ConfigMap" | "Deployment", name: string): Promise<KubeObject | undefined> {
  return w.admin.get({ apiVersion: kind === "ConfigMap" ? "v1" : "apps/v1", kind, namespace: "shop", name });
}

async function synced(op: Operator): Promise<void> {
  await until("the first reconcile", () => (op.synced ? true : undefined), 30_000);
  const r = op.snapshot()[0]?.lastReport;
  expect(r?.result === "applied" || r?.result === "unchanged", r?.message).toBe(true);
  // Let the watches open (list + watch per kind) before changing anything.
  await new Promise((r) => setTimeout(r, 300));
}

describe("drift: alert", () => {
  it("reports a kubectl change within 1 s with fields and manager, audits it, alerts, and leaves it", async () => {
    const lines: Line[] = [];
    const sink = new Notifier([
      { name: "test", type: "webhook", url: `${receiver.url}/alerts`, secret: HMAC },
    ]);
    const { op, metrics } = makeOperator(w.app({ interval: "1h", drift: "alert" }), lines, sink);
    op.start();
    try {
      await synced(op);
      const t0 = performance.now();
      const r = await patchSettings('{"data":{"mode":"red"}}');
      expect(r.code, r.stderr).toBe(0);
      const seen = await until("the drift report", () => drift(lines, "detected", "settings"), 5_000);
      expect(seen.at - t0).toBeLessThan(1_000);
      expect(seen.fields["fields"]).toEqual(["data.mode"]);
      expect(seen.fields["manager"]).toBe("kubectl-patch");
      // Alert mode: nothing puts it back.
      await new Promise((r) => setTimeout(r, 500));
      expect((await live("ConfigMap", "settings"))?.["data"]).toEqual({ mode: "red", size: "3" });
      expect(drift(lines, "reverted", "settings")).toBeUndefined();
      // The alert arrives signed, naming the field and never its value.
      const alert = await until("the alert", () =>
        receiver.requests.find((q) => q.headers["x-gitward-event"] === "drift-detected"),
      );
      expect(alert.hmacValid).toBe(true);
      const body = JSON.parse(alert.body) as {
        event: { fields: string[]; manager: string; auditRecord?: string };
      };
      expect(body.event.fields).toEqual(["data.mode"]);
      expect(body.event.manager).toBe("kubectl-patch");
      expect(alert.body).not.toContain("red");
      // And a Kubernetes Event in the same words, for `kubectl describe` and `kubectl get events`.
      const event = await until("the drift event", async () =>
        (await w.admin.list("v1", "Event", { namespace: "gitward-system" })).find(
          (e) => e["reason"] === "DriftDetected",
        ),
      );
      expect(event["type"]).toBe("Warning");
      expect(String(event["message"])).toMatch(
        /^revision [0-9a-f]{12}: drift detected: ConfigMap shop\/settings by kubectl-patch \(data\.mode\)/,
      );
      expect(String(event["message"])).not.toContain("red");
      // The audit log has a hash-chained drift record for it.
      const record = await until("the audit record", async () =>
        (await readFile(w.auditPath, "utf8"))
          .split("\n")
          .filter((l) => l !== "")
          .map(
            (l) =>
              JSON.parse(l) as {
                result: string;
                id: string;
                drift?: { fields: string[]; manager: string }[];
              },
          )
          .find((rec) => rec.result === "drift-detected"),
      );
      expect(record.drift?.[0]).toMatchObject({ fields: ["data.mode"], manager: "kubectl-patch" });
      expect(body.event.auditRecord).toBe(record.id);
      expect((await verifyAuditLog(w.auditPath)).ok).toBe(true);
      expect(await metrics.text()).toMatch(
        /gitward_drift_events_total\{application="gitward-system\/shop",action="detected"\} 1/,
      );
      // The same drift seen again by the interval pass is not reported twice.
      op.trigger({ namespace: "gitward-system", name: "shop" }, "test");
      await until("a second reconcile", () => ((op.snapshot()[0]?.reconciles ?? 0) >= 2 ? true : undefined));
      expect(
        lines.filter(
          (l) =>
            l.fields["action"] === "detected" && (l.fields["object"] as { name: string }).name === "settings",
        ),
      ).toHaveLength(1);
      expect((await live("ConfigMap", "settings"))?.["data"]).toEqual({ mode: "red", size: "3" });
    } finally {
      await op.stop();
    }
  });
});

describe("drift: revert", () => {
  it("undoes a kubectl change at once and recreates a deleted object", async () => {
    const lines: Line[] = [];
    const { op } = makeOperator(w.app({ interval: "1h", drift: "revert" }), lines);
    op.start();
    try {
      await synced(op);
      // The alert test left settings drifted; the first reconcile under revert put it back.
      expect((await live("ConfigMap", "settings"))?.["data"]).toEqual({ mode: "blue", size: "3" });

      const t0 = performance.now();
      const r = await kubectl.run(["-n", "shop", "scale", "deployment", "web", "--replicas=5"]);
      expect(r.code, r.stderr).toBe(0);
      const seen = await until("the drift report", () => drift(lines, "detected", "web"), 5_000);
      expect(seen.at - t0).toBeLessThan(1_000);
      expect(seen.fields["fields"]).toEqual(["spec.replicas"]);
      expect(String(seen.fields["manager"])).toMatch(/^kubectl/);
      await until(
        "the revert",
        async () => {
          const d = await live("Deployment", "web");
          return (d?.["spec"] as { replicas?: number } | undefined)?.replicas === 2 ? true : undefined;
        },
        3_000,
      );
      await until("the revert report", () => drift(lines, "reverted", "web"));
      const reverted = await until("the revert event", async () =>
        (await w.admin.list("v1", "Event", { namespace: "gitward-system" })).find(
          (e) => e["reason"] === "DriftReverted" && String(e["message"]).includes("Deployment shop/web"),
        ),
      );
      expect(reverted["type"]).toBe("Normal");

      const before = (await live("ConfigMap", "extra"))?.metadata.uid;
      const del = await kubectl.run(["-n", "shop", "delete", "configmap", "extra"]);
      expect(del.code, del.stderr).toBe(0);
      const gone = await until("the deletion report", () => drift(lines, "detected", "extra"), 5_000);
      expect(gone.fields["manager"]).toBe("deleted");
      const back = await until(
        "the recreation",
        async () => {
          const c = await live("ConfigMap", "extra");
          return c !== undefined && c.metadata.uid !== before ? c : undefined;
        },
        3_000,
      );
      expect(back["data"]).toEqual({ a: "1" });
      // The inventory follows the new uid (saved right after the re-apply), so a later prune still owns it.
      const store = new ConfigMapStateStore(w.admin);
      await until(
        "the inventory to follow the new uid",
        async () => {
          const state = await store.load({ namespace: "gitward-system", name: "shop" });
          const uid = state?.inventory.find((e) => e.kind === "ConfigMap" && e.name === "extra")?.uid;
          return uid === back.metadata.uid ? true : undefined;
        },
        3_000,
      );
    } finally {
      await op.stop();
    }
  });

  it("catches drift on the interval pass when no watch saw it (operator stopped meanwhile)", async () => {
    const patched = await patchSettings('{"data":{"size":"9"}}');
    expect(patched.code, patched.stderr).toBe(0);
    const lines: Line[] = [];
    const { op } = makeOperator(w.app({ interval: "1h", drift: "revert" }), lines);
    op.start();
    try {
      await synced(op);
      const rep = op.snapshot()[0]?.lastReport;
      expect(rep?.drift.map((d) => d.object.name)).toEqual(["settings"]);
      expect(rep?.driftReverted).toBe(true);
      expect(drift(lines, "reverted", "settings")).toBeDefined();
      expect((await live("ConfigMap", "settings"))?.["data"]).toEqual({ mode: "blue", size: "3" });
    } finally {
      await op.stop();
    }
  });
});

describe("interval timers", () => {
  it("an interval past Node's timer ceiling (720h) does not reconcile again and again", async () => {
    // Validation refuses 720h (at most 24h); the operator holds an object that skipped it to the bound and
    // waits in timer steps Node honours. Before, the timer overflowed and fired every millisecond.
    const lines: Line[] = [];
    const { op } = makeOperator(w.app({ interval: "720h", drift: "alert" }), lines);
    op.start();
    try {
      await synced(op);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(op.snapshot()[0]?.reconciles).toBe(1);
    } finally {
      await op.stop();
    }
  });
});
