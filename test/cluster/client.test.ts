// The cluster client against the sandbox API server over HTTPS: discovery, server-side apply as `gitward`,
// impersonation limited by RBAC, uid preconditions on delete, CRDs, 409 re-reads and retries through faults.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../support/tools.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { ClusterClient, serviceAccountUser, type KubeObject } from "../../src/cluster/client.js";
import { ClusterErrorCode, ClusterError } from "../../src/cluster/errors.js";
import { backoffDelay } from "../../src/cluster/backoff.js";

let sb: Sandbox;
let admin: ClusterClient;

const cm = (ns: string, name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data,
});

beforeAll(async () => {
  sb = await startSandbox();
  admin = ClusterClient.fromText(sb.kubeconfig);
  for (const ns of ["team-a", "team-b"]) {
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  }
  await admin.apply({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "deployer", namespace: "team-a" },
  });
  await admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "deployer", namespace: "team-a" },
    rules: [
      {
        apiGroups: [""],
        resources: ["configmaps"],
        verbs: ["get", "list", "create", "patch", "update", "delete"],
      },
    ],
  });
  await admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "deployer", namespace: "team-a" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "deployer" },
    subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: "team-a" }],
  });
});

afterAll(async () => {
  admin.close();
  await sb.stop();
});

describe("discovery", () => {
  it("finds namespaced and cluster-scoped resources, and names an unknown kind", async () => {
    expect(await admin.resource("v1", "ConfigMap")).toMatchObject({ plural: "configmaps", namespaced: true });
    expect(await admin.resource("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")).toMatchObject({
      plural: "clusterrolebindings",
      namespaced: false,
    });
    await expect(admin.resource("example.com/v1", "Widget")).rejects.toMatchObject({
      code: ClusterErrorCode.UnknownKind,
    });
  });
});

describe("server-side apply", () => {
  it("applies as field manager gitward, and a dry run writes nothing", async () => {
    const out = await admin.apply(cm("team-a", "dry", { a: "1" }), { dryRun: true });
    expect(out.metadata.name).toBe("dry");
    expect(
      await admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "team-a", name: "dry" }),
    ).toBeUndefined();
    const live = await admin.apply(cm("team-a", "real", { a: "1" }));
    const managers = (live.metadata["managedFields"] as { manager: string }[]).map((m) => m.manager);
    expect(managers).toContain("gitward");
  });

  it("impersonating a service account is limited by its RBAC", async () => {
    const as = serviceAccountUser("team-a", "deployer");
    await expect(admin.apply(cm("team-a", "mine", { a: "1" }), { impersonate: as })).resolves.toBeDefined();
    const refused = admin.apply(cm("team-b", "theirs", { a: "1" }), { impersonate: as });
    await expect(refused).rejects.toMatchObject({ code: ClusterErrorCode.Forbidden, status: 403 });
    expect(
      await admin.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "team-b", name: "theirs" }),
    ).toBeUndefined();
  });
});

describe("list and delete", () => {
  it("lists by label selector", async () => {
    await admin.apply({
      ...cm("team-a", "l1", {}),
      metadata: { name: "l1", namespace: "team-a", labels: { x: "y" } },
    });
    await admin.apply({
      ...cm("team-a", "l2", {}),
      metadata: { name: "l2", namespace: "team-a", labels: { x: "z" } },
    });
    const items = await admin.list("v1", "ConfigMap", { namespace: "team-a", labelSelector: "x=y" });
    expect(items.map((i) => i.metadata.name)).toEqual(["l1"]);
    expect(items[0]?.kind).toBe("ConfigMap");
  });

  it("deletes only the object with the expected uid", async () => {
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "team-a", name: "gone" };
    const first = await admin.apply(cm("team-a", "gone", {}));
    await admin.delete(ref);
    const second = await admin.apply(cm("team-a", "gone", { b: "2" }));
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    await expect(admin.delete(ref, { uid: first.metadata.uid ?? "" })).rejects.toMatchObject({
      code: ClusterErrorCode.Conflict,
    });
    expect(await admin.get(ref)).toBeDefined();
    expect(await admin.delete(ref, { uid: second.metadata.uid ?? "" })).toBe("deleted");
    expect(await admin.delete(ref)).toBe("not-found");
  });
});

describe("CRDs", () => {
  it("waits for a CRD to be established, then serves its kind", async () => {
    await admin.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    });
    await admin.waitForCrdEstablished("widgets.example.com", { timeoutMs: 10_000 });
    const w = await admin.apply({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "team-a" },
      spec: { size: 3 },
    });
    expect(w.metadata.uid).toBeTruthy();
  });
});

describe("conflicts and faults", () => {
  it("re-reads and retries an update on 409", async () => {
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "team-a", name: "counter" };
    await admin.apply(cm("team-a", "counter", { n: "0" }));
    // Ten concurrent read-modify-writes: each 409 is re-read, so every increment lands.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        admin.modify(ref, (o) => {
          const data = o["data"] as Record<string, string>;
          data["n"] = String(Number(data["n"]) + 1);
          return o;
        }),
      ),
    );
    expect((await admin.get(ref))?.["data"]).toEqual({ n: "10" });
  });

  it("retries 500 and 429 answers with backoff until they pass", async () => {
    const client = ClusterClient.fromText(sb.kubeconfig, { backoff: { attempts: 12, baseMs: 1, maxMs: 5 } });
    sb.setFaults({ errorRate: 0.3 });
    try {
      for (let i = 0; i < 20; i++) await client.apply(cm("team-a", `f${i}`, { i: String(i) }));
    } finally {
      sb.setFaults({});
      client.close();
    }
    const names = (await admin.list("v1", "ConfigMap", { namespace: "team-a" })).map((o) => o.metadata.name);
    for (let i = 0; i < 20; i++) expect(names).toContain(`f${i}`);
  });

  it("gives up with UNAVAILABLE when the server keeps failing", async () => {
    const sleeps: number[] = [];
    const client = ClusterClient.fromText(sb.kubeconfig, {
      backoff: {
        attempts: 3,
        baseMs: 10,
        random: () => 0.5,
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
      },
    });
    sb.setFaults({ errorRate: 1 });
    try {
      const err = await client.apply(cm("team-a", "never", {})).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).code).toBe(ClusterErrorCode.Unavailable);
    } finally {
      sb.setFaults({});
      client.close();
    }
    expect(sleeps).toEqual([5, 10]);
  });

  it("backoff grows, is jittered, and honours Retry-After", () => {
    expect(backoffDelay(0, { baseMs: 100, random: () => 0.999 })).toBe(99);
    expect(backoffDelay(3, { baseMs: 100, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(10, { baseMs: 100, maxMs: 1000, random: () => 1 })).toBe(1000);
    expect(backoffDelay(0, { baseMs: 100, random: () => 0 }, 1000)).toBe(1000);
  });
});

describe("gitward's own identity (deploy/install/operator.yaml)", () => {
  it("may impersonate only the accounts a namespace grants it, and read no application objects itself", async () => {
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    for (const file of ["deploy/install/operator.yaml", "deploy/examples/application-rbac.yaml"]) {
      const text = await readFile(path.join(repoRoot, file), "utf8");
      for (const d of parseAllDocuments(text)) await admin.apply(d.toJS() as KubeObject);
    }
    const operator = ClusterClient.fromText(
      admin.kubeconfigWithToken(await admin.requestToken("gitward-system", "gitward"), "gitward"),
    );
    try {
      await expect(operator.list("v1", "ConfigMap", { namespace: "shop" })).rejects.toMatchObject({
        code: ClusterErrorCode.Forbidden,
      });
      await expect(operator.list("v1", "Secret", { namespace: "kube-system" })).rejects.toMatchObject({
        code: ClusterErrorCode.Forbidden,
      });
      const as = serviceAccountUser("shop", "shop-deployer");
      await expect(operator.list("v1", "ConfigMap", { namespace: "shop", impersonate: as })).resolves.toEqual(
        expect.any(Array),
      );
      await expect(
        operator.list("v1", "ConfigMap", {
          namespace: "shop",
          impersonate: serviceAccountUser("kube-system", "default"),
        }),
      ).rejects.toMatchObject({ code: ClusterErrorCode.Forbidden });
      await expect(operator.apply(cm("gitward-system", "gitward-app-x", { a: "1" }))).resolves.toBeDefined();
    } finally {
      operator.close();
    }
  });
});
