// A world for end-to-end reconcile tests: the sandbox API server with RBAC on, gitward's own least-
// privilege identity from deploy/, an application namespace with its deployer service account, a config
// repository with SSH-signed commits served over smart HTTP, and an audit log. Everything real except the
// sandbox itself.
import { randomBytes, randomUUID, type KeyObject } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { API_VERSION, type Application, type TrustPolicy } from "../../src/config/types.js";
import { ClusterClient, type KubeObject } from "../../src/cluster/client.js";
import { AuditLog } from "../../src/audit/writer.js";
import { serveGitHttp, type GitHttpServer } from "../../src/source/http-server.js";
import { startSandbox, type Sandbox, type SandboxOptions } from "../../src/sandbox/server.js";
import {
  reconcileApplication,
  type ReconcileEnv,
  type ReconcileReport,
} from "../../src/reconcile/reconcile.js";
import type { InventoryEntry } from "../../src/reconcile/inventory.js";
import { ConfigMapStateStore } from "../../src/reconcile/state.js";
import { TestRepo, type FileChanges } from "../support/git-repo.js";
import { createSshSigner, type Signer } from "../support/signers.js";
import { repoRoot } from "../support/tools.js";

export interface World {
  readonly sb: Sandbox;
  readonly admin: ClusterClient;
  /** gitward's own identity: the gitward service account of deploy/install/operator.yaml. */
  readonly operator: ClusterClient;
  readonly repo: TestRepo;
  readonly signer: Signer;
  readonly other: Signer;
  readonly git: GitHttpServer;
  readonly dir: string;
  readonly auditPath: string;
  audit: AuditLog;
  app(
    spec?: Partial<Application["spec"]>,
    destination?: Partial<Application["spec"]["destination"]>,
  ): Application;
  trust(): TrustPolicy;
  commit(files: FileChanges, signer?: Signer | null, message?: string): Promise<string>;
  reconcile(app?: Application, env?: Partial<ReconcileEnv>, trust?: TrustPolicy): Promise<ReconcileReport>;
  /** Every object of the kinds tests use, outside gitward-system, as canonical text. */
  snapshot(): Promise<string>;
  stop(): Promise<void>;
}

export async function readYamlObjects(file: string): Promise<KubeObject[]> {
  const text = await readFile(file, "utf8");
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** Applies gitward's CRDs (deploy/crds, in file order) and waits until each is established. */
export async function installCrds(client: ClusterClient): Promise<void> {
  const crdDir = path.join(repoRoot, "deploy", "crds");
  for (const file of (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const o of await readYamlObjects(path.join(crdDir, file))) {
      await client.apply(o);
      await client.waitForCrdEstablished(o.metadata.name);
    }
  }
}

export const APP_NAMESPACE = "shop";
export const SNAPSHOT_KINDS: readonly [string, string][] = [
  ["v1", "Namespace"],
  ["v1", "ConfigMap"],
  ["v1", "Secret"],
  ["v1", "Service"],
  ["v1", "ServiceAccount"],
  ["apps/v1", "Deployment"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
];

/** The `template:` of a workload's spec (at its indentation): a pod that passes pod-security-restricted. */
function podTemplate(name: string, restartPolicy?: "Never"): string {
  return `  template:
    metadata:
      labels: { app: ${name} }
    spec:
${restartPolicy === undefined ? "" : `      restartPolicy: ${restartPolicy}\n`}      securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: web
          image: registry.example.com/shop/web@sha256:${"a".repeat(64)}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }
`;
}

/** A Deployment that passes pod-security-restricted. */
export function deployment(name: string, replicas = 1): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${name} }
${podTemplate(name)}`;
}

/** A StatefulSet that passes pod-security-restricted. */
export function statefulSet(name: string, replicas = 1): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
spec:
  serviceName: ${name}
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${name} }
${podTemplate(name)}`;
}

/** A DaemonSet that passes pod-security-restricted. */
export function daemonSet(name: string): string {
  return `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: { app: ${name} }
${podTemplate(name)}`;
}

/** A Job (its pods run once) that passes pod-security-restricted. */
export function job(name: string): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
  backoffLimit: 2
${podTemplate(name, "Never")}`;
}

export function configMap(name: string, data: Record<string, string>, namespace?: string): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
${namespace === undefined ? "" : `  namespace: ${namespace}\n`}data:
${lines.join("\n")}
`;
}

export async function startWorld(sandbox: SandboxOptions = {}): Promise<World> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gitward-reconcile-"));
  const sb = await startSandbox(sandbox);
  const admin = ClusterClient.fromText(sb.kubeconfig);
  for (const ns of [APP_NAMESPACE, "other"]) {
    await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  }
  for (const file of ["deploy/install/operator.yaml", "deploy/examples/application-rbac.yaml"]) {
    for (const o of await readYamlObjects(path.join(repoRoot, file))) await admin.apply(o);
  }
  const operator = ClusterClient.fromText(
    sb.kubeconfigFor(sb.serviceAccountToken("gitward-system", "gitward"), "gitward"),
  );
  const signer = await createSshSigner("ed25519", "platform");
  const other = await createSshSigner("ed25519", "stranger");
  const repo = await TestRepo.create(path.join(dir, "git", "config"));
  const git = await serveGitHttp({ root: path.join(dir, "git") });
  const auditPath = path.join(dir, "audit.jsonl");
  const cacheDir = path.join(dir, "cache");

  const world: World = {
    sb,
    admin,
    operator,
    repo,
    signer,
    other,
    git,
    dir,
    auditPath,
    audit: await AuditLog.open({ path: auditPath }),
    app(spec = {}, destination = {}) {
      return {
        apiVersion: API_VERSION,
        kind: "Application",
        metadata: { name: "shop", namespace: "gitward-system" },
        spec: {
          source: { url: git.url("config"), ref: { branch: "main" }, path: "apps/shop" },
          render: { type: "directory" },
          destination: { namespace: APP_NAMESPACE, serviceAccountName: "shop-deployer", ...destination },
          trustPolicy: "production",
          prune: true,
          ...spec,
        },
      };
    },
    trust() {
      return {
        apiVersion: API_VERSION,
        kind: "TrustPolicy",
        metadata: { name: "production" },
        spec: {
          commits: { signers: [{ name: "platform", ssh: [signer.publicKey], paths: ["**"] }] },
          policy: { packs: ["pod-security-restricted"] },
        },
      };
    },
    commit(files, by = signer, message = "change") {
      return repo.commitFiles(files, by === null ? { message } : { signer: by, message });
    },
    reconcile(app = world.app(), env = {}, trust = world.trust()) {
      return reconcileApplication(app, trust, {
        cluster: operator,
        state: new ConfigMapStateStore(operator),
        cacheDir,
        workDir: dir,
        audit: world.audit,
        actor: { type: "service-account", name: "system:serviceaccount:gitward-system:gitward" },
        healthTimeoutMs: 10_000,
        ...env,
      });
    },
    async snapshot() {
      const parts: string[] = [];
      for (const [apiVersion, kind] of SNAPSHOT_KINDS) {
        const items = await admin.list(apiVersion, kind);
        for (const o of items) {
          if (o.metadata.namespace === "gitward-system") continue;
          parts.push(JSON.stringify(o));
        }
      }
      return parts.sort().join("\n");
    },
    async stop() {
      await world.audit.close();
      await git.stop();
      admin.close();
      operator.close();
      await sb.stop();
      await signer.cleanup();
      await other.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** `base` with an images section: `host`'s shop/ repositories only, signed by the cosign key `signer`. */
export function withImageTrust(
  base: TrustPolicy,
  host: string,
  signer: KeyObject,
  extra: Partial<NonNullable<TrustPolicy["spec"]["images"]>> = {},
): TrustPolicy {
  return {
    ...base,
    spec: {
      ...base.spec,
      images: {
        registries: [`${host}/shop/`],
        signers: [{ name: "ci", cosign: signer.export({ format: "pem", type: "spki" }).toString() }],
        registryOptions: [{ host, plainHTTP: true }],
        ...extra,
      },
    },
  };
}

/**
 * `n` inventory entries of ConfigMaps in namespace shop named cm-<from + i> (with a random suffix up to
 * `nameLength` characters when that is over 12), each with a random uid and hash: inventories of a size
 * without applying the objects.
 */
export function randomInventory(
  n: number,
  opts: { from?: number; nameLength?: number } = {},
): InventoryEntry[] {
  const { from = 0, nameLength = 12 } = opts;
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "shop",
    name:
      nameLength <= 12
        ? `cm-${from + i}`
        : `cm-${from + i}-${randomBytes(nameLength).toString("hex").slice(0, nameLength)}`,
    uid: randomUUID(),
    hash: `sha256:${randomBytes(32).toString("hex")}`,
  }));
}
