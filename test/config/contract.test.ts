// The schema-derived types must stay assignment-compatible, both ways, with the hand-written contract
// they replaced (the first src/config/types.ts, kept below as Legacy*): tsc fails this file if they drift.
import { describe, expect, it } from "vitest";
import { validateClusterObject } from "../../src/config/load.js";
import type { Application, TrustPolicy } from "../../src/config/types.js";

const API_VERSION = "gitward.dev/v1alpha1";
interface LegacyObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A person or team allowed to sign commits, and the paths it may change. */
interface LegacyCommitSigner {
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

interface LegacyCommitPolicy {
  signers: LegacyCommitSigner[];
  /** Optional regular expression every commit message must match. */
  message?: string;
  /** Default false: a head that does not descend from the last applied commit is refused. */
  allowHistoryRewrite?: boolean;
  /** On first run, every commit back to this one must verify (it is itself trusted as the root). */
  trustedRoot?: string;
  /** Ref names (globs) the repository is expected to have, for `verify repo`. */
  expectedRefs?: string[];
}

interface LegacyImageSigner {
  name: string;
  /** PEM public key (cosign.pub). */
  cosign?: string;
  /** Keyless identity, verified against `trustedRoot`. */
  keyless?: { issuer: string; subject: string };
}

interface LegacyAttestationRequirement {
  predicateType: string;
  /** Optional CEL condition over `predicate`. */
  condition?: string;
}

interface LegacyRegistryOptions {
  /** Registry host (with port), e.g. "127.0.0.1:5000". */
  host: string;
  /** Plain HTTP, allowed for loopback hosts only. */
  plainHTTP?: boolean;
  /** PEM CA bundle for TLS. */
  ca?: string;
}

interface LegacyImagePolicy {
  /** Allowed registry/repository prefixes. */
  registries: string[];
  requireDigest?: boolean;
  /** Allow a tag that moved for the same commit (default false: TAG_MOVED is refused). */
  allowTagMove?: boolean;
  signers?: LegacyImageSigner[];
  /** How many distinct signers must have signed (default 1). */
  threshold?: number;
  attestations?: LegacyAttestationRequirement[];
  /** Approved base images (name prefixes or name@digest). */
  baseImages?: string[];
  /** Sigstore trusted_root.json contents, for keyless verification. */
  trustedRoot?: string;
  registryOptions?: LegacyRegistryOptions[];
}

interface LegacyPolicyConfig {
  packs?: string[];
  /** Paths of ValidatingAdmissionPolicy-shaped rule files, relative to the config file. */
  custom?: string[];
  failOn?: "low" | "medium" | "high" | "critical";
}

interface LegacyTrustPolicySpec {
  // Optional since issue 16: a TrustPolicy may hold only images (an Application still needs commits).
  commits?: LegacyCommitPolicy;
  images?: LegacyImagePolicy;
  policy?: LegacyPolicyConfig;
}

interface LegacyTrustPolicy {
  apiVersion: typeof API_VERSION;
  kind: "TrustPolicy";
  metadata: LegacyObjectMeta;
  spec: LegacyTrustPolicySpec;
}

type LegacyGitRef = { branch: string } | { tag: string } | { commit: string };

interface LegacyApplicationSource {
  url: string;
  ref: LegacyGitRef;
  /** Folder inside the repository to render. */
  path?: string;
  /** Secret with git credentials (username/password, token, or identity + known_hosts). */
  secretRef?: { name: string };
}

type LegacyRenderType = "directory" | "kustomize" | "helm";

interface LegacyApplicationRender {
  type: LegacyRenderType;
  /** helm: values files inside the repository. */
  valuesFiles?: string[];
  /** kustomize: allow remote bases (default false). */
  allowRemoteBases?: boolean;
}

interface LegacyApplicationDestination {
  namespace: string;
  serviceAccountName: string;
  /** Namespaces other than `namespace` the application may write to (default none). */
  allowedNamespaces?: string[];
  /** Allow cluster-scoped objects (default false). */
  allowClusterScoped?: boolean;
}

interface LegacyApplicationSpec {
  source: LegacyApplicationSource;
  render: LegacyApplicationRender;
  destination: LegacyApplicationDestination;
  trustPolicy: string;
  /** Go-style duration, e.g. "1m", "30s". */
  interval?: string;
  prune?: boolean;
  drift?: "alert" | "revert";
}

interface LegacyApplication {
  apiVersion: typeof API_VERSION;
  kind: "Application";
  metadata: LegacyObjectMeta & { namespace: string };
  spec: LegacyApplicationSpec;
}

const legacyToNewPolicy = (x: LegacyTrustPolicy): TrustPolicy => x;
const newToLegacyPolicy = (x: TrustPolicy): LegacyTrustPolicy => x;
const legacyToNewApp = (x: LegacyApplication): Application => x;
const newToLegacyApp = (x: Application): LegacyApplication => x;

describe("config types contract", () => {
  it("objects written against the original contract validate and round-trip through the new types", () => {
    const policy: LegacyTrustPolicy = {
      apiVersion: API_VERSION,
      kind: "TrustPolicy",
      metadata: { name: "prod" },
      spec: {
        commits: { signers: [{ name: "a", ssh: ["ssh-ed25519 AAAA a@x"], paths: ["**"] }] },
        images: { registries: ["r.example.com/"], signers: [{ name: "ci", cosign: "PEM" }] },
      },
    };
    const app: LegacyApplication = {
      apiVersion: API_VERSION,
      kind: "Application",
      metadata: { name: "shop", namespace: "ns" },
      spec: {
        source: { url: "https://git.example.com/x.git", ref: { branch: "main" } },
        render: { type: "helm", valuesFiles: ["values.yaml"] },
        destination: { namespace: "shop", serviceAccountName: "deployer" },
        trustPolicy: "prod",
        drift: "revert",
      },
    };
    const checkedPolicy = newToLegacyPolicy(
      validateClusterObject(legacyToNewPolicy(policy), "p") as TrustPolicy,
    );
    const checkedApp = newToLegacyApp(validateClusterObject(legacyToNewApp(app), "a") as Application);
    expect(checkedPolicy.spec.commits?.signers[0]!.paths).toEqual(["**"]);
    expect(checkedApp.spec.drift).toBe("revert");
    const ref: LegacyGitRef = checkedApp.spec.source.ref;
    expect("branch" in ref ? ref.branch : undefined).toBe("main");
  });
});
