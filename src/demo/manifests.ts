// The demo's embedded defaults: its gitward.yaml (one TrustPolicy trusting the demo key, one Application)
// and the config repository's files, a small shop that passes the restricted pod security, RBAC and
// network isolation packs.

const config = (url: string, publicKeyLine: string): string => `apiVersion: gitward.dev/v1alpha1
kind: TrustPolicy
metadata:
  name: demo
spec:
  commits:
    signers:
      - name: platform
        ssh: [${JSON.stringify(publicKeyLine)}]
        paths: ["**"]
  policy:
    packs: [pod-security-restricted, rbac-least-privilege, network-isolation]
---
apiVersion: gitward.dev/v1alpha1
kind: Application
metadata:
  name: shop
  namespace: gitward-system
spec:
  source:
    url: ${JSON.stringify(url)}
    ref: { branch: main }
    path: apps/shop
  render: { type: directory }
  destination: { namespace: shop, serviceAccountName: shop-deployer }
  trustPolicy: demo
  prune: true
`;

const web = (mode: "restricted" | "privileged"): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
      containers:
        - name: web
          image: registry.demo.gitward.dev/shop/web@sha256:${"5".repeat(64)}
          ports: [{ containerPort: 8080 }]
          securityContext:
${
  mode === "restricted"
    ? `            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }`
    : `            privileged: true`
}
`;

const settings = (color: string, note: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: ${color}
  note: ${note}
`;

const initial: Record<string, string> = {
  "apps/shop/web.yaml": web("restricted"),
  "apps/shop/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`,
  "apps/shop/settings.yaml": settings("blue", "first release"),
  "apps/shop/banner.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: banner
data:
  text: Grand opening
`,
  "apps/shop/network.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`,
  "README.md": "The shop's configuration. Every commit must be signed by the platform team.\n",
};

export const MANIFESTS = { config, web, settings, initial } as const;
