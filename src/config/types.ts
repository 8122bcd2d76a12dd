// The configuration contract of gitward (ARCHITECTURE.md "Config shape"): TrustPolicy and Application.
// Every domain takes its section of these types as input; src/config/ validates files into them.

export const API_VERSION = "gitward.dev/v1alpha1";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A person or team allowed to sign commits, and the paths it may change. */
export interface CommitSigner {
  name: string;
  /** SSH public keys in authorized_keys form ("ssh-ed25519 AAAA... comment"). */
  ssh?: string[];
  /** ASCII-armored OpenPGP public keys. */
  openpgp?: string[];
  /** Identities (emails) that commit as this signer, for the unknown-committer audit. */
  emails?: string[];
  /** Globs (picomatch) of repository paths this signer may change; "**" is everything. */
  paths: string[];
}

export interface CommitPolicy {
  signers: CommitSigner[];
  /** Optional regular expression every commit message must match. */
  message?: string;
  /** Default false: a head that does not descend from the last applied commit is refused. */
  allowHistoryRewrite?: boolean;
  /** On first run, every commit back to this one must verify (it is itself trusted as the root). */
  trustedRoot?: string;
  /** Ref names (globs) the repository is expected to have, for `verify repo`. */
  expectedRefs?: string[];
}

export interface ImageSigner {
  name: string;
  /** PEM public key (cosign.pub). */
  cosign?: string;
  /** Keyless identity, verified against `trustedRoot`. */
  keyless?: { issuer: string; subject: string };
}

export interface AttestationRequirement {
  predicateType: string;
  /** Optional CEL condition over `predicate`. */
  condition?: string;
}

export interface RegistryOptions {
  /** Registry host (with port), e.g. "127.0.0.1:5000". */
  host: string;
  /** Plain HTTP, allowed for loopback hosts only. */
  plainHTTP?: boolean;
  /** PEM CA bundle for TLS. */
  ca?: string;
}

export interface ImagePolicy {
  /** Allowed registry/repository prefixes. */
  registries: string[];
  requireDigest?: boolean;
  /** Allow a tag that moved for the same commit (default false: TAG_MOVED is refused). */
  allowTagMove?: boolean;
  signers?: ImageSigner[];
  /** How many distinct signers must have signed (default 1). */
  threshold?: number;
  attestations?: AttestationRequirement[];
  /** Approved base images (name prefixes or name@digest). */
  baseImages?: string[];
  /** Sigstore trusted_root.json contents, for keyless verification. */
  trustedRoot?: string;
  registryOptions?: RegistryOptions[];
}

export interface PolicyConfig {
  packs?: string[];
  /** Paths of ValidatingAdmissionPolicy-shaped rule files, relative to the config file. */
  custom?: string[];
  failOn?: "low" | "medium" | "high" | "critical";
}

export interface TrustPolicySpec {
  commits: CommitPolicy;
  images?: ImagePolicy;
  policy?: PolicyConfig;
}

export interface TrustPolicy {
  apiVersion: typeof API_VERSION;
  kind: "TrustPolicy";
  metadata: ObjectMeta;
  spec: TrustPolicySpec;
}

export type GitRef = { branch: string } | { tag: string } | { commit: string };

export interface ApplicationSource {
  url: string;
  ref: GitRef;
  /** Folder inside the repository to render. */
  path?: string;
  /** Secret with git credentials (username/password, token, or identity + known_hosts). */
  secretRef?: { name: string };
}

export type RenderType = "directory" | "kustomize" | "helm";

export interface ApplicationRender {
  type: RenderType;
  /** helm: values files inside the repository. */
  valuesFiles?: string[];
  /** kustomize: allow remote bases (default false). */
  allowRemoteBases?: boolean;
}

export interface ApplicationDestination {
  namespace: string;
  serviceAccountName: string;
  /** Namespaces other than `namespace` the application may write to (default none). */
  allowedNamespaces?: string[];
  /** Allow cluster-scoped objects (default false). */
  allowClusterScoped?: boolean;
}

export interface ApplicationSpec {
  source: ApplicationSource;
  render: ApplicationRender;
  destination: ApplicationDestination;
  trustPolicy: string;
  /** Go-style duration, e.g. "1m", "30s". */
  interval?: string;
  prune?: boolean;
  drift?: "alert" | "revert";
}

export interface Application {
  apiVersion: typeof API_VERSION;
  kind: "Application";
  metadata: ObjectMeta & { namespace: string };
  spec: ApplicationSpec;
}
