// The built-in packs by id, so configuration (TrustPolicy spec.policy.packs) and the CLI can name them.
import type { ImagePolicy } from "../config/types.js";
import { networkIsolation } from "./packs/network.js";
import { podSecurityBaseline, podSecurityRestricted } from "./packs/pod-security.js";
import { rbacLeastPrivilege } from "./packs/rbac.js";
import { notInspected } from "./packs/not-inspected.js";
import { secretEnv } from "./packs/secret-env.js";
import { secretsHygiene } from "./packs/secrets.js";
import { supplyChain } from "./packs/supply-chain.js";
import type { Pack } from "./types.js";

export const PACK_IDS = [
  "pod-security-baseline",
  "pod-security-restricted",
  "rbac-least-privilege",
  "network-isolation",
  "secrets-hygiene",
  "supply-chain",
] as const;
export type PackId = (typeof PACK_IDS)[number];

/** The packs gitward checks when the configuration names none: all of them, Restricted for pods. */
export const DEFAULT_PACKS: readonly PackId[] = [
  "pod-security-restricted",
  "rbac-least-privilege",
  "network-isolation",
  "secrets-hygiene",
  "supply-chain",
];

export function isPackId(id: string): id is PackId {
  return (PACK_IDS as readonly string[]).includes(id);
}

/**
 * Every built-in pack also reports the Flux and Argo CD objects it cannot see into (policy/not-inspected):
 * whichever packs a team selects, a pass never hides that part of the revision went unchecked. The check
 * keys rules by id, so the rule runs once however many packs carry it.
 */
export function builtinPack(id: PackId, imagePolicy: ImagePolicy | undefined): Pack {
  const pack = basePack(id, imagePolicy);
  return { ...pack, rules: [...pack.rules, notInspected] };
}

function basePack(id: PackId, imagePolicy: ImagePolicy | undefined): Pack {
  switch (id) {
    case "pod-security-baseline":
      return podSecurityBaseline;
    case "pod-security-restricted":
      return podSecurityRestricted;
    case "rbac-least-privilege":
      return rbacLeastPrivilege;
    case "network-isolation":
      return networkIsolation;
    case "secrets-hygiene":
      // The env rule lives in its own file; the pack's object rules are secrets.ts's plus it.
      return { ...secretsHygiene, rules: [...secretsHygiene.rules, secretEnv] };
    case "supply-chain":
      return supplyChain(imagePolicy);
  }
}
