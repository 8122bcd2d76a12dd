// network-isolation: every namespace the revision runs workloads in must get, in the same revision, a
// NetworkPolicy that selects every pod and denies all ingress and all egress by default. The rule sees the
// whole revision, because the workload and the policy are different objects, often in different files.
import type { Manifest } from "../../render/types.js";
import type { Pack, Rule } from "../types.js";
import { asArray, field, isRecord } from "../types.js";
import { WORKLOAD_KINDS } from "../workloads.js";

function selectsAll(m: Manifest): boolean {
  const sel = field(m.object, "spec", "podSelector");
  return (
    isRecord(sel) &&
    Object.values(sel).every((v) =>
      Array.isArray(v) ? v.length === 0 : isRecord(v) && Object.keys(v).length === 0,
    )
  );
}

/** Which directions the policy denies by default: it names the type and allows nothing in it. */
function denies(m: Manifest): { ingress: boolean; egress: boolean } {
  const types = asArray(field(m.object, "spec", "policyTypes")).map(String);
  const hasIngressRules = asArray(field(m.object, "spec", "ingress")).length > 0;
  const hasEgressRules = asArray(field(m.object, "spec", "egress")).length > 0;
  // Without policyTypes, Kubernetes assumes Ingress, plus Egress when egress rules exist.
  const ingressType = types.length === 0 || types.includes("Ingress");
  const egressType = types.includes("Egress");
  return { ingress: ingressType && !hasIngressRules, egress: egressType && !hasEgressRules };
}

export const defaultDeny: Rule = {
  id: "network/default-deny",
  severity: "high",
  title: "Every namespace with workloads needs a default-deny NetworkPolicy for ingress and egress",
  remediation:
    "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] and no rules to the namespace, then allow the traffic the application needs with further policies.",
  check: function* (rev) {
    const firstWorkload = new Map<string, Manifest>();
    const deny = new Map<string, { ingress: boolean; egress: boolean }>();
    for (const m of rev.manifests) {
      const ns = m.namespace ?? rev.destinationNamespace ?? "default";
      if (WORKLOAD_KINDS.has(m.kind) && !firstWorkload.has(ns)) firstWorkload.set(ns, m);
      if (m.kind === "NetworkPolicy" && m.apiVersion.startsWith("networking.k8s.io/") && selectsAll(m)) {
        const d = denies(m);
        const cur = deny.get(ns) ?? { ingress: false, egress: false };
        deny.set(ns, { ingress: cur.ingress || d.ingress, egress: cur.egress || d.egress });
      }
    }
    for (const [ns, m] of firstWorkload) {
      const d = deny.get(ns) ?? { ingress: false, egress: false };
      const missing = [d.ingress ? undefined : "ingress", d.egress ? undefined : "egress"].filter(
        (x) => x !== undefined,
      );
      if (missing.length > 0) {
        yield {
          manifest: m,
          message: `namespace ${ns} has workloads but no default-deny NetworkPolicy for ${missing.join(" and ")}`,
        };
      }
    }
  },
};

export const networkIsolation: Pack = {
  id: "network-isolation",
  description: "Workloads run behind default-deny network policies.",
  rules: [defaultDeny],
};
