// Builders for policy tests: Manifests from plain objects, and a Deployment that passes every pack.
/* eslint-disable @typescript-eslint/no-explicit-any --
   test data: the tests mutate deep, untyped pod specs in place, as YAML would give them. */
import type { Manifest } from "../../src/render/types.js";

export const DIGEST = "sha256:" + "a".repeat(64);
export const GOOD_IMAGE = `registry.example.com/team/app:1.0@${DIGEST}`;

let line = 0;
export function mf(object: Record<string, unknown>, file = "apps/test.yaml"): Manifest {
  const md = object["metadata"] as { name: string; namespace?: string };
  line += 10;
  return {
    apiVersion: object["apiVersion"] as string,
    kind: object["kind"] as string,
    name: md.name,
    ...(md.namespace === undefined ? {} : { namespace: md.namespace }),
    object,
    origin: { file, line },
  };
}

/** A Deployment that satisfies Restricted, supply-chain and has a default-deny policy beside it. */
export function goodPodSpec(): Record<string, unknown> {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: GOOD_IMAGE,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        ports: [{ containerPort: 8080 }],
      },
    ],
    volumes: [{ name: "cfg", configMap: { name: "cfg" } }],
  };
}

export function deployment(
  name: string,
  mutate?: (pod: Record<string, any>) => void,
  ns = "shop",
): Record<string, unknown> {
  const pod = goodPodSpec();
  mutate?.(pod);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: pod },
    },
  };
}

export function denyAll(ns = "shop"): Record<string, unknown> {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "default-deny", namespace: ns },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
}
