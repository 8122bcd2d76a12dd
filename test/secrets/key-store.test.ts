import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig, V1Namespace, V1ObjectMeta, V1Secret } from "@kubernetes/client-node";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { keygen, kubernetesSecretApi, loadClusterKeys, type SecretApi } from "../../src/secrets/key-store.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { unsealSecret } from "../../src/secrets/unseal.js";
import { decoded, PLAINTEXTS, plainSecret } from "./support.js";

// Sealing keys in a real Kubernetes API (the project's sandbox server), through @kubernetes/client-node.
let sandbox: Sandbox;
let dir: string;
let api: SecretApi;
let core: CoreV1Api;
let unrelated: V1Secret;
const namespace = "gitward-system";
const day = 86_400_000;

beforeAll(async () => {
  sandbox = await startSandbox();
  dir = await mkdtemp(path.join(tmpdir(), "gitward-keystore-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  await sandbox.writeKubeconfig(kubeconfig);
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  core = config.makeApiClient(CoreV1Api);
  // client-node's models are classes; the lint rule wants instances, not object literals.
  const meta = (name: string) => Object.assign(new V1ObjectMeta(), { name });
  await core.createNamespace({ body: Object.assign(new V1Namespace(), { metadata: meta(namespace) }) });
  unrelated = Object.assign(new V1Secret(), { metadata: meta("unrelated"), stringData: { a: "b" } });
  api = await kubernetesSecretApi(kubeconfig);
});

afterAll(async () => {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("sealing keys in the cluster", () => {
  it("keygen stores a key Secret, keeps it while current, rotates when due, never deletes old keys", async () => {
    const start = new Date();
    const first = await keygen(api, { namespace, modulusLength: 2048, now: start });
    expect(first.ok && first.reason).toBe("no-key");
    const stored = await core.listNamespacedSecret({ namespace });
    expect(stored.items).toHaveLength(1);
    const secret = stored.items[0]!;
    expect(secret.type).toBe("kubernetes.io/tls");
    expect(secret.metadata?.labels?.["sealedsecrets.bitnami.com/sealed-secrets-key"]).toBe("active");
    expect(secret.metadata?.name).toMatch(/^sealed-secrets-key[a-z0-9]{5}$/);

    const again = await keygen(api, {
      namespace,
      modulusLength: 2048,
      now: new Date(start.getTime() + 29 * day),
    });
    expect(again.ok && again.reason).toBe("current");
    expect(again.ok && again.created).toBeUndefined();

    const due = await keygen(api, {
      namespace,
      modulusLength: 2048,
      now: new Date(start.getTime() + 31 * day),
    });
    expect(due.ok && due.reason).toBe("rotation-due");
    const forced = await keygen(api, {
      namespace,
      modulusLength: 2048,
      now: new Date(start.getTime() + 32 * day),
      force: true,
    });
    expect(forced.ok && forced.reason).toBe("forced");
    expect(forced.ok && forced.total).toBe(3);

    const loaded = await loadClusterKeys(api, namespace);
    expect(loaded.ok && loaded.ring.keys.length).toBe(3);
    expect(loaded.ok && forced.ok && loaded.ring.newest?.fingerprint).toBe(
      forced.ok ? forced.newest.fingerprint : "",
    );
  });

  it("a value sealed to the first key unseals with the cluster's ring after rotations", async () => {
    const loaded = await loadClusterKeys(api, namespace);
    if (!loaded.ok) throw new Error(loaded.message);
    const oldest = loaded.ring.keys[loaded.ring.keys.length - 1]!;
    const sealed = sealSecret(plainSecret("shop", "db"), oldest.publicKey);
    if (!sealed.ok) throw new Error(sealed.message);
    const result = unsealSecret(sealed.sealed, loaded.ring);
    expect(result.ok && decoded(result.secret.data)["password"]).toBe(PLAINTEXTS.password);
  });

  it("ignores Secrets without the sealing-key label; a missing namespace and no access fail clearly", async () => {
    await core.createNamespacedSecret({ namespace, body: unrelated });
    const loaded = await loadClusterKeys(api, namespace);
    expect(loaded.ok && loaded.ring.keys.every((k) => k.name.startsWith("sealed-secrets-key"))).toBe(true);

    const missing = await keygen(api, { namespace: "no-such-namespace", modulusLength: 2048 });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.message).toContain("no-such-namespace");

    const token = sandbox.mintToken("nobody");
    const kubeconfig = path.join(dir, "nobody");
    await writeFile(kubeconfig, sandbox.kubeconfigFor(token, "nobody"));
    const denied = await loadClusterKeys(await kubernetesSecretApi(kubeconfig), namespace);
    expect(denied.ok).toBe(false);
    if (!denied.ok) {
      expect(denied.message).toMatch(/refused access \(HTTP 403\)/);
      expect(denied.message).not.toContain(token);
    }
  });
  it("a labelled Secret that is no key is skipped and named (never its content); keygen still rotates", async () => {
    const before = await loadClusterKeys(api, namespace);
    if (!before.ok) throw new Error(before.message);
    await core.createNamespacedSecret({
      namespace,
      body: Object.assign(new V1Secret(), {
        metadata: Object.assign(new V1ObjectMeta(), {
          name: "sealed-secrets-key-broken",
          labels: { "sealedsecrets.bitnami.com/sealed-secrets-key": "active" },
        }),
        type: "kubernetes.io/tls",
        stringData: { "tls.key": "NOT-A-KEY-CONTENT-1234", "tls.crt": "garbage" },
      }),
    });
    const loaded = await loadClusterKeys(api, namespace);
    if (!loaded.ok) throw new Error(loaded.message);
    expect(loaded.ring.keys).toHaveLength(before.ring.keys.length);
    expect(loaded.skipped).toHaveLength(1);
    expect(loaded.skipped[0]).toContain("Secret sealed-secrets-key-broken");
    expect(loaded.skipped[0]).not.toContain("NOT-A-KEY-CONTENT");
    const forced = await keygen(api, { namespace, modulusLength: 2048, force: true });
    expect(forced.ok && forced.created !== undefined).toBe(true);
    expect(forced.ok && forced.skipped).toEqual(loaded.skipped);
  });
});
