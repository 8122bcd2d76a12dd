// Image trust verdicts (trust/image/verify.ts) as check findings: an image that failed verification is a
// critical finding on every container that uses it, with the object's file:line, so `gitward check` fails
// in CI where the reconcile's check step would refuse the revision. Verifying needs a registry; this
// module only says which images to verify and turns the verdicts into findings.
import type { ImagePolicy } from "../config/types.js";
import type { Manifest } from "../render/types.js";
import { ImageCode } from "../trust/image/codes.js";
import type { ImageResult } from "../trust/image/verify.js";
import { refOf, type Finding, type Severity } from "./types.js";
import { containers, describeContainer, podTemplates } from "./workloads.js";

/** Every failure stops the revision in the reconcile, so every one fails the check at any --fail-on. */
export const IMAGE_TRUST_SEVERITY: Severity = "critical";

/** What the user can do about each verdict; the compiler checks that every code has an entry. */
const REMEDIATION: Readonly<Record<ImageCode, string>> = {
  POLICY_INVALID: "Fix spec.images of the TrustPolicy (keys, CEL conditions).",
  INVALID_REFERENCE: "Write the image as registry/repository[:tag][@sha256:...].",
  REGISTRY_NOT_ALLOWED: "Push the image to an allowed registry, or add its prefix to spec.images.registries.",
  REGISTRY_ERROR:
    "Make the registry reachable (credentials with --docker-config, TLS with --ca, --plain-http for a loopback registry) and run the check again.",
  INSECURE_REGISTRY: "Serve the registry over TLS; plain HTTP is allowed for loopback registries only.",
  IMAGE_NOT_FOUND: "Push the image, or fix its name, tag or digest.",
  MANIFEST_DIGEST_MISMATCH:
    "The registry serves other content than the digest names: do not use this registry.",
  TAG_MOVED: "Pin the new digest in git to accept it (name:tag@sha256:...).",
  UNSIGNED: "Sign the image with a trusted key (`gitward images sign` or `cosign sign`).",
  UNKNOWN_SIGNER: "Sign the image with a key listed in spec.images.signers.",
  BAD_SIGNATURE: "Sign the image again; its signature does not verify.",
  SIGNATURE_DIGEST_MISMATCH: "Sign this image's digest; the signature covers another image.",
  REFERENCE_MISMATCH: "Sign the image under the repository it is deployed from.",
  SIGNATURE_MALFORMED: "Sign the image again with cosign or `gitward images sign`.",
  SIGNATURE_TOO_LARGE: "Sign the image again with cosign or `gitward images sign`.",
  THRESHOLD_NOT_MET:
    "Have more of the signers in spec.images.signers sign the image (spec.images.threshold).",
  ATTESTATION_MISSING: "Attach the required attestation, signed by a trusted key (`gitward images attest`).",
  ATTESTATION_UNVERIFIED: "Sign the attestation with a key listed in spec.images.signers, for this digest.",
  ATTESTATION_CONDITION_FAILED:
    "Fix what the attestation reports (for example its vulnerabilities), then attest again.",
  BASE_IMAGE_NOT_APPROVED: "Build the image on a base listed in spec.images.baseImages.",
};

/** `images/unsigned`, `images/tag-moved`: the verdict code in the form of the other rule ids. */
export function imageRuleId(code: ImageCode): string {
  return `images/${code.toLowerCase().replace(/_/g, "-")}`;
}

/** The verdict of a failed image; a failure always carries a code, the fallback only keeps this total. */
function failureCode(v: ImageResult): ImageCode {
  return v.code ?? ImageCode.POLICY_INVALID;
}

/** The rules behind the findings of these verdicts, one per failure code, for the report and SARIF. */
export function imageTrustRules(
  verdicts: readonly ImageResult[],
): { id: string; severity: Severity; title: string }[] {
  const codes = new Set(verdicts.filter((v) => !v.ok).map(failureCode));
  return [...codes].map((code) => ({
    id: imageRuleId(code),
    severity: IMAGE_TRUST_SEVERITY,
    title: `Images must pass the TrustPolicy's image checks (${code})`,
  }));
}

/**
 * True when the policy asks for something only the registry can answer (signatures, attestations, base
 * images). Registries and digest pinning alone are checked from the manifests by the supply-chain pack, so
 * a check with such a policy needs no network.
 */
export function needsRegistry(policy: ImagePolicy): boolean {
  return (
    (policy.signers?.length ?? 0) > 0 ||
    (policy.attestations?.length ?? 0) > 0 ||
    (policy.baseImages?.length ?? 0) > 0
  );
}

/** Every image named by a container of the revision's pod templates, once, in order of appearance. */
export function revisionImages(manifests: readonly Manifest[]): string[] {
  const images = new Set<string>();
  for (const t of podTemplates(manifests)) {
    for (const c of containers(t.spec)) {
      const image = c.c["image"];
      // A missing image is the supply-chain pack's finding; there is nothing to verify.
      if (typeof image === "string" && image !== "") images.add(image);
    }
  }
  return [...images];
}

/**
 * Why an image failed, for a line that names the image already: the failed checks' messages, each without
 * a leading repeat of the reference (the verifier names a digest-pinned image in full, so the line would
 * print its digest twice). A message naming more, such as the digest a tag resolved to, is kept whole.
 */
export function imageFailureReason(verdict: ImageResult): string {
  const messages = verdict.checks
    .filter((c) => c.verdict === "fail")
    .map((c) => {
      const rest = c.message.startsWith(verdict.ref) ? c.message.slice(verdict.ref.length) : undefined;
      return rest !== undefined && /^(:? |$)/.test(rest) ? rest.replace(/^:? /, "") : c.message;
    });
  return messages.length > 0 ? messages.join("; ") : (verdict.code ?? "REFUSED");
}

/** One finding per container whose image failed verification. */
export function imageTrustFindings(
  manifests: readonly Manifest[],
  verdicts: readonly ImageResult[],
): Finding[] {
  const failed = new Map(verdicts.filter((v) => !v.ok).map((v) => [v.ref, v]));
  const findings: Finding[] = [];
  if (failed.size === 0) return findings;
  for (const t of podTemplates(manifests)) {
    for (const c of containers(t.spec)) {
      const image = c.c["image"];
      const verdict = typeof image === "string" ? failed.get(image) : undefined;
      if (verdict === undefined) continue;
      const code = failureCode(verdict);
      findings.push({
        ruleId: imageRuleId(code),
        severity: IMAGE_TRUST_SEVERITY,
        message: `${describeContainer(c)} uses ${verdict.ref}: ${imageFailureReason(verdict)}`,
        remediation: REMEDIATION[code],
        object: refOf(t.manifest),
        origin: t.manifest.origin,
      });
    }
  }
  return findings;
}
