// The ValidatingWebhookConfiguration that points the API server at `gitward webhook`: fail closed
// (failurePolicy Fail), no side effects on dry runs, a short timeout, never for kube-system or gitward's own
// namespace (so the cluster and gitward can always recover), and matchConditions that skip what the webhook
// need not see. Two webhooks: the object checks (pod-bearing kinds) and the inventory guard (any update or
// delete). patchCaBundle() puts a rotated CA bundle into it.
import type { ClusterClient, KubeObject } from "../cluster/client.js";
import { isRecord } from "../json/record.js";

export const WEBHOOK_PATH = "/validate";
export const DEFAULT_CONFIG_NAME = "gitward";
export const DEFAULT_TIMEOUT_SECONDS = 5;

export interface WebhookConfigOptions {
  /** Name of the ValidatingWebhookConfiguration (default "gitward"). */
  readonly name?: string;
  /** The webhook's Service (namespace/name, port default 443); or `url`. */
  readonly service?: { readonly namespace: string; readonly name: string; readonly port?: number };
  readonly url?: string;
  /** PEM bundle of the CAs that sign the serving certificate. */
  readonly caBundle: string;
  /** 1–30 (default 5). */
  readonly timeoutSeconds?: number;
  /** gitward's own namespace, never sent to the webhook (default gitward-system). */
  readonly systemNamespace?: string;
  /** The operator's user name, whose status updates the webhook need not see. */
  readonly operator?: string;
}

/** The kinds that carry a pod template, with their subresources that change pods. */
const POD_RULES = [
  { apiGroups: [""], resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers"] },
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets", "replicasets"] },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"] },
] as const;

export class WebhookConfigError extends Error {
  override readonly name = "WebhookConfigError";
}

/** The ValidatingWebhookConfiguration object (admissionregistration.k8s.io/v1). */
export function webhookConfiguration(opts: WebhookConfigOptions): KubeObject {
  const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30)
    throw new WebhookConfigError("timeoutSeconds must be a whole number from 1 to 30");
  if ((opts.service === undefined) === (opts.url === undefined))
    throw new WebhookConfigError("give exactly one of a service (NS/NAME) or a URL");
  if (opts.url !== undefined && !/^https:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(opts.url))
    throw new WebhookConfigError("the URL must be https:// without a query or fragment");
  if (opts.caBundle.trim() === "") throw new WebhookConfigError("the CA bundle is empty");
  const caBundle = Buffer.from(opts.caBundle, "utf8").toString("base64");
  const clientConfig =
    opts.service === undefined
      ? { url: opts.url, caBundle }
      : {
          service: {
            namespace: opts.service.namespace,
            name: opts.service.name,
            path: WEBHOOK_PATH,
            port: opts.service.port ?? 443,
          },
          caBundle,
        };
  const systemNamespace = opts.systemNamespace ?? "gitward-system";
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(systemNamespace))
    throw new WebhookConfigError(
      `the system namespace "${systemNamespace.slice(0, 64)}" is not a namespace name`,
    );
  const operator = opts.operator ?? `system:serviceaccount:${systemNamespace}:gitward`;
  // The user name goes into a CEL string literal: only the characters of user names, never a quote.
  if (!/^[A-Za-z0-9:._@-]{1,253}$/.test(operator))
    throw new WebhookConfigError("the operator's user name has characters a user name cannot have");
  const common = {
    admissionReviewVersions: ["v1"],
    clientConfig,
    failurePolicy: "Fail",
    matchPolicy: "Equivalent",
    sideEffects: "NoneOnDryRun",
    timeoutSeconds,
    namespaceSelector: {
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", systemNamespace] },
      ],
    },
  };
  const skip = [
    // Status is written by controllers and never carries an image or a pod spec.
    { name: "not-status", expression: "request.subResource != 'status'" },
    {
      name: "not-leases-or-events",
      expression:
        "!(request.resource.group == 'coordination.k8s.io' && request.resource.resource == 'leases') && " +
        "request.resource.resource != 'events'",
    },
    {
      name: "not-operator-status",
      expression: `!(request.userInfo.username == '${operator}' && request.resource.group == 'gitward.dev')`,
    },
  ];
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: {
      name: opts.name ?? DEFAULT_CONFIG_NAME,
      labels: { "app.kubernetes.io/managed-by": "gitward" },
    },
    webhooks: [
      {
        name: "objects.gitward.dev",
        ...common,
        rules: POD_RULES.map((r) => ({
          apiGroups: [...r.apiGroups],
          apiVersions: ["*"],
          resources: [...r.resources],
          operations: ["CREATE", "UPDATE"],
          scope: "Namespaced",
        })),
        matchConditions: skip.slice(0, 1),
      },
      {
        name: "inventory.gitward.dev",
        ...common,
        rules: [
          {
            apiGroups: ["*"],
            apiVersions: ["*"],
            resources: ["*", "*/scale"],
            operations: ["UPDATE", "DELETE"],
            scope: "*",
          },
        ],
        matchConditions: skip,
      },
    ],
  };
}

/** Puts `bundle` into every webhook of the named configuration (after a CA rotation). */
export async function patchCaBundle(cluster: ClusterClient, name: string, bundle: string): Promise<void> {
  const ref = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", name };
  const live = await cluster.get(ref);
  if (live === undefined) return;
  const caBundle = Buffer.from(bundle, "utf8").toString("base64");
  const webhooks = Array.isArray(live["webhooks"]) ? live["webhooks"] : [];
  const next = webhooks.map((w: unknown) =>
    isRecord(w) && isRecord(w["clientConfig"])
      ? { ...w, clientConfig: { ...w["clientConfig"], caBundle } }
      : w,
  );
  await cluster.replace({ ...live, webhooks: next });
}
