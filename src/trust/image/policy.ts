// Turns the TrustPolicy's `spec.images` into what verification needs, once: parsed keys with their hints,
// compiled CEL conditions, defaults (threshold 1), and a fingerprint that keys the verification cache.
import { createHash } from "node:crypto";
import { celEnv, parse, plan, type CelResult } from "@bufbuild/cel";
import type { AttestationRequirement, ImagePolicy, ImageSigner } from "../../config/types.js";
import { keyHint, parsePublicKey, type TrustedKey } from "./keys.js";

export const IMAGE_POLICY_DEFAULTS = {
  threshold: 1,
  requireDigest: true,
  allowTagMove: false,
} as const;

export interface CompiledRequirement {
  predicateType: string;
  condition?: { source: string; evaluate: (predicate: unknown) => CelResult };
}

export interface CompiledImagePolicy {
  source: ImagePolicy;
  registries: string[];
  requireDigest: boolean;
  allowTagMove: boolean;
  keys: TrustedKey[];
  signerNames: string[];
  keylessSigners: (ImageSigner & { keyless: { issuer: string; subject: string } })[];
  threshold: number;
  attestations: CompiledRequirement[];
  baseImages: string[];
  trustedRoot?: string;
  /** sha256 over everything that decides a digest's verdict. */
  fingerprint: string;
}

export type CompileResult = { ok: true; policy: CompiledImagePolicy } | { ok: false; errors: string[] };

/** JSON → CEL input: objects become Maps, integers bigint (CEL int), other numbers double. */
export function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === "object" && value !== null) {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

export function compileImagePolicy(policy: ImagePolicy): CompileResult {
  const errors: string[] = [];
  const keys: TrustedKey[] = [];
  const names = new Set<string>();
  const keylessSigners: CompiledImagePolicy["keylessSigners"] = [];
  for (const [i, s] of (policy.signers ?? []).entries()) {
    const where = `spec.images.signers[${i}] (${s.name})`;
    if (names.has(s.name))
      errors.push(`${where}: signer name is used twice; names count toward the threshold`);
    names.add(s.name);
    if (s.cosign === undefined && s.keyless === undefined)
      errors.push(`${where}: needs a cosign key or a keyless identity`);
    if (s.cosign !== undefined) {
      const parsed = parsePublicKey(s.cosign);
      if (parsed.ok) keys.push({ signer: s.name, key: parsed.key, hint: keyHint(parsed.key) });
      else errors.push(`${where}: ${parsed.reason}`);
    }
    if (s.keyless !== undefined) {
      keylessSigners.push({ ...s, keyless: s.keyless });
      if (policy.trustedRoot === undefined)
        errors.push(`${where}: keyless signers need spec.images.trustedRoot`);
    }
  }
  const threshold = policy.threshold ?? IMAGE_POLICY_DEFAULTS.threshold;
  if (!Number.isInteger(threshold) || threshold < 1)
    errors.push("spec.images.threshold must be a positive integer");
  else if (names.size > 0 && threshold > names.size) {
    errors.push(`spec.images.threshold ${threshold} exceeds the ${names.size} signers listed`);
  }
  const attestations: CompiledRequirement[] = [];
  for (const [i, a] of (policy.attestations ?? []).entries()) {
    const compiled = compileRequirement(a, `spec.images.attestations[${i}]`);
    if (typeof compiled === "string") errors.push(compiled);
    else attestations.push(compiled);
  }
  if ((policy.attestations ?? []).length > 0 && keys.length === 0) {
    errors.push("spec.images.attestations need signers with cosign keys to verify them");
  }
  if (errors.length > 0) return { ok: false, errors };
  const fingerprint = createHash("sha256")
    .update(
      JSON.stringify([
        policy.signers ?? [],
        threshold,
        policy.attestations ?? [],
        policy.baseImages ?? [],
        policy.trustedRoot ?? "",
      ]),
    )
    .digest("hex");
  return {
    ok: true,
    policy: {
      source: policy,
      registries: policy.registries,
      requireDigest: policy.requireDigest ?? IMAGE_POLICY_DEFAULTS.requireDigest,
      allowTagMove: policy.allowTagMove ?? IMAGE_POLICY_DEFAULTS.allowTagMove,
      keys,
      signerNames: [...names],
      keylessSigners,
      threshold: names.size === 0 ? 0 : threshold,
      attestations,
      baseImages: policy.baseImages ?? [],
      ...(policy.trustedRoot === undefined ? {} : { trustedRoot: policy.trustedRoot }),
      fingerprint,
    },
  };
}

function compileRequirement(a: AttestationRequirement, where: string): CompiledRequirement | string {
  if (a.predicateType === "") return `${where}: predicateType is empty`;
  if (a.condition === undefined) return { predicateType: a.predicateType };
  try {
    const program = plan(celEnv(), parse(a.condition));
    return {
      predicateType: a.predicateType,
      condition: {
        source: a.condition,
        // The CEL library types its bindings per declared variable; our only variable is `predicate`.
        evaluate: (predicate) => program({ predicate: toCel(predicate) as never }),
      },
    };
  } catch (err) {
    return `${where}: condition does not parse as CEL: ${err instanceof Error ? err.message : String(err)}`;
  }
}
