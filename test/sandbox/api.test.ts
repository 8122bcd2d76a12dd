// API semantics of the sandbox over HTTP: Status errors (and nothing stored on failure), dry-run,
// optimistic concurrency, generation and the status subresource, patches, server-side apply of
// associative lists, selectors and pagination, watches, finalizers, garbage collection, namespaces, CRDs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { call, watch } from "./helpers.js";

let sb: Sandbox;
const cm = (ns: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  ...extra,
});
const items = async (path: string): Promise<Record<string, unknown>[]> =>
  (await call(sb, "GET", path)).json["items"] as Record<string, unknown>[];
const meta = (o: Record<string, unknown>): Record<string, unknown> =>
  o["metadata"] as Record<string, unknown>;

async function namespace(name: string): Promise<void> {
  const r = await call(sb, "POST", "/api/v1/namespaces", { body: { metadata: { name } } });
  expect(r.status).toBe(201);
}

beforeAll(async () => {
  sb = await startSandbox({ readiness: { delayMs: 50 }, watchHistory: 200 });
  for (const ns of ["err", "dry", "occ", "ssa", "sel", "fin", "gc"]) await namespace(ns);
});

afterAll(async () => {
  await sb.stop();
});

describe("Status errors", () => {
  const path = "/api/v1/namespaces/err/configmaps";

  it("answers 400 to bad JSON and bad YAML, and stores nothing", async () => {
    const json = await call(sb, "POST", path, { raw: '{"metadata": {"name": "x"', type: "application/json" });
    expect([json.status, json.json["kind"], json.json["reason"]]).toEqual([400, "Status", "BadRequest"]);
    const yaml = await call(sb, "POST", path, { raw: "metadata:\n  name: [x\n", type: "application/yaml" });
    expect([yaml.status, yaml.json["reason"]]).toEqual([400, "BadRequest"]);
    const dup = await call(sb, "POST", path, {
      raw: "metadata:\n  name: a\n  name: b\n",
      type: "application/yaml",
    });
    expect(dup.status).toBe(400);
    expect(await items(path)).toEqual([]);
  });

  it("accepts a valid YAML body", async () => {
    const ok = await call(sb, "POST", path, {
      raw: "metadata:\n  name: from-yaml\ndata:\n  a: b\n",
      type: "application/yaml",
    });
    expect(ok.status).toBe(201);
    await call(sb, "DELETE", `${path}/from-yaml`);
  });

  it("answers 404 to an unknown resource and to a missing object or namespace", async () => {
    const unknown = await call(sb, "GET", "/api/v1/namespaces/err/widgets");
    expect([unknown.status, unknown.json["reason"]]).toEqual([404, "NotFound"]);
    const missing = await call(sb, "GET", `${path}/nope`);
    expect([missing.status, missing.json["message"]]).toEqual([404, 'configmaps "nope" not found']);
    const noNs = await call(sb, "POST", "/api/v1/namespaces/ghost/configmaps", { body: cm("ghost", "a") });
    expect([noNs.status, noNs.json["message"]]).toEqual([404, 'namespaces "ghost" not found']);
  });

  it("answers 413 to a body over 3 MiB and stores nothing", async () => {
    const big = cm("err", "big", { data: { blob: "x".repeat(3 * 1024 * 1024 + 10) } });
    const r = await call(sb, "POST", path, { body: big });
    expect([r.status, r.json["reason"]]).toEqual([413, "RequestEntityTooLarge"]);
    expect((await call(sb, "GET", `${path}/big`)).status).toBe(404);
  });

  it("answers 422 with field causes to an invalid object and stores nothing", async () => {
    const r = await call(sb, "POST", path, { body: cm("err", "Bad_Name") });
    expect([r.status, r.json["reason"]]).toEqual([422, "Invalid"]);
    const details = r.json["details"] as { causes: { field: string }[] };
    expect(details.causes.map((c) => c.field)).toEqual(["metadata.name"]);
    const deploy = await call(sb, "POST", "/apis/apps/v1/namespaces/err/deployments", {
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "web", image: "nginx" }] },
          },
        },
      },
    });
    expect(deploy.status).toBe(422);
    expect(String(deploy.json["message"])).toContain("selector");
    expect(await items(path)).toEqual([]);
    expect(await items("/apis/apps/v1/namespaces/err/deployments")).toEqual([]);
  });

  it("answers 409 AlreadyExists to a second create of one name", async () => {
    expect((await call(sb, "POST", path, { body: cm("err", "twice") })).status).toBe(201);
    const again = await call(sb, "POST", path, { body: cm("err", "twice", { data: { changed: "yes" } }) });
    expect([again.status, again.json["reason"]]).toEqual([409, "AlreadyExists"]);
    expect((await call(sb, "GET", `${path}/twice`)).json["data"]).toBeUndefined();
  });

  it("answers 401 without a token or with an unknown one", async () => {
    expect((await call(sb, "GET", "/api/v1/namespaces", { token: null })).status).toBe(401);
    expect((await call(sb, "GET", "/api/v1/namespaces", { token: "gws_not-a-token" })).status).toBe(401);
    expect((await call(sb, "GET", "/healthz", { token: null })).status).toBe(200);
  });
});

describe("dryRun=All", () => {
  const path = "/api/v1/namespaces/dry/configmaps";

  it("answers every write as if done and stores nothing", async () => {
    const created = await call(sb, "POST", `${path}?dryRun=All`, {
      body: cm("dry", "a", { data: { k: "v" } }),
    });
    expect(created.status).toBe(201);
    expect((created.json["data"] as Record<string, string>)["k"]).toBe("v");
    expect((await call(sb, "GET", `${path}/a`)).status).toBe(404);

    const applied = await call(sb, "PATCH", `${path}/b?dryRun=All&fieldManager=t`, {
      body: cm("dry", "b", { data: { k: "v" } }),
      type: "application/apply-patch+yaml",
    });
    expect(applied.status).toBe(201);
    expect((await call(sb, "GET", `${path}/b`)).status).toBe(404);

    await call(sb, "POST", path, { body: cm("dry", "real", { data: { k: "v" } }) });
    const before = (await call(sb, "GET", `${path}/real`)).json;
    const patched = await call(sb, "PATCH", `${path}/real?dryRun=All`, {
      body: { data: { k: "changed" } },
      type: "application/merge-patch+json",
    });
    expect((patched.json["data"] as Record<string, string>)["k"]).toBe("changed");
    const put = await call(sb, "PUT", `${path}/real?dryRun=All`, { body: { ...before, data: { k: "put" } } });
    expect(put.status).toBe(200);
    const deleted = await call(sb, "DELETE", `${path}/real?dryRun=All`);
    expect(deleted.status).toBe(200);
    expect((await call(sb, "GET", `${path}/real`)).json).toEqual(before);
  });
});

describe("optimistic concurrency, generation and the status subresource", () => {
  const path = "/apis/apps/v1/namespaces/occ/deployments";
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "occ" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx:1" }] },
      },
    },
  };

  it("refuses an update with a stale resourceVersion (409) and keeps the newer value", async () => {
    const created = (await call(sb, "POST", path, { body: deployment })).json;
    expect(meta(created)["generation"]).toBe(1);
    const stale = structuredClone(created);
    const first = await call(sb, "PUT", `${path}/web`, {
      body: { ...created, spec: { ...(created["spec"] as object), replicas: 3 } },
    });
    expect(first.status).toBe(200);
    expect(meta(first.json)["generation"]).toBe(2);
    const second = await call(sb, "PUT", `${path}/web`, {
      body: { ...stale, spec: { ...(stale["spec"] as object), replicas: 5 } },
    });
    expect([second.status, second.json["reason"]]).toEqual([409, "Conflict"]);
    expect(String(second.json["message"])).toContain("the object has been modified");
    const now = (await call(sb, "GET", `${path}/web`)).json;
    expect((now["spec"] as { replicas: number }).replicas).toBe(3);
  });

  it("bumps generation for spec changes only; status changes go through /status", async () => {
    const labelled = await call(sb, "PATCH", `${path}/web`, {
      body: { metadata: { labels: { tier: "front" } }, status: { replicas: 99 } },
      type: "application/merge-patch+json",
    });
    expect(meta(labelled.json)["generation"]).toBe(2);
    // The main resource ignores status.
    expect((labelled.json["status"] as { replicas?: number } | undefined)?.replicas).not.toBe(99);
    const status = await call(sb, "PATCH", `${path}/web/status`, {
      body: { status: { observedGeneration: 2, replicas: 7 } },
      type: "application/merge-patch+json",
    });
    expect(status.status).toBe(200);
    expect((status.json["status"] as { replicas: number }).replicas).toBe(7);
    expect(meta(status.json)["generation"]).toBe(2);
  });

  it("applies JSON patches and strategic merge patches (containers merged by name, $patch: delete)", async () => {
    const json = await call(sb, "PATCH", `${path}/web`, {
      body: [{ op: "add", path: "/metadata/annotations", value: { note: "x" } }],
      type: "application/json-patch+json",
    });
    expect(meta(json.json)["annotations"]).toEqual({ note: "x" });
    const failed = await call(sb, "PATCH", `${path}/web`, {
      body: [{ op: "test", path: "/spec/replicas", value: 42 }],
      type: "application/json-patch+json",
    });
    expect(failed.status).toBe(422);
    const smp = await call(sb, "PATCH", `${path}/web`, {
      body: { spec: { template: { spec: { containers: [{ name: "sidecar", image: "envoy:1" }] } } } },
      type: "application/strategic-merge-patch+json",
    });
    const names = (o: Record<string, unknown>): string[] =>
      (o["spec"] as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map(
        (c) => c.name,
      );
    expect(names(smp.json)).toEqual(["web", "sidecar"]);
    const removed = await call(sb, "PATCH", `${path}/web`, {
      body: { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } },
      type: "application/strategic-merge-patch+json",
    });
    expect(names(removed.json)).toEqual(["web"]);
  });
});

describe("server-side apply of associative lists", () => {
  const path = "/apis/apps/v1/namespaces/ssa/deployments/web";
  const apply = (manager: string, body: unknown, force = false) =>
    call(sb, "PATCH", `${path}?fieldManager=${manager}${force ? "&force=true" : ""}`, {
      body,
      type: "application/apply-patch+yaml",
    });
  const base = (containers: unknown[]) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
    },
  });
  type C = {
    name: string;
    image?: string;
    env?: { name: string; value: string }[];
    ports?: { containerPort: number }[];
  };
  const containers = (o: Record<string, unknown>): C[] =>
    (o["spec"] as { template: { spec: { containers: C[] } } }).template.spec.containers;

  it("merges containers by name and env by name across managers, and removes what a manager drops", async () => {
    const a = await apply(
      "team-a",
      base([
        { name: "web", image: "web:1", env: [{ name: "A", value: "1" }], ports: [{ containerPort: 80 }] },
      ]),
    );
    expect(a.status).toBe(201);
    const b = await apply("team-b", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "web", env: [{ name: "B", value: "2" }], ports: [{ containerPort: 9090 }] },
              { name: "proxy", image: "envoy:1" },
            ],
          },
        },
      },
    });
    expect(b.status).toBe(200);
    const merged = containers(b.json);
    expect(merged.map((c) => c.name)).toEqual(["web", "proxy"]);
    expect(merged[0]?.env?.map((e) => e.name)).toEqual(["A", "B"]);
    expect(merged[0]?.ports?.map((p) => p.containerPort)).toEqual([80, 9090]);

    // team-a no longer applies env A: it goes; team-b's env B and port stay.
    const again = await apply(
      "team-a",
      base([{ name: "web", image: "web:1", ports: [{ containerPort: 80 }] }]),
    );
    const web = containers(again.json)[0];
    expect(web?.env).toEqual([{ name: "B", value: "2" }]);
    expect(web?.ports?.map((p) => p.containerPort)).toEqual([80, 9090]);
    const managers = (meta(again.json)["managedFields"] as { manager: string }[]).map((m) => m.manager);
    expect(managers).toEqual(["team-a", "team-b"]);
  });

  it("names the other manager's field in a 409 and lets force take it", async () => {
    const conflict = await apply("team-b", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { template: { spec: { containers: [{ name: "web", image: "web:2" }] } } },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.json["message"]).toBe(
      'Apply failed with 1 conflict: conflict with "team-a" using apps/v1: .spec.template.spec.containers[name="web"].image',
    );
    const causes = (conflict.json["details"] as { causes: { type: string; field: string }[] }).causes;
    expect(causes).toEqual([
      expect.objectContaining({
        type: "FieldManagerConflict",
        field: '.spec.template.spec.containers[name="web"].image',
      }),
    ]);
    const forced = await apply(
      "team-b",
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "web",
                  image: "web:2",
                  env: [{ name: "B", value: "2" }],
                  ports: [{ containerPort: 9090 }],
                },
                { name: "proxy", image: "envoy:1" },
              ],
            },
          },
        },
      },
      true,
    );
    expect(forced.status).toBe(200);
    expect(containers(forced.json)[0]?.image).toBe("web:2");
  });

  it("requires a fieldManager for apply", async () => {
    const r = await call(sb, "PATCH", path, { body: base([]), type: "application/apply-patch+yaml" });
    expect(r.status).toBe(422);
  });
});

describe("selectors, pagination and watches", () => {
  const path = "/api/v1/namespaces/sel/configmaps";

  it("filters by label and field selectors and pages with limit/continue", async () => {
    const tiers = ["a", "b", "c", "a", "b"];
    for (const [i, tier] of tiers.entries()) {
      const labels: Record<string, string> = { tier };
      if (i === 3) labels["legacy"] = "true";
      await call(sb, "POST", path, { body: cm("sel", `cm-${i}`, { metadata: { name: `cm-${i}`, labels } }) });
    }
    const names = (list: Record<string, unknown>[]): unknown[] => list.map((o) => meta(o)["name"]);
    expect(
      names(await items(`${path}?labelSelector=${encodeURIComponent("tier in (a,b),!legacy")}`)),
    ).toEqual(["cm-0", "cm-1", "cm-4"]);
    expect(names(await items(`${path}?fieldSelector=metadata.name%3Dcm-2`))).toEqual(["cm-2"]);
    expect(names(await items(`${path}?fieldSelector=metadata.name!%3Dcm-2&labelSelector=tier%3Da`))).toEqual([
      "cm-0",
      "cm-3",
    ]);
    const seen: unknown[] = [];
    let cont = "";
    let pages = 0;
    do {
      const r = await call(
        sb,
        "GET",
        `${path}?limit=2${cont === "" ? "" : `&continue=${encodeURIComponent(cont)}`}`,
      );
      seen.push(...names(r.json["items"] as Record<string, unknown>[]));
      cont = (r.json["metadata"] as { continue?: string }).continue ?? "";
      pages++;
    } while (cont !== "");
    expect([pages, seen]).toEqual([3, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]]);
  });

  it("turns objects that start or stop matching a watch's label selector into ADDED and DELETED", async () => {
    await call(sb, "POST", path, {
      body: cm("sel", "w-1", { metadata: { name: "w-1", labels: { watch: "no" } } }),
    });
    await call(sb, "POST", path, {
      body: cm("sel", "w-2", { metadata: { name: "w-2", labels: { watch: "yes" } } }),
    });
    const rv = ((await call(sb, "GET", path)).json["metadata"] as { resourceVersion: string })
      .resourceVersion;
    const w = await watch(sb, `${path}?watch=true&resourceVersion=${rv}&labelSelector=watch%3Dyes`);
    const relabel = (name: string, value: string) =>
      call(sb, "PATCH", `${path}/${name}`, {
        body: { metadata: { labels: { watch: value } } },
        type: "application/merge-patch+json",
      });
    await relabel("w-1", "yes");
    await relabel("w-2", "no");
    await relabel("w-2", "still-no");
    await call(sb, "DELETE", `${path}/w-1`);
    await w.until((e) => e.type === "DELETED" && meta(e.object)["name"] === "w-1");
    w.close();
    expect(w.events.map((e) => [e.type, meta(e.object)["name"]])).toEqual([
      ["ADDED", "w-1"],
      ["DELETED", "w-2"],
      ["DELETED", "w-1"],
    ]);
  });

  it("watches from a resourceVersion, sends bookmarks when asked, and answers 410 Gone for one too old", async () => {
    const rv = ((await call(sb, "GET", path)).json["metadata"] as { resourceVersion: string })
      .resourceVersion;
    await call(sb, "PATCH", `${path}/cm-0`, {
      body: { data: { x: "1" } },
      type: "application/merge-patch+json",
    });
    const w = await watch(sb, `${path}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    await w.until((e) => e.type === "MODIFIED" && meta(e.object)["name"] === "cm-0");
    await call(sb, "DELETE", `${path}/cm-4`);
    await w.until((e) => e.type === "DELETED" && meta(e.object)["name"] === "cm-4");
    await w.until((e) => e.type === "BOOKMARK", 3000);
    w.close();
    expect(w.events.filter((e) => e.type !== "BOOKMARK").map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);

    // The sandbox keeps 200 events: 250 more writes push rv out of reach.
    for (let i = 0; i < 250; i++) {
      await call(sb, "PATCH", `${path}/cm-1`, {
        body: { data: { n: String(i) } },
        type: "application/merge-patch+json",
      });
    }
    const old = await watch(sb, `${path}?watch=true&resourceVersion=${rv}`);
    await old.closed;
    expect(old.events).toEqual([
      {
        type: "ERROR",
        object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) as unknown,
      },
    ]);
  });
});

describe("deletion: finalizers, garbage collection, namespaces", () => {
  it("marks an object with finalizers for deletion and removes it when the last finalizer goes", async () => {
    const path = "/api/v1/namespaces/fin/configmaps";
    await call(sb, "POST", path, {
      body: cm("fin", "held", { metadata: { name: "held", finalizers: ["example.com/hold"] } }),
    });
    const del = await call(sb, "DELETE", `${path}/held`);
    expect(del.status).toBe(202);
    const marked = (await call(sb, "GET", `${path}/held`)).json;
    expect(meta(marked)["deletionTimestamp"]).toMatch(/Z$/);
    const added = await call(sb, "PATCH", `${path}/held`, {
      body: { metadata: { finalizers: ["example.com/hold", "example.com/more"] } },
      type: "application/merge-patch+json",
    });
    expect(added.status).toBe(403);
    const released = await call(sb, "PATCH", `${path}/held`, {
      body: { metadata: { finalizers: null } },
      type: "application/merge-patch+json",
    });
    expect(released.status).toBe(200);
    expect((await call(sb, "GET", `${path}/held`)).status).toBe(404);
  });

  it("deletes dependents with their owner, and orphans them when asked", async () => {
    const path = "/api/v1/namespaces/gc/configmaps";
    const owner = (await call(sb, "POST", path, { body: cm("gc", "owner") })).json;
    const ref = { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: meta(owner)["uid"] };
    await call(sb, "POST", path, {
      body: cm("gc", "child", { metadata: { name: "child", ownerReferences: [ref] } }),
    });
    await call(sb, "DELETE", `${path}/owner`);
    expect((await call(sb, "GET", `${path}/child`)).status).toBe(404);

    const owner2 = (await call(sb, "POST", path, { body: cm("gc", "owner2") })).json;
    const ref2 = { apiVersion: "v1", kind: "ConfigMap", name: "owner2", uid: meta(owner2)["uid"] };
    await call(sb, "POST", path, {
      body: cm("gc", "kept", { metadata: { name: "kept", ownerReferences: [ref2] } }),
    });
    await call(sb, "DELETE", `${path}/owner2`, { body: { propagationPolicy: "Orphan" } });
    const kept = await call(sb, "GET", `${path}/kept`);
    expect(kept.status).toBe(200);
    expect(meta(kept.json)["ownerReferences"]).toBeUndefined();
  });

  it("deletes dependents first with foreground propagation, keeping those with another live owner", async () => {
    const path = "/api/v1/namespaces/gc/configmaps";
    const a = (await call(sb, "POST", path, { body: cm("gc", "fg-a") })).json;
    const b = (await call(sb, "POST", path, { body: cm("gc", "fg-b") })).json;
    const ref = (o: Record<string, unknown>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: meta(o)["name"],
      uid: meta(o)["uid"],
    });
    await call(sb, "POST", path, {
      body: cm("gc", "only-a", { metadata: { name: "only-a", ownerReferences: [ref(a)] } }),
    });
    await call(sb, "POST", path, {
      body: cm("gc", "a-and-b", { metadata: { name: "a-and-b", ownerReferences: [ref(a), ref(b)] } }),
    });
    const del = await call(sb, "DELETE", `${path}/fg-a`, { body: { propagationPolicy: "Foreground" } });
    expect(del.status).toBe(200);
    expect((await call(sb, "GET", `${path}/only-a`)).status).toBe(404);
    expect((await call(sb, "GET", `${path}/a-and-b`)).status).toBe(200);
    expect((await call(sb, "GET", `${path}/fg-a`)).status).toBe(404);
  });

  it("deletes a collection by label selector and leaves the rest", async () => {
    const path = "/api/v1/namespaces/gc/configmaps";
    for (const [name, app] of [
      ["x1", "x"],
      ["x2", "x"],
      ["y1", "y"],
    ]) {
      await call(sb, "POST", path, { body: cm("gc", name ?? "", { metadata: { name, labels: { app } } }) });
    }
    const r = await call(sb, "DELETE", `${path}?labelSelector=app%3Dx`);
    expect(r.status).toBe(200);
    const left = (await items(`${path}?labelSelector=app`)).map((o) => meta(o)["name"]);
    expect(left).toEqual(["y1"]);
  });

  it("deletes a namespace with its contents; a terminating namespace takes no new objects", async () => {
    await namespace("doomed");
    await call(sb, "POST", "/api/v1/namespaces/doomed/configmaps", { body: cm("doomed", "a") });
    await call(sb, "POST", "/api/v1/namespaces/doomed/configmaps", {
      body: cm("doomed", "slow", { metadata: { name: "slow", finalizers: ["example.com/hold"] } }),
    });
    await call(sb, "DELETE", "/api/v1/namespaces/doomed");
    expect((await call(sb, "GET", "/api/v1/namespaces/doomed/configmaps/a")).status).toBe(404);
    const ns = (await call(sb, "GET", "/api/v1/namespaces/doomed")).json;
    expect((ns["status"] as { phase: string }).phase).toBe("Terminating");
    const refused = await call(sb, "POST", "/api/v1/namespaces/doomed/configmaps", {
      body: cm("doomed", "new"),
    });
    expect(refused.status).toBe(403);
    await call(sb, "PATCH", "/api/v1/namespaces/doomed/configmaps/slow", {
      body: { metadata: { finalizers: null } },
      type: "application/merge-patch+json",
    });
    expect((await call(sb, "GET", "/api/v1/namespaces/doomed")).status).toBe(404);
  });
});

describe("CRDs and readiness", () => {
  it("serves a CRD's resource in discovery once created and drops it when deleted", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "gadgets.example.org" },
      spec: {
        group: "example.org",
        scope: "Cluster",
        names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
        versions: [
          { name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } },
        ],
      },
    };
    expect((await call(sb, "GET", "/apis/example.org/v1")).status).toBe(404);
    const created = await call(sb, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: crd,
    });
    const conditions = (created.json["status"] as { conditions: { type: string; status: string }[] })
      .conditions;
    expect(conditions).toContainEqual(expect.objectContaining({ type: "Established", status: "True" }));
    const disc = await call(sb, "GET", "/apis/example.org/v1");
    expect((disc.json["resources"] as { name: string; namespaced: boolean }[])[0]).toMatchObject({
      name: "gadgets",
      namespaced: false,
    });
    const g = await call(sb, "POST", "/apis/example.org/v1/gadgets", {
      body: { apiVersion: "example.org/v1", kind: "Gadget", metadata: { name: "g1" }, spec: { on: true } },
    });
    expect(g.status).toBe(201);
    const smp = await call(sb, "PATCH", "/apis/example.org/v1/gadgets/g1", {
      body: { spec: {} },
      type: "application/strategic-merge-patch+json",
    });
    expect(smp.status).toBe(415);
    await call(sb, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.org");
    expect((await call(sb, "GET", "/apis/example.org/v1/gadgets")).status).toBe(404);
  });

  it("validates custom resources against the CRD's schema (422 with the field), storing nothing", async () => {
    await call(sb, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: {
        metadata: { name: "pumps.example.org" },
        spec: {
          group: "example.org",
          scope: "Namespaced",
          names: { plural: "pumps", singular: "pump", kind: "Pump" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      required: ["rate"],
                      properties: {
                        rate: { type: "integer", minimum: 1 },
                        mode: { type: "string", enum: ["a", "b"] },
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    const path = "/apis/example.org/v1/namespaces/occ/pumps";
    const pump = (name: string, spec: unknown) => ({
      apiVersion: "example.org/v1",
      kind: "Pump",
      metadata: { name },
      spec,
    });
    const wrongType = await call(sb, "POST", path, { body: pump("p1", { rate: "fast" }) });
    expect(wrongType.status).toBe(422);
    expect((wrongType.json["details"] as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual(
      ["spec.rate"],
    );
    const missing = await call(sb, "POST", path, { body: pump("p2", { mode: "a" }) });
    expect((missing.json["details"] as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual([
      "spec.rate",
    ]);
    expect(await items(path)).toEqual([]);
    expect((await call(sb, "POST", path, { body: pump("p3", { rate: 2, mode: "b" }) })).status).toBe(201);
  });

  it("reports StatefulSets and DaemonSets ready, and lets a controller apply status through /status", async () => {
    const template = {
      metadata: { labels: { app: "s" } },
      spec: { containers: [{ name: "s", image: "s:1" }] },
    };
    for (const [resource, extra] of [
      ["statefulsets", { serviceName: "s", replicas: 3 }],
      ["daemonsets", {}],
    ] as const) {
      const created = await call(sb, "POST", `/apis/apps/v1/namespaces/occ/${resource}`, {
        body: {
          metadata: { name: "s" },
          spec: { ...extra, selector: { matchLabels: { app: "s" } }, template },
        },
      });
      expect(created.status).toBe(201);
    }
    await new Promise((r) => setTimeout(r, 250));
    const sts = (await call(sb, "GET", "/apis/apps/v1/namespaces/occ/statefulsets/s")).json;
    expect(sts["status"]).toMatchObject({ observedGeneration: 1, readyReplicas: 3, replicas: 3 });
    const ds = (await call(sb, "GET", "/apis/apps/v1/namespaces/occ/daemonsets/s")).json;
    expect(ds["status"]).toMatchObject({ observedGeneration: 1, numberReady: 1, desiredNumberScheduled: 1 });

    const statusApply = (force: boolean) =>
      call(
        sb,
        "PATCH",
        `/apis/apps/v1/namespaces/occ/statefulsets/s/status?fieldManager=my-controller&force=${String(force)}`,
        {
          body: {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "s" },
            status: { replicas: 3, availableReplicas: 2 },
          },
          type: "application/apply-patch+yaml",
        },
      );
    // The simulated controller owns availableReplicas (3): a different value conflicts, force takes it.
    const refused = await statusApply(false);
    expect(refused.status).toBe(409);
    expect(String(refused.json["message"])).toContain(
      'conflict with "kube-controller-manager" using apps/v1: .status.availableReplicas',
    );
    const applied = await statusApply(true);
    expect(applied.status).toBe(200);
    expect(applied.json["status"]).toMatchObject({ availableReplicas: 2 });
    expect(meta(applied.json)["generation"]).toBe(1);
    const entry = (meta(applied.json)["managedFields"] as { manager: string; subresource?: string }[]).find(
      (m) => m.manager === "my-controller",
    );
    expect(entry?.subresource).toBe("status");
  });

  it("reports a Deployment ready and a Job complete after the readiness delay", async () => {
    const d = await call(sb, "POST", "/apis/apps/v1/namespaces/occ/deployments", {
      body: {
        metadata: { name: "ready" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "r" } },
          template: {
            metadata: { labels: { app: "r" } },
            spec: { containers: [{ name: "r", image: "r:1" }] },
          },
        },
      },
    });
    expect(d.json["status"]).toBeUndefined();
    const w = await watch(
      sb,
      `/apis/apps/v1/namespaces/occ/deployments?watch=true&fieldSelector=metadata.name%3Dready&resourceVersion=${String(meta(d.json)["resourceVersion"])}`,
    );
    await w.until((e) => (e.object["status"] as { readyReplicas?: number } | undefined)?.readyReplicas === 2);
    w.close();
    await call(sb, "POST", "/apis/batch/v1/namespaces/occ/jobs", {
      body: {
        metadata: { name: "once" },
        spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "j", image: "j:1" }] } } },
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    const job = (await call(sb, "GET", "/apis/batch/v1/namespaces/occ/jobs/once")).json;
    expect((job["status"] as { conditions: { type: string }[] }).conditions.map((c) => c.type)).toContain(
      "Complete",
    );
  });
});
