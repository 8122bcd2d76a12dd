// The peer comparison's corpus: Kubernetes objects that trip many checks, and (assembled at run time,
// so that this file holds no credential) files with secrets in the formats trivy and gitward detect.

export const CORPUS: Record<string, string> = {
  "apps/bad-deploy.yaml":
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: { app: web }\n  template:\n    metadata:\n      labels: { app: web }\n    spec:\n      hostNetwork: true\n      hostPID: true\n      hostIPC: true\n      containers:\n        - name: app\n          image: nginx:latest\n          securityContext:\n            privileged: true\n            capabilities:\n              add: ["SYS_ADMIN", "NET_RAW"]\n          ports:\n            - containerPort: 80\n              hostPort: 80\n          volumeMounts:\n            - name: docker\n              mountPath: /var/run/docker.sock\n      volumes:\n        - name: docker\n          hostPath:\n            path: /var/run/docker.sock\n',
  "apps/rbac.yaml":
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: too-much\nrules:\n  - apiGroups: ["*"]\n    resources: ["*"]\n    verbs: ["*"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: secrets-reader\nrules:\n  - apiGroups: [""]\n    resources: ["secrets"]\n    verbs: ["get", "list", "watch"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: exec\n  namespace: shop\nrules:\n  - apiGroups: [""]\n    resources: ["pods/exec"]\n    verbs: ["create"]\n  - apiGroups: ["rbac.authorization.k8s.io"]\n    resources: ["roles", "rolebindings"]\n    verbs: ["create", "update", "bind", "escalate"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: admin-all\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects:\n  - kind: ServiceAccount\n    name: default\n    namespace: shop\n',
  "apps/secret.yaml":
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  password: hunter2\n",
  "apps/rbac2.yaml":
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: node-proxy }\nrules:\n  - apiGroups: [""]\n    resources: ["nodes/proxy"]\n    verbs: ["get"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: webhooks }\nrules:\n  - apiGroups: ["admissionregistration.k8s.io"]\n    resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]\n    verbs: ["create", "update", "delete"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: net, namespace: shop }\nrules:\n  - apiGroups: ["networking.k8s.io", ""]\n    resources: ["networkpolicies", "services", "endpoints"]\n    verbs: ["create", "update", "delete"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: wildverb, namespace: shop }\nrules:\n  - apiGroups: [""]\n    resources: ["configmaps"]\n    verbs: ["*"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: workloads, namespace: shop }\nrules:\n  - apiGroups: ["apps", ""]\n    resources: ["deployments", "pods", "daemonsets"]\n    verbs: ["create", "update", "delete"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: logs, namespace: shop }\nrules:\n  - apiGroups: [""]\n    resources: ["pods/log"]\n    verbs: ["delete"]\n  - apiGroups: [""]\n    resources: ["serviceaccounts/token"]\n    verbs: ["create"]\n  - apiGroups: [""]\n    resources: ["persistentvolumes"]\n    verbs: ["create"]\n  - apiGroups: ["certificates.k8s.io"]\n    resources: ["certificatesigningrequests/approval"]\n    verbs: ["update"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: impersonate, namespace: shop }\nrules:\n  - apiGroups: [""]\n    resources: ["users", "groups", "serviceaccounts"]\n    verbs: ["impersonate"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: secrets-ns, namespace: shop }\nrules:\n  - apiGroups: [""]\n    resources: ["secrets"]\n    verbs: ["get", "list"]\n',
  "apps/pods.yaml":
    'apiVersion: v1\nkind: Pod\nmetadata: { name: p1, namespace: shop }\nspec:\n  securityContext:\n    sysctls: [{ name: kernel.msgmax, value: "1" }]\n    seLinuxOptions: { type: spc_t, user: root }\n    seccompProfile: { type: Unconfined }\n  containers:\n    - name: c\n      image: registry.example.com/app\n      securityContext:\n        procMount: Unmasked\n        runAsUser: 0\n        appArmorProfile: { type: Unconfined }\n        windowsOptions: { hostProcess: true }\n      env:\n        - name: PASSWORD\n          value: "s3cr3t-Passw0rd-Xy9"\n  volumes:\n    - name: n\n      nfs: { server: x, path: / }\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: { name: cj, namespace: shop, annotations: {} }\nspec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          annotations:\n            container.apparmor.security.beta.kubernetes.io/c: unconfined\n        spec:\n          restartPolicy: Never\n          containers:\n            - name: c\n              image: busybox\n              securityContext:\n                capabilities: { add: ["NET_ADMIN", "SYS_MODULE"] }\n                allowPrivilegeEscalation: true\n          volumes:\n            - name: root\n              hostPath: { path: / }\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: ds, namespace: kube-system }\nspec:\n  selector: { matchLabels: { a: b } }\n  template:\n    metadata: { labels: { a: b } }\n    spec:\n      containers:\n        - name: c\n          image: docker.io/library/alpine:3.19\n          securityContext: { privileged: true }\n          volumeMounts: [{ name: run, mountPath: /var/run/containerd/containerd.sock }]\n      volumes:\n        - name: run\n          hostPath: { path: /var/run/containerd/containerd.sock }\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: allow-all, namespace: shop }\nspec:\n  podSelector: {}\n  ingress: [{}]\n  egress: [{}]\n  policyTypes: [Ingress, Egress]\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: tls, namespace: shop }\ntype: kubernetes.io/tls\ndata:\n  tls.crt: Zm9v\n  tls.key: YmFy\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: shop }\ndata:\n  password: "s3cr3t-Passw0rd-Xy9"\n  aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n',
};
/** Made-up credentials in their issuers' formats, joined at run time. */
export function secretFiles(): Record<string, string> {
  const j = (...parts: string[]): string => parts.join("");
  return {
    "config/creds.env": [
      j("AWS_ACCESS_KEY_ID=", "AKIA", "Q3EGRIDZXN5ABCDE"),
      j("GITHUB_TOKEN=", "ghp_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
      "",
    ].join("\n"),
    "config/key.pem": [
      j("-----BEGIN RSA ", "PRIVATE KEY-----"),
      "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
      j("-----END RSA ", "PRIVATE KEY-----"),
      "",
    ].join("\n"),
    "config/more.txt": [
      j("slack: ", "xoxb-", "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
      j("stripe: ", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc"),
      j("gitlab: ", "glpat-", "x1Y2z3A4b5C6d7E8f9G0"),
      j("google: ", "AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
      j("npm: ", "npm_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
      j("sendgrid: ", "SG.", "ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
      j("url: https://admin:", "Sup3rS3cretPw", "@db.example.com/x"),
      j("aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYEXAMPLEKEY"),
      j('docker: {"auths":{"r.io":{"auth":"', "dXNlcjpwYXNzd29yZDEyMzQ1Njc4OTA=", '"}}}'),
      j("hf: ", "hf_", "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"),
      "",
    ].join("\n"),
  };
}
