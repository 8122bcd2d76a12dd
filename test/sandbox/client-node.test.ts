// The sandbox driven by @kubernetes/client-node, unchanged: KubernetesObjectApi server-side apply with a
// field manager, conflicts and force, CoreV1Api reads and writes, Watch, and deletion.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  makeInformer,
  V1ConfigMap,
  V1ObjectMeta,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";

let sb: Sandbox;
let kc: KubeConfig;
let objects: KubernetesObjectApi;
let core: CoreV1Api;

type ConfigMapObject = KubernetesObject & { data?: Record<string, string> };

const configMap = (data: Record<string, string>): ConfigMapObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: Object.assign(new V1ObjectMeta(), { name: "settings", namespace: "shop" }),
  data,
});

beforeAll(async () => {
  sb = await startSandbox();
  kc = new KubeConfig();
  kc.loadFromString(sb.kubeconfig);
  objects = KubernetesObjectApi.makeApiClient(kc);
  core = kc.makeApiClient(CoreV1Api);
  await objects.create({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: Object.assign(new V1ObjectMeta(), { name: "shop" }),
  });
});

afterAll(async () => {
  await sb.stop();
});

describe("@kubernetes/client-node against the sandbox", () => {
  it("applies server-side with a field manager and reads the object back", async () => {
    const applied = await objects.patch(
      configMap({ color: "blue", size: "large" }),
      undefined,
      undefined,
      "gitward",
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(applied.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const read = await core.readNamespacedConfigMap({ name: "settings", namespace: "shop" });
    expect(read.data).toEqual({ color: "blue", size: "large" });
    expect(read.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([
      ["gitward", "Apply"],
    ]);
  });

  it("refuses a conflicting apply of another manager with 409, and takes the field over with force", async () => {
    const err = await objects
      .patch(configMap({ color: "red" }), undefined, undefined, "ops", false, PatchStrategy.ServerSideApply)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<unknown>).code).toBe(409);
    expect(String((err as ApiException<unknown>).body)).toContain('conflict with \\"gitward\\"');
    const forced = await objects.patch(
      configMap({ color: "red" }),
      undefined,
      undefined,
      "ops",
      true,
      PatchStrategy.ServerSideApply,
    );
    expect(forced.data).toEqual({ color: "red", size: "large" });
  });

  it("removes a field its manager no longer applies", async () => {
    // Applying the value another manager set makes gitward a co-owner, not a conflict; size, which gitward
    // applied before and applies no more, goes.
    const applied = await objects.patch(
      configMap({ color: "red" }),
      undefined,
      undefined,
      "gitward",
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(applied.data).toEqual({ color: "red" });
    // Once both managers stop applying color, it goes too; an empty map owns no child field.
    await objects.patch(configMap({}), undefined, undefined, "ops", false, PatchStrategy.ServerSideApply);
    const left = await objects.patch(
      configMap({}),
      undefined,
      undefined,
      "gitward",
      false,
      PatchStrategy.ServerSideApply,
    );
    expect(left.data ?? {}).toEqual({});
  });

  it("lists and watches through CoreV1Api and Watch", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "shop" });
    const rv = list.metadata?.resourceVersion ?? "";
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["settings"]);
    const seen: [string, string][] = [];
    const done = new Promise<void>((resolve) => {
      void new Watch(kc)
        .watch(
          "/api/v1/namespaces/shop/configmaps",
          { resourceVersion: rv },
          (phase, obj: V1ConfigMap) => {
            seen.push([phase, obj.metadata?.name ?? ""]);
            if (phase === "DELETED") resolve();
          },
          () => undefined,
        )
        .then((ctl) =>
          done.finally(() => {
            ctl.abort();
          }),
        );
    });
    const extra = Object.assign(new V1ConfigMap(), {
      metadata: Object.assign(new V1ObjectMeta(), { name: "extra" }),
      data: { a: "1" },
    });
    await core.createNamespacedConfigMap({ namespace: "shop", body: extra });
    await core.deleteNamespacedConfigMap({ name: "extra", namespace: "shop" });
    await done;
    expect(seen).toEqual([
      ["ADDED", "extra"],
      ["DELETED", "extra"],
    ]);
  });

  it("feeds an informer (list, then watch from its resourceVersion) that sees adds, updates and deletes", async () => {
    const informer = makeInformer(kc, "/api/v1/namespaces/shop/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "shop" }),
    );
    const seen: string[] = [];
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name ?? ""}`));
    informer.on("update", (o) => seen.push(`update ${o.metadata?.name ?? ""}`));
    informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name ?? ""}`));
    await informer.start();
    const body = Object.assign(new V1ConfigMap(), {
      metadata: Object.assign(new V1ObjectMeta(), { name: "informed" }),
      data: { a: "1" },
    });
    await core.createNamespacedConfigMap({ namespace: "shop", body });
    await core.patchNamespacedConfigMap({
      name: "informed",
      namespace: "shop",
      body: [{ op: "replace", path: "/data/a", value: "2" }],
    });
    await core.deleteNamespacedConfigMap({ name: "informed", namespace: "shop" });
    for (let i = 0; i < 100 && !seen.includes("delete informed"); i++)
      await new Promise((r) => setTimeout(r, 20));
    await informer.stop();
    expect(seen.filter((e) => e.endsWith("informed"))).toEqual([
      "add informed",
      "update informed",
      "delete informed",
    ]);
  });

  it("deletes through KubernetesObjectApi; reading it then answers 404", async () => {
    await objects.delete(configMap({}));
    const err = await core.readNamespacedConfigMap({ name: "settings", namespace: "shop" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ApiException<unknown>).code).toBe(404);
  });
});
