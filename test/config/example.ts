// The ARCHITECTURE.md example gitward.yaml, shared by the config tests; mutations of it exercise each error.
export const EXAMPLE = `apiVersion: gitward.dev/v1alpha1
kind: TrustPolicy            # cluster-scoped
metadata: { name: production }
spec:
  commits:
    signers:
      - name: platform
        ssh: ["ssh-ed25519 AAAA... alice@example.com"]
        openpgp: ["-----BEGIN PGP PUBLIC KEY BLOCK-----..."]
        paths: ["**"]
      - name: security
        ssh: ["ssh-ed25519 AAAA..."]
        paths: ["rbac/**", "network/**"]
    message: "^(OPS|SEC)-[0-9]+: "          # optional
    allowHistoryRewrite: false
  images:
    registries: ["registry.example.com/team/"]
    requireDigest: true
    signers: [{ name: ci, cosign: "-----BEGIN PUBLIC KEY-----..." }]
    attestations: [{ predicateType: "https://cyclonedx.org/bom" }]
  policy:
    packs: [pod-security-restricted, rbac-least-privilege, network-isolation, secrets-hygiene, supply-chain]
---
apiVersion: gitward.dev/v1alpha1
kind: Application            # namespaced
metadata: { name: shop, namespace: gitward-system }
spec:
  source: { url: "ssh://git@git.example.com/ops/config.git", ref: { branch: main }, path: apps/shop,
            secretRef: { name: shop-repo } }
  render: { type: directory }                 # directory | kustomize | helm
  destination: { namespace: shop, serviceAccountName: shop-deployer }
  trustPolicy: production
  interval: 1m
  prune: true
  drift: alert                                # alert | revert
`;

/** The example with `from` replaced by `to`; fails loudly if `from` is not in it (a stale test). */
export function mutate(from: string, to: string, text = EXAMPLE): string {
  if (!text.includes(from)) throw new Error(`test bug: ${JSON.stringify(from)} is not in the example`);
  return text.replace(from, to);
}

/** A minimal valid TrustPolicy + Application, for tests that need defaults to show. */
export const MINIMAL = `apiVersion: gitward.dev/v1alpha1
kind: TrustPolicy
metadata: { name: p }
spec:
  commits:
    signers: [{ name: a, ssh: ["ssh-ed25519 AAAA a@x"], paths: ["**"] }]
  images: { registries: ["127.0.0.1:5000/"] }
---
apiVersion: gitward.dev/v1alpha1
kind: Application
metadata: { name: app, namespace: ns }
spec:
  source: { url: "https://git.example.com/config.git", ref: { tag: v1 } }
  render: { type: kustomize }
  destination: { namespace: app, serviceAccountName: deployer }
  trustPolicy: p
`;

/** An AlertSink document: URL and HMAC secret come from the environment and a file, never the file itself. */
export const ALERT_SINK = `apiVersion: gitward.dev/v1alpha1
kind: AlertSink
metadata: { name: ops, namespace: gitward-system }
spec:
  type: webhook
  url: { env: OPS_WEBHOOK_URL }
  hmacSecret: { file: ops-hmac.txt }
  kinds: [revision-refused, drift-detected]
  minSeverity: warning
`;
