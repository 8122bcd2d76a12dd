// `gitward run --in-cluster`'s configuration against the sandbox API server with gitward's CRDs installed
// and gitward's own least-privilege identity from deploy/install: the first lists, creates, changes and
// deletes seen without a restart, invalid objects left out with a reason, dropped watches, and the
// CrdStateStore keeping status in the Application and a large inventory in a ConfigMap beside it.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import type { ConfigSet } from "../../src/config/load.js";
import { API_VERSION, type ApplicationStatus, type Condition } from "../../src/config/types.js";
import {
  ConfigReason,
  CrdStateStore,
  inventoryName,
  watchClusterConfig,
  type ClusterConfigOptions,
  type ClusterConfigWatch,
} from "../../src/reconcile/cluster-config.js";
import type { InventoryEntry } from "../../src/reconcile/inventory.js";
import { STATE_LABEL } from "../../src/reconcile/state.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { repoRoot } from "../support/tools.js";
import { installCrds, readYamlObjects } from "./harness.js";

const NS = "gitward-system";
const URL = "https://git.example.com/ops/config.git";

let sb: Sandbox;
let admin: ClusterClient;
/** gitward's own identity: the gitward service account of deploy/install/operator.yaml. */
let gitward: ClusterClient;
const watches: ClusterConfigWatch[] = [];

beforeAll(async () => {
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  await installCrds(admin);
  for (const o of await readYamlObjects(path.join(repoRoot, "deploy", "install", "operator.yaml"))) {
    await admin.apply(o);
  }
  gitward = ClusterClient.fromText(sb.kubeconfigFor(sb.serviceAccountToken(NS, "gitward"), "gitward"));
  await admin.apply(trustPolicy("production"));
  await admin.apply(application("shop"));
});

afterAll(async () => {
  await Promise.all(watches.map((w) => w.stop()));
  gitward.close();
  admin.close();
  await sb.stop();
});

function trustPolicy(name: string): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: "TrustPolicy",
    metadata: { name },
    spec: {
      commits: {
        signers: [{ name: "platform", ssh: ["ssh-ed25519 AAAA platform@example.com"], paths: ["**"] }],
      },
    },
  };
}

function application(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: "Application",
    metadata: { name, namespace: NS },
    spec: {
      source: { url: URL, ref: { branch: "main" }, path: `apps/${name}` },
      render: { type: "directory" },
      destination: { namespace: "shop", serviceAccountName: "shop-deployer" },
      trustPolicy: "production",
      interval: "1m",
      ...spec,
    },
  };
}

function appRef(name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: API_VERSION, kind: "Application", namespace: NS, name };
}

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A watch whose onChange records every set (after `delayMs`) and how many calls ran at once. */
async function startWatch(delayMs = 0): Promise<{
  watch: ClusterConfigWatch;
  configs: ConfigSet[];
  logs: LogLine[];
  started: { calls: number; running: number; maxRunning: number };
  latest(): ConfigSet;
}> {
  const configs: ConfigSet[] = [];
  const logs: LogLine[] = [];
  const started = { calls: 0, running: 0, maxRunning: 0 };
  const opts: ClusterConfigOptions = {
    log: (level, message, fields) => {
      logs.push({ level, message, fields: fields ?? {} });
    },
    onChange: async (config) => {
      started.calls++;
      started.running++;
      started.maxRunning = Math.max(started.maxRunning, started.running);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      configs.push(config);
      started.running--;
    },
  };
  const watch = await watchClusterConfig(gitward, opts);
  watches.push(watch);
  return {
    watch,
    configs,
    logs,
    started,
    latest() {
      const last = configs.at(-1);
      if (last === undefined) throw new Error("no configuration delivered yet");
      return last;
    },
  };
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function appNames(config: ConfigSet): string[] {
  return config.applications.map((a) => a.metadata.name);
}

async function readyOf(name: string): Promise<Condition | undefined> {
  const app = await admin.get(appRef(name));
  const status = app?.["status"] as ApplicationStatus | undefined;
  return status?.conditions?.find((c) => c.type === "Ready");
}

describe("watchClusterConfig", () => {
  it("resolves only after the first onChange completed, with the objects as validated configuration", async () => {
    const w = await startWatch(300);
    expect(w.configs).toHaveLength(1);
    expect(w.started.calls).toBe(1);
    const first = w.latest();
    expect(first.trustPolicies.map((t) => t.metadata.name)).toContain("production");
    const shop = first.applications.find((a) => a.metadata.name === "shop");
    // Server fields are gone and the schema defaults are filled in, as for gitward.yaml.
    expect(shop?.metadata).toEqual({ name: "shop", namespace: NS });
    expect(shop?.spec.drift).toBe("alert");
    expect(shop).not.toHaveProperty("status");
    await w.watch.stop();
  });

  it("follows a create, a change and a delete of an Application without a restart", async () => {
    const w = await startWatch();
    expect(appNames(w.latest())).not.toContain("web");

    await admin.apply(application("web"));
    await waitFor("web to appear", () => appNames(w.latest()).includes("web"));

    await admin.apply(application("web", { interval: "5m" }));
    await waitFor("web's new interval", () =>
      w.latest().applications.some((a) => a.metadata.name === "web" && a.spec.interval === "5m"),
    );

    await admin.delete(appRef("web"));
    await waitFor("web to go", () => !appNames(w.latest()).includes("web"));
    expect(w.started.maxRunning).toBe(1);
    await w.watch.stop();
  });

  it("turns a burst of events into few calls that never overlap", async () => {
    const w = await startWatch(150);
    const names = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
    const before = w.started.calls;
    await Promise.all(names.map((n) => admin.apply(application(n))));
    await waitFor("the burst", () => names.every((n) => appNames(w.latest()).includes(n)));
    await sleep(300);
    expect(w.started.calls - before).toBeLessThanOrEqual(3);
    await Promise.all(names.map((n) => admin.delete(appRef(n))));
    await waitFor("the burst to go", () => !names.some((n) => appNames(w.latest()).includes(n)));
    expect(w.started.maxRunning).toBe(1);
    await w.watch.stop();
  });

  it("does not call onChange for a status write, which changes no configuration", async () => {
    const w = await startWatch();
    const calls = w.started.calls;
    await gitward.mergePatch(appRef("shop"), { status: { objectsApplied: 7 } }, { subresource: "status" });
    await sleep(500);
    expect(w.started.calls).toBe(calls);
    await w.watch.stop();
  });

  it("leaves out an invalid Application, logs why without its content, and marks it InvalidSpec", async () => {
    // 500ms passes the CRD's duration pattern but not gitward's rule (at least 1s).
    await admin.apply(application("broken", { interval: "500ms" }));
    const w = await startWatch();
    expect(appNames(w.latest())).not.toContain("broken");
    expect(appNames(w.latest())).toContain("shop");
    const warn = w.logs.find((l) => l.level === "warn" && l.fields["name"] === "broken");
    expect(warn?.fields).toMatchObject({
      kind: "Application",
      namespace: NS,
      name: "broken",
      reason: "InvalidSpec",
    });
    expect(warn?.fields["problem"]).toContain("spec.interval");
    expect(JSON.stringify(warn)).not.toContain(URL);

    await waitFor(
      "the InvalidSpec condition",
      async () => (await readyOf("broken"))?.reason === "InvalidSpec",
    );
    const ready = await readyOf("broken");
    expect(ready).toMatchObject({ status: "False", reason: ConfigReason.InvalidSpec });
    expect(ready?.message).toContain("interval 500ms is too short");
    // Writing the condition is an event too: it must not be logged again (or loop).
    await sleep(300);
    expect(w.logs.filter((l) => l.fields["name"] === "broken")).toHaveLength(1);

    // Fixed: taken in, and the refusal taken back until a reconcile says more.
    await admin.apply(application("broken", { interval: "2m" }));
    await waitFor("broken to be taken in", () => appNames(w.latest()).includes("broken"));
    await waitFor(
      "the refusal to be taken back",
      async () => (await readyOf("broken"))?.reason === "SpecAccepted",
    );
    expect(await readyOf("broken")).toMatchObject({ status: "Unknown" });
    expect(w.logs.some((l) => l.level === "info" && l.fields["name"] === "broken")).toBe(true);

    // Invalid again while watched.
    await admin.apply(application("broken", { interval: "100ms" }));
    await waitFor("broken to be left out", () => !appNames(w.latest()).includes("broken"));
    await waitFor(
      "InvalidSpec again",
      async () => (await readyOf("broken"))?.message.includes("100ms") === true,
    );
    await admin.delete(appRef("broken"));
    await w.watch.stop();
  });

  it("picks up a TrustPolicy and an AlertSink, and holds back an Application until its TrustPolicy exists", async () => {
    const w = await startWatch();
    await admin.apply(application("nightly-app", { trustPolicy: "nightly" }));
    await waitFor("the warning about the missing TrustPolicy", () =>
      w.logs.some((l) => l.fields["name"] === "nightly-app" && l.fields["reason"] === "TrustPolicyNotFound"),
    );
    expect(appNames(w.latest())).not.toContain("nightly-app");
    await waitFor(
      "the TrustPolicyNotFound condition",
      async () => (await readyOf("nightly-app"))?.reason === ConfigReason.TrustPolicyNotFound,
    );

    await admin.apply(trustPolicy("nightly"));
    await admin.apply({
      apiVersion: API_VERSION,
      kind: "AlertSink",
      metadata: { name: "ops", namespace: NS },
      spec: { type: "webhook", url: { env: "OPS_WEBHOOK_URL" }, minSeverity: "warning" },
    });
    await waitFor("the TrustPolicy, the AlertSink and the Application they unblock", () => {
      const c = w.latest();
      return (
        c.trustPolicies.some((t) => t.metadata.name === "nightly") &&
        c.alertSinks.some((s) => s.metadata.name === "ops") &&
        appNames(c).includes("nightly-app")
      );
    });
    const sink = w.latest().alertSinks.find((s) => s.metadata.name === "ops");
    expect(sink?.spec).toMatchObject({
      type: "webhook",
      url: { env: "OPS_WEBHOOK_URL" },
      minSeverity: "warning",
    });

    await admin.delete({ apiVersion: API_VERSION, kind: "TrustPolicy", name: "nightly" });
    await waitFor(
      "the Application to be held back again",
      () => !appNames(w.latest()).includes("nightly-app"),
    );
    await admin.delete(appRef("nightly-app"));
    await w.watch.stop();
  });

  it("survives dropped watch connections and a failing API server, and still sees later changes", async () => {
    const w = await startWatch();
    await sleep(200);
    expect(sb.dropWatches()).toBeGreaterThanOrEqual(3);
    await admin.apply(application("after-drop"));
    await waitFor("a change after the drop", () => appNames(w.latest()).includes("after-drop"));

    // Every request fails for a while: the watches end, relists fail and back off, then recover.
    sb.setFaults({ errorRate: 1 });
    sb.dropWatches();
    await sleep(600);
    sb.setFaults({});
    await admin.delete(appRef("after-drop"));
    await waitFor("a change after the outage", () => !appNames(w.latest()).includes("after-drop"), 40_000);
    expect(w.logs.some((l) => l.level === "warn" && l.message.includes("watch of"))).toBe(true);
    expect(w.started.maxRunning).toBe(1);
    await w.watch.stop();
  });

  it("stops: the watches end and no onChange follows", async () => {
    const w = await startWatch();
    await w.watch.stop();
    await w.watch.stop();
    const calls = w.started.calls;
    await admin.apply(application("after-stop"));
    await sleep(400);
    expect(w.started.calls).toBe(calls);
    await admin.delete(appRef("after-stop"));
  });
});

describe("watchClusterConfig after 410 Gone", () => {
  it("lists again when the watch's resourceVersion is no longer kept, and goes on", async () => {
    // Three events of history and no bookmarks: a watch that resumes after ten other writes is too old.
    const small = await startSandbox({ watchHistory: 3, bookmarkIntervalMs: 600_000 });
    const client = ClusterClient.fromText(small.kubeconfig);
    try {
      await installCrds(client);
      await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      await client.apply(trustPolicy("production"));
      const lists = vi.spyOn(client, "listWithVersion");
      const configs: ConfigSet[] = [];
      const watch = await watchClusterConfig(client, {
        log: () => undefined,
        onChange: (config) => {
          configs.push(config);
          return Promise.resolve();
        },
      });
      try {
        for (let i = 0; i < 10; i++) {
          await client.apply({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `noise-${i}`, namespace: NS },
            data: { i: String(i) },
          });
        }
        expect(small.dropWatches()).toBe(3);
        // Each of the three watches got 410 Gone and listed again.
        await waitFor("the relists", () => lists.mock.calls.length >= 6);
        await client.apply(application("after-gone"));
        await waitFor("a change after the relist", () =>
          appNames(configs.at(-1) ?? configs[0]!).includes("after-gone"),
        );
      } finally {
        await watch.stop();
      }
    } finally {
      client.close();
      await small.stop();
    }
  });
});

describe("CrdStateStore", () => {
  const inventory: InventoryEntry[] = Array.from({ length: 3000 }, (_, i) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "shop",
    name: `settings-${i}`,
    uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    hash: "f".repeat(64),
  }));
  const status: ApplicationStatus = {
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Applied",
        message: "revision applied",
        lastTransitionTime: "2025-01-02T03:04:05Z",
      },
    ],
    lastAttemptedRevision: "a".repeat(40),
    lastAppliedRevision: "a".repeat(40),
    lastAppliedSigner: "platform",
    objectsApplied: 3000,
  };

  it("keeps the status in the Application and a 3,000-entry inventory in a ConfigMap beside it", async () => {
    await admin.apply(application("stateful"));
    const store = new CrdStateStore(gitward, NS);
    const id = { namespace: NS, name: "stateful" };
    expect(await store.load(id)).toBeUndefined();

    await store.save(id, { status, inventory });
    expect(await store.load(id)).toEqual({ status, inventory });

    // What `kubectl get application stateful -o yaml` shows: the status, without the inventory.
    const live = await admin.get(appRef("stateful"));
    expect(live?.["status"]).toEqual(status);
    expect(live?.["spec"]).toEqual(application("stateful")["spec"]);
    const cm = await admin.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: NS,
      name: inventoryName(id),
    });
    expect(cm?.metadata.name).toBe("gitward-inventory-stateful");
    expect(cm?.metadata.labels?.[STATE_LABEL]).toBe("true");
    expect(cm?.metadata["ownerReferences"]).toMatchObject([{ kind: "Application", uid: live?.metadata.uid }]);

    // A field the new status lacks is gone, as with a whole replacement.
    const { lastAppliedSigner: _dropped, ...next } = status;
    await store.save(id, { status: { ...next, objectsApplied: 2 }, inventory: inventory.slice(0, 2) });
    expect(await store.load(id)).toEqual({
      status: { ...next, objectsApplied: 2 },
      inventory: inventory.slice(0, 2),
    });
    expect(store.eventTarget(id)).toEqual(appRef("stateful"));

    // Deleting the Application takes its inventory with it (the ConfigMap is owned by it).
    await admin.delete(appRef("stateful"));
    expect(await store.load(id)).toBeUndefined();
    await waitFor("the inventory ConfigMap to be collected", async () => {
      const left = await admin.get({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: NS,
        name: inventoryName(id),
      });
      return left === undefined;
    });
  });

  it("loads nothing and saves nothing for an Application that does not exist", async () => {
    const store = new CrdStateStore(gitward, NS);
    const id = { namespace: NS, name: "never-made" };
    expect(await store.load(id)).toBeUndefined();
    await expect(store.save(id, { status, inventory })).resolves.toBeUndefined();
    expect(
      await admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: NS, name: inventoryName(id) }),
    ).toBeUndefined();
  });

  it("names the inventory ConfigMap within the name limit, uniquely", () => {
    const long = (c: string) => ({ namespace: NS, name: "a".repeat(240) + c });
    expect(inventoryName(long("x")).length).toBeLessThanOrEqual(253);
    expect(inventoryName(long("x"))).not.toBe(inventoryName(long("y")));
  });
});
