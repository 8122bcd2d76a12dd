// The one source of the install manifests: `gitward install`, deploy/install (kustomize), the Helm chart
// and doctor all take their objects from installManifests(). Namespaces and CRDs come first, then the
// operator's identity and RBAC, then the workload and its network, then the key rotation.
import type { KubeObject } from "../cluster/client.js";
import { buildCrds } from "../config/crds.js";
import { digestPinnedImage } from "./image.js";
import {
  AUDIT_KEY_SECRET,
  INSTALL_DEFAULTS,
  KEY_NAMESPACE,
  OPERATOR_ACCOUNT,
  OPERATOR_DEPLOYMENT,
  PART_OF,
  PART_OF_LABEL,
  SYSTEM_NAMESPACE,
  type EgressTarget,
  type InstallOptions,
  type Placed,
} from "./layout.js";
import { keyRotationRbac, operatorRbac } from "./rbac.js";

const METRICS_PORT = 9090;
/** The file of deploy/install that holds the CRDs (the chart keeps them in its crds/ folder instead). */
export const CRDS_FILE = "crds.yaml";
const SELECTOR = { "app.kubernetes.io/name": "gitward" };
const NP = "networking.k8s.io/v1";

/** Pod Security `restricted` for a pod: non-root, the runtime's seccomp profile. */
const restrictedPod = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  seccompProfile: { type: "RuntimeDefault" },
};
/** ... and for each container: no privilege escalation, no capabilities, a read-only root. */
const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function namespace(name: string, comment: string): Placed {
  return {
    file: "operator.yaml",
    comment,
    object: {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        // The API server itself refuses any pod here that is not `restricted` (Pod Security Admission).
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
        },
      },
    },
  };
}

function crds(): Placed[] {
  // Also in deploy/crds (one file each, scripts/gen-crds.ts): kustomize reads no file outside its folder.
  return Object.values(buildCrds()).map((crd) => ({ file: CRDS_FILE, object: crd as unknown as KubeObject }));
}

function operatorDeployment(o: InstallOptions): Placed {
  return {
    file: "deployment.yaml",
    comment:
      "The operator itself: replicas of `gitward run --in-cluster` that elect a leader with a Lease in\n" +
      "gitward-system (only the leader reconciles; another takes over within the lease duration). The image\n" +
      "is pinned by digest: a tag would let the registry change what runs.",
    object: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: OPERATOR_DEPLOYMENT, namespace: SYSTEM_NAMESPACE, labels: { ...SELECTOR } },
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: { ...SELECTOR } },
        template: {
          metadata: { labels: { ...SELECTOR } },
          spec: {
            serviceAccountName: OPERATOR_ACCOUNT,
            automountServiceAccountToken: true,
            // The audit key file is group-readable (defaultMode below) by this group only.
            securityContext: { ...restrictedPod, fsGroup: 65532 },
            containers: [
              {
                name: "gitward",
                image: o.image,
                imagePullPolicy: "IfNotPresent",
                args: [
                  "run",
                  "--in-cluster",
                  `--metrics-addr=0.0.0.0:${METRICS_PORT}`,
                  // The sealing keys live in their own namespace (ADR 0008).
                  `--key-namespace=${KEY_NAMESPACE}`,
                  "--cache-dir=/var/cache/gitward",
                  // On an emptyDir the audit log lasts as long as the pod: ship it off the node or mount a
                  // PersistentVolumeClaim here.
                  "--audit-log=/var/lib/gitward/audit.jsonl",
                  // Every audit record is signed with this ed25519 key (ADR 0005): `gitward install` makes
                  // the Secret gitward-audit-key when it is missing (src/install/audit-key.ts).
                  "--audit-key=/etc/gitward/audit-key/audit.key",
                ],
                env: [
                  // V8's young generation at its old default (16 MiB): `npm run bench -- drift` measures the
                  // operator with exactly this; larger keeps ~100 MB resident that holds nothing.
                  { name: "NODE_OPTIONS", value: "--max-semi-space-size=16" },
                ],
                ports: [{ name: "http", containerPort: METRICS_PORT, protocol: "TCP" }],
                livenessProbe: {
                  httpGet: { path: "/healthz", port: "http" },
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                readinessProbe: {
                  httpGet: { path: "/readyz", port: "http" },
                  periodSeconds: 5,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                resources: {
                  requests: { ...o.resources.requests },
                  limits: { ...o.resources.limits },
                },
                securityContext: restrictedContainer,
                volumeMounts: [
                  { name: "cache", mountPath: "/var/cache/gitward" },
                  { name: "audit", mountPath: "/var/lib/gitward" },
                  { name: "tmp", mountPath: "/tmp" },
                  { name: "audit-key", mountPath: "/etc/gitward/audit-key", readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "cache", emptyDir: {} },
              { name: "audit", emptyDir: {} },
              { name: "tmp", emptyDir: {} },
              {
                name: "audit-key",
                // 0440: YAML 1.1 and 1.2 read a leading 0 differently, so the number is written in decimal.
                secret: {
                  secretName: AUDIT_KEY_SECRET,
                  defaultMode: 0o440,
                  items: [{ key: "audit.key", path: "audit.key" }],
                },
              },
            ],
          },
        },
      },
    },
  };
}

function ports(t: EgressTarget): { protocol: string; port: number }[] {
  return t.ports.map((port) => ({ protocol: "TCP", port }));
}

function peers(t: EgressTarget): { ipBlock: { cidr: string } }[] {
  return t.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
}

function dnsEgress(o: InstallOptions): Record<string, unknown> {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": o.network.dnsNamespace } },
      },
    ],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  };
}

function defaultDeny(ns: string): Placed {
  return {
    file: "network.yaml",
    comment: `Nothing in or out of ${ns} but what the policies below allow.`,
    object: {
      apiVersion: NP,
      kind: "NetworkPolicy",
      metadata: { name: "default-deny", namespace: ns },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
  };
}

function network(o: InstallOptions): Placed[] {
  const { apiServer, git, registries } = o.network;
  return [
    defaultDeny(SYSTEM_NAMESPACE),
    {
      file: "network.yaml",
      comment:
        "The operator: probes, metrics and push webhooks in on its one port; out only to DNS, the API server,\n" +
        "git and registries. Narrow the CIDRs to yours (--api-server-cidr, --git-cidr, --registry-cidr).",
      object: {
        apiVersion: NP,
        kind: "NetworkPolicy",
        metadata: { name: "gitward-operator", namespace: SYSTEM_NAMESPACE },
        spec: {
          podSelector: { matchLabels: { ...SELECTOR } },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ ports: [{ protocol: "TCP", port: METRICS_PORT }] }],
          egress: [
            dnsEgress(o),
            { to: peers(apiServer), ports: ports(apiServer) },
            { to: peers(git), ports: ports(git) },
            { to: peers(registries), ports: ports(registries) },
          ],
        },
      },
    },
    defaultDeny(KEY_NAMESPACE),
    {
      file: "network.yaml",
      comment: "The key rotation talks to the API server alone.",
      object: {
        apiVersion: NP,
        kind: "NetworkPolicy",
        metadata: { name: "gitward-key-rotation", namespace: KEY_NAMESPACE },
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "gitward-key-rotation" } },
          policyTypes: ["Egress"],
          egress: [dnsEgress(o), { to: peers(apiServer), ports: ports(apiServer) }],
        },
      },
    },
  ];
}

function availability(): Placed[] {
  return [
    {
      file: "deployment.yaml",
      comment: "A node drain keeps one replica: the lease passes to it instead of the reconcile stopping.",
      object: {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: OPERATOR_DEPLOYMENT, namespace: SYSTEM_NAMESPACE },
        spec: { maxUnavailable: 1, selector: { matchLabels: { ...SELECTOR } } },
      },
    },
    {
      file: "deployment.yaml",
      comment: "/metrics for Prometheus, and /hooks/<namespace>/<name> for signed git push webhooks.",
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "gitward-metrics", namespace: SYSTEM_NAMESPACE, labels: { ...SELECTOR } },
        spec: {
          type: "ClusterIP",
          selector: { ...SELECTOR },
          ports: [{ name: "http", port: METRICS_PORT, targetPort: "http", protocol: "TCP" }],
        },
      },
    },
  ];
}

function keyRotationJob(o: InstallOptions): Placed {
  const labels = { "app.kubernetes.io/name": "gitward-key-rotation" };
  return {
    file: "key-rotation.yaml",
    comment:
      "Daily, so a key is at most a day past its 30 days when replaced. The image is the operator's. With no\n" +
      "--kubeconfig, keygen uses the pod's mounted service account token (src/cluster/kubeconfig.ts).",
    object: {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "gitward-key-rotation", namespace: KEY_NAMESPACE, labels: { ...labels } },
      spec: {
        schedule: "17 3 * * *",
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        // A run missed by more than this (the controller was down) is skipped; the next day's catches up.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 3,
            activeDeadlineSeconds: 600,
            template: {
              metadata: { labels: { ...labels } },
              spec: {
                serviceAccountName: "gitward-key-rotation",
                automountServiceAccountToken: true,
                restartPolicy: "OnFailure",
                securityContext: restrictedPod,
                containers: [
                  {
                    name: "keygen",
                    image: o.image,
                    imagePullPolicy: "IfNotPresent",
                    args: ["secrets", "keygen", `--namespace=${KEY_NAMESPACE}`, "--rotation-days=30"],
                    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                    securityContext: restrictedContainer,
                  },
                ],
              },
            },
          },
        },
      },
    },
  };
}

/** Marks an object as made by the install (CRDs stay as src/config/crds.ts renders them). */
function labelled(p: Placed): Placed {
  if (p.object.kind === "CustomResourceDefinition") return p;
  const labels = { ...p.object.metadata.labels, [PART_OF_LABEL]: PART_OF };
  return { ...p, object: { ...p.object, metadata: { ...p.object.metadata, labels } } };
}

/** Every object of the install, in the order to apply; options default to INSTALL_DEFAULTS. */
export function installManifests(options: Partial<InstallOptions> & { image: string }): Placed[] {
  const o: InstallOptions = { ...INSTALL_DEFAULTS, ...options, image: digestPinnedImage(options.image) };
  return [
    namespace(
      SYSTEM_NAMESPACE,
      "gitward's own identity, least privilege (ADR 0006): it reads its own CRDs and writes their status,\n" +
        "keeps per-application state ConfigMaps and Events, reads the sealing keys in gitward-keys, and may\n" +
        "impersonate only the service accounts that each application's namespace grants it (see\n" +
        "deploy/examples/application-rbac.yaml): every read and write of application objects is made as that\n" +
        "account.",
    ),
    namespace(
      KEY_NAMESPACE,
      "The sealing keys alone (ADR 0008): no service account with any rights lives here but the key\n" +
        "rotation's, so whoever may create Secrets here cannot mint a token for the operator's account by\n" +
        "creating a service-account-token Secret, as it could in gitward-system (the operator's account lives\n" +
        "there).",
    ),
    ...crds(),
    ...operatorRbac(o.applicationNamespaces),
    operatorDeployment(o),
    ...availability(),
    ...network(o),
    ...keyRotationRbac(),
    keyRotationJob(o),
    ...o.admissionWebhookObjects,
  ].map(labelled);
}

/** The objects alone. */
export function installObjects(options: Partial<InstallOptions> & { image: string }): KubeObject[] {
  return installManifests(options).map((p) => p.object);
}
