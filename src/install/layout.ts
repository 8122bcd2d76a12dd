// Names and shapes shared by the install manifests, the install commands and doctor: the namespaces, the
// operator's account, the labels that mark what `gitward install` made, and the options of one install.
import type { KubeObject } from "../cluster/client.js";

export const SYSTEM_NAMESPACE = "gitward-system";
export const KEY_NAMESPACE = "gitward-keys";
export const OPERATOR_ACCOUNT = "gitward";
export const OPERATOR_DEPLOYMENT = "gitward";
/** The Secret the Deployment mounts the audit signing key from (made by install when missing: audit-key.ts). */
export const AUDIT_KEY_SECRET = "gitward-audit-key";
/** The field manager of `gitward install`: its fields are told apart from the operator's ("gitward"). */
export const INSTALL_FIELD_MANAGER = "gitward-install";
/** On every object install makes, so uninstall and doctor find exactly those. */
export const PART_OF_LABEL = "app.kubernetes.io/part-of";
export const PART_OF = "gitward";

/** One object of the install and the file of deploy/install it is written to, with a comment on why. */
export interface Placed {
  readonly file: string;
  readonly object: KubeObject;
  /** Written above the object in deploy/install (the reasoning that used to live in the YAML by hand). */
  readonly comment?: string;
}

/** Where the operator may connect: each a list of CIDRs and TCP ports (NetworkPolicy egress). */
export interface EgressTarget {
  readonly cidrs: readonly string[];
  readonly ports: readonly number[];
}

export interface NetworkOptions {
  readonly apiServer: EgressTarget;
  readonly git: EgressTarget;
  readonly registries: EgressTarget;
  /** The cluster DNS: pods in this namespace (by its kubernetes.io/metadata.name label), UDP and TCP 53. */
  readonly dnsNamespace: string;
}

export interface ResourceOptions {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
}

export interface InstallOptions {
  /** The operator image, pinned by digest (image.ts refuses anything else). */
  readonly image: string;
  readonly replicas: number;
  readonly resources: ResourceOptions;
  readonly network: NetworkOptions;
  /** Namespaces besides gitward-system that hold Applications: each gets the RoleBinding of rbac.ts. */
  readonly applicationNamespaces: readonly string[];
  /**
   * The extension point of the admission webhook (a later part of issue 16): its
   * ValidatingWebhookConfiguration, Service and Secret, placed in the files named, applied after the
   * operator's objects and removed with them. Empty until that part lands.
   */
  readonly admissionWebhookObjects: readonly Placed[];
}

/**
 * The defaults: egress to any address on the usual ports (git over HTTPS, SSH and git://, registries over
 * HTTPS, the API server on 443 and 6443); narrow the CIDRs to your API server, git hosts and registries.
 */
export const INSTALL_DEFAULTS: Omit<InstallOptions, "image"> = {
  replicas: 2,
  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
  network: {
    apiServer: { cidrs: ["0.0.0.0/0"], ports: [443, 6443] },
    git: { cidrs: ["0.0.0.0/0"], ports: [443, 22, 9418] },
    registries: { cidrs: ["0.0.0.0/0"], ports: [443] },
    dnsNamespace: "kube-system",
  },
  applicationNamespaces: [],
  admissionWebhookObjects: [],
};
