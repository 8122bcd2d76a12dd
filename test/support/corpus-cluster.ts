// The sandbox side of the corpus: the CRDs of the controllers the corpus deploys to (Flux, cert-manager,
// Gateway API: a cluster that runs them has their CRDs), and per target namespace the deployer account of
// deploy/examples/application-rbac.yaml plus the cluster-level objects those applications create.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { ClusterClient, KubeObject } from "../../src/cluster/client.js";
import { DEFAULT_PACKS } from "../../src/policy/packs.js";
import type { ReconcileReport } from "../../src/reconcile/reconcile.js";
import type { World } from "../reconcile/harness.js";
import { corpusRepo, corpusSlug, type CorpusTarget } from "./corpus.js";
import { repoRoot, toolPath } from "./tools.js";
import { until } from "./until.js";

const FOREIGN_KINDS: readonly {
  group: string;
  version: string;
  kind: string;
  plural: string;
  cluster?: true;
}[] = [
  { group: "helm.toolkit.fluxcd.io", version: "v2", kind: "HelmRelease", plural: "helmreleases" },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "HelmRepository", plural: "helmrepositories" },
  { group: "source.toolkit.fluxcd.io", version: "v1", kind: "OCIRepository", plural: "ocirepositories" },
  { group: "cert-manager.io", version: "v1", kind: "Certificate", plural: "certificates" },
  { group: "cert-manager.io", version: "v1", kind: "ClusterIssuer", plural: "clusterissuers", cluster: true },
  { group: "gateway.networking.k8s.io", version: "v1", kind: "Gateway", plural: "gateways" },
  {
    group: "gateway.networking.k8s.io",
    version: "v1",
    kind: "GatewayClass",
    plural: "gatewayclasses",
    cluster: true,
  },
];

/** Installs a CRD (schema: any object) for each foreign kind of the corpus. */
export async function installForeignCrds(admin: ClusterClient): Promise<void> {
  for (const k of FOREIGN_KINDS) {
    const name = `${k.plural}.${k.group}`;
    await admin.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name },
      spec: {
        group: k.group,
        scope: k.cluster === true ? "Cluster" : "Namespaced",
        names: { kind: k.kind, plural: k.plural, singular: k.kind.toLowerCase(), listKind: `${k.kind}List` },
        versions: [
          {
            name: k.version,
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    });
    await admin.waitForCrdEstablished(name);
  }
}

/**
 * Creates namespace `ns` with its deployer `<ns>-deployer` (the example RBAC with "shop" replaced), and
 * binds it to a ClusterRole for what the corpus applications create beyond the namespace's usual objects.
 */
export async function setUpNamespace(admin: ClusterClient, ns: string): Promise<string> {
  await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  const text = await readFile(path.join(repoRoot, "deploy/examples/application-rbac.yaml"), "utf8");
  for (const d of parseAllDocuments(text.replaceAll("shop", ns))) {
    const o = d.toJS() as KubeObject | null;
    if (o !== null) await admin.apply(o);
  }
  const sa = `${ns}-deployer`;
  await admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "corpus-deployer" },
    rules: [
      {
        apiGroups: [
          "",
          "rbac.authorization.k8s.io",
          "storage.k8s.io",
          ...new Set(FOREIGN_KINDS.map((k) => k.group)),
        ],
        resources: [
          "namespaces",
          "persistentvolumes",
          "storageclasses",
          "serviceaccounts",
          "roles",
          "rolebindings",
          ...FOREIGN_KINDS.map((k) => k.plural),
        ],
        verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
      },
    ],
  });
  await admin.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `corpus-deployer-${ns}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "corpus-deployer" },
    subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
  });
  return sa;
}

/**
 * Deletes namespace `ns` and waits until it is gone. Targets share namespaces (podinfo's kustomization and
 * chart both make Deployment podinfo/podinfo, with other selectors): each target that applies starts from an
 * empty one, as it would in a cluster of its own, instead of meeting the previous target's objects.
 */
async function emptyNamespace(admin: ClusterClient, ns: string): Promise<void> {
  const ref = { apiVersion: "v1", kind: "Namespace", name: ns };
  await admin.delete(ref);
  await until(`namespace ${ns} deleted`, async () => (await admin.get(ref)) === undefined);
}

/**
 * Reconciles one target into the world's sandbox: its corpus folder as a signed repository served by the
 * world's git server, an Application for its path and render, and the world's TrustPolicy with the packs
 * check runs by default and `failOn`, in a destination namespace emptied first. Returns the report and the
 * commit's raw text (to see it is signed).
 */
export async function reconcileTarget(
  world: World,
  t: CorpusTarget,
  failOn: "low" | "medium" | "high" | "critical",
): Promise<{ report: ReconcileReport; signed: string }> {
  const ns = t.namespace ?? "corpus-infra";
  await emptyNamespace(world.admin, ns);
  const sa = await setUpNamespace(world.admin, ns);
  // One Application (and repository) per target and threshold, so a target can be reconciled at two.
  const name = `${corpusSlug(t)}-${failOn}`;
  const repo = await corpusRepo(t.repo, path.join(world.dir, "git", name), world.signer);
  const signed = await repo.git("cat-file", "commit", "HEAD");
  const app = world.app(
    {
      source: { url: world.git.url(name), ref: { branch: "main" }, path: t.path },
      // exclude is spec.render.exclude (the directory renderer's globs), as check's --exclude.
      render: {
        type: t.type,
        ...(t.valuesFiles === undefined ? {} : { valuesFiles: [...t.valuesFiles] }),
        // releaseName is spec.render.releaseName, as check's --release-name.
        ...(t.releaseName === undefined ? {} : { releaseName: t.releaseName }),
        ...(t.exclude === undefined ? {} : { exclude: [...t.exclude] }),
      },
    },
    {
      namespace: ns,
      serviceAccountName: sa,
      allowClusterScoped: t.allowClusterScoped === true,
      allowedNamespaces: [...(t.allowedNamespaces ?? [])],
    },
  );
  app.metadata.name = name;
  const trust = world.trust();
  const policy = { packs: [...DEFAULT_PACKS] as string[], failOn };
  // The operator renders with the same kubectl and helm as check (an operator is configured with its tools).
  const tools = { kubectl: toolPath("kubectl"), helm: toolPath("helm") };
  const report = await world.reconcile(app, { tools }, { ...trust, spec: { ...trust.spec, policy } });
  return { report, signed };
}
