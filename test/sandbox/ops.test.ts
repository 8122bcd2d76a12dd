// Operating the sandbox: state kept in --data-dir across a restart, fault injection (500, 429, 409,
// latency, dropped watches) set at start and at run time, and the readiness simulation turned off.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ClusterClient } from "../../src/cluster/client.js";
import { ClusterError, ClusterErrorCode } from "../../src/cluster/errors.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, kubectlFor, watch } from "./helpers.js";

const dirs: string[] = [];
const running: Sandbox[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function start(...args: Parameters<typeof startSandbox>): Promise<Sandbox> {
  const s = await startSandbox(...args);
  running.push(s);
  return s;
}

describe("persistence", () => {
  it("keeps objects, tokens and the certificate across a restart with the same data dir", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "gitward-sandbox-data-"));
    dirs.push(dataDir);
    const first = await start({ dataDir });
    await call(first, "POST", "/api/v1/namespaces", { body: { metadata: { name: "kept" } } });
    const created = (
      await call(first, "POST", "/api/v1/namespaces/kept/configmaps", {
        body: { metadata: { name: "c" }, data: { a: "1" } },
      })
    ).json;
    const bob = first.mintToken("bob");
    await call(first, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: {
        metadata: { name: "notes.example.net" },
        spec: {
          group: "example.net",
          scope: "Namespaced",
          names: { plural: "notes", singular: "note", kind: "Note" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              // A structural schema declares its fields: kube-apiserver prunes undeclared ones.
              schema: { openAPIV3Schema: { type: "object", properties: { text: { type: "string" } } } },
            },
          ],
        },
      },
    });
    const note = { apiVersion: "example.net/v1", kind: "Note", metadata: { name: "n" }, text: "hi" };
    expect(
      (await call(first, "POST", "/apis/example.net/v1/namespaces/kept/notes", { body: note })).status,
    ).toBe(201);
    await first.stop();
    expect((await stat(path.join(dataDir, "admin-token"))).mode & 0o077).toBe(0);

    const second = await start({ dataDir });
    expect(second.adminToken).toBe(first.adminToken);
    expect(second.caPem).toBe(first.caPem);
    const again = await call(second, "GET", "/api/v1/namespaces/kept/configmaps/c");
    expect(again.json).toEqual(created);
    expect((await call(second, "GET", "/api/v1/namespaces", { token: bob })).status).toBe(403);
    const noteAgain = await call(second, "GET", "/apis/example.net/v1/namespaces/kept/notes/n");
    expect([noteAgain.status, noteAgain.json["text"]]).toEqual([200, "hi"]);
    const next = (
      await call(second, "POST", "/api/v1/namespaces/kept/configmaps", { body: { metadata: { name: "d" } } })
    ).json;
    const rv = (o: Record<string, unknown>): number =>
      Number((o["metadata"] as { resourceVersion: string }).resourceVersion);
    expect(rv(next)).toBeGreaterThan(rv(created));
  });

  it("keeps nothing without a data dir", async () => {
    const a = await start();
    await call(a, "POST", "/api/v1/namespaces", { body: { metadata: { name: "gone" } } });
    await a.stop();
    const b = await start();
    expect((await call(b, "GET", "/api/v1/namespaces/gone")).status).toBe(404);
  });
});

describe("fault injection", () => {
  it("answers 500 and 429 at the configured rates, adds latency, and turns off again", async () => {
    const sb = await start({ faults: { errorRate: 1 } });
    const failed = await call(sb, "GET", "/api/v1/namespaces");
    expect([failed.status, failed.json["reason"]]).toEqual([500, "InternalError"]);
    sb.setFaults({ throttleRate: 1 });
    const throttled = await call(sb, "GET", "/api/v1/namespaces");
    expect([throttled.status, throttled.headers["retry-after"]]).toEqual([429, "1"]);
    sb.setFaults({ latencyMs: 150 });
    const t0 = performance.now();
    expect((await call(sb, "GET", "/api/v1/namespaces")).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    sb.setFaults({});
    expect((await call(sb, "GET", "/api/v1/namespaces")).status).toBe(200);
  });

  it("answers writes under a resourceVersion precondition 409 Conflict, and writes nothing", async () => {
    const sb = await start();
    const cms = "/api/v1/namespaces/default/configmaps";
    const created = (await call(sb, "POST", cms, { body: { metadata: { name: "c" }, data: { a: "1" } } }))
      .json;
    const rv = (created["metadata"] as { resourceVersion: string }).resourceVersion;
    sb.setFaults({ conflictRate: 1 });
    // What kube-apiserver answers a write that lost the race for the object.
    const conflict = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
      reason: "Conflict",
      details: { name: "c", group: "", kind: "configmaps" },
      code: 409,
    };
    const writes = [
      await call(sb, "PUT", `${cms}/c`, {
        body: { metadata: { name: "c", resourceVersion: rv }, data: { a: "2" } },
      }),
      await call(sb, "PATCH", `${cms}/c`, {
        body: { metadata: { resourceVersion: rv }, data: { a: "3" } },
        type: "application/merge-patch+json",
      }),
      await call(sb, "PATCH", `${cms}/c`, {
        body: [
          { op: "test", path: "/metadata/resourceVersion", value: rv },
          { op: "replace", path: "/data/a", value: "3" },
        ],
        type: "application/json-patch+json",
      }),
      await call(sb, "PATCH", `${cms}/c?fieldManager=me`, {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", resourceVersion: rv } },
        type: "application/apply-patch+yaml",
      }),
      await call(sb, "DELETE", `${cms}/c`, { body: { preconditions: { resourceVersion: rv } } }),
    ];
    for (const r of writes) expect([r.status, r.json]).toEqual([409, conflict]);

    const kubectl = await kubectlFor(sb);
    try {
      const manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", resourceVersion: rv } };
      const r = await kubectl.run(["replace", "-f", "-"], {
        input: JSON.stringify({ ...manifest, data: { a: "4" } }),
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `Error from server (Conflict): error when replacing "STDIN": ${conflict.message}`,
      );
    } finally {
      await kubectl.cleanup();
    }

    const client = ClusterClient.fromText(sb.kubeconfig);
    try {
      const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "c" };
      const live = await client.get(ref);
      if (live === undefined) throw new Error("the ConfigMap is gone");
      const refused = await client.replace({ ...live, data: { a: "5" } }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ClusterError);
      expect((refused as ClusterError).code).toBe(ClusterErrorCode.Conflict);
      expect((refused as ClusterError).message).toContain(conflict.message);
      // Nothing above was written: the object is as it was created.
      expect((await call(sb, "GET", `${cms}/c`)).json).toEqual(created);

      // modify reads again and applies its change to the fresh copy; the fault is lifted on the second try.
      let tries = 0;
      const modified = await client.modify(ref, (o) => {
        if (++tries === 2) sb.setFaults({ conflictRate: 0 });
        return { ...o, data: { a: String(tries) } };
      });
      expect([tries, modified["data"]]).toEqual([2, { a: "2" }]);

      // Writes without a resourceVersion precondition are never hit.
      sb.setFaults({ conflictRate: 1 });
      const plain = await call(sb, "PUT", `${cms}/c`, {
        body: { metadata: { name: "c" }, data: { a: "6" } },
      });
      expect(plain.status).toBe(200);
      const applied = await client.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c", namespace: "default" },
        data: { a: "7" },
      });
      expect(applied["data"]).toEqual({ a: "7" });
      const uid = (created["metadata"] as { uid: string }).uid;
      expect(await client.delete(ref, { uid })).toBe("deleted");
    } finally {
      client.close();
    }
  });

  it("drops watch connections on demand and after a set time", async () => {
    const sb = await start();
    const w = await watch(sb, "/api/v1/namespaces?watch=true");
    await w.until((e) => e.type === "ADDED");
    expect(sb.dropWatches()).toBe(1);
    await w.closed;
    sb.setFaults({ dropWatchesAfterMs: 100 });
    const t0 = performance.now();
    const w2 = await watch(sb, "/api/v1/namespaces?watch=true");
    await w2.closed;
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe("readiness simulation", () => {
  it("never reports workloads ready when told so", async () => {
    const sb = await start({ readiness: "never" });
    await call(sb, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      body: {
        metadata: { name: "stuck" },
        spec: {
          selector: { matchLabels: { app: "s" } },
          template: {
            metadata: { labels: { app: "s" } },
            spec: { containers: [{ name: "s", image: "s:1" }] },
          },
        },
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    const d = (await call(sb, "GET", "/apis/apps/v1/namespaces/default/deployments/stuck")).json;
    expect(d["status"]).toBeUndefined();
  });
});
