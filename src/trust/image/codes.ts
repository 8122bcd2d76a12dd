// The closed set of verdict codes of image verification, shared by the CLI, the reconcile's conditions, the
// audit log and the tests. "The crypto is invalid" and "valid, but not what the policy trusts" stay apart.

export const ImageCode = {
  /** The policy itself is unusable (bad key, bad CEL condition): nothing was checked. */
  POLICY_INVALID: "POLICY_INVALID",
  INVALID_REFERENCE: "INVALID_REFERENCE",
  REGISTRY_NOT_ALLOWED: "REGISTRY_NOT_ALLOWED",
  /** The registry could not be reached, refused us, or answered with something unusable. */
  REGISTRY_ERROR: "REGISTRY_ERROR",
  /** Plain HTTP was asked for a non-loopback registry. */
  INSECURE_REGISTRY: "INSECURE_REGISTRY",
  IMAGE_NOT_FOUND: "IMAGE_NOT_FOUND",
  /** The manifest served does not hash to the digest asked for or announced. */
  MANIFEST_DIGEST_MISMATCH: "MANIFEST_DIGEST_MISMATCH",
  /** The tag resolves to another digest than the one recorded for this commit. */
  TAG_MOVED: "TAG_MOVED",
  UNSIGNED: "UNSIGNED",
  /** Signatures exist, but none verifies under a key the policy trusts. */
  UNKNOWN_SIGNER: "UNKNOWN_SIGNER",
  /** A bundle names a trusted key but its signature does not verify. */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /** A valid signature, but over another image digest. */
  SIGNATURE_DIGEST_MISMATCH: "SIGNATURE_DIGEST_MISMATCH",
  /** A valid signature, but its docker-reference names another repository. */
  REFERENCE_MISMATCH: "REFERENCE_MISMATCH",
  /** A signature layer or bundle that cannot be parsed (truncated, wrong type, bad base64). */
  SIGNATURE_MALFORMED: "SIGNATURE_MALFORMED",
  SIGNATURE_TOO_LARGE: "SIGNATURE_TOO_LARGE",
  /** Fewer distinct trusted signers than the policy's threshold. */
  THRESHOLD_NOT_MET: "THRESHOLD_NOT_MET",
  ATTESTATION_MISSING: "ATTESTATION_MISSING",
  /** An attestation of the required type exists but is not signed by a trusted key, or names another digest. */
  ATTESTATION_UNVERIFIED: "ATTESTATION_UNVERIFIED",
  ATTESTATION_CONDITION_FAILED: "ATTESTATION_CONDITION_FAILED",
  BASE_IMAGE_NOT_APPROVED: "BASE_IMAGE_NOT_APPROVED",
} as const;
export type ImageCode = (typeof ImageCode)[keyof typeof ImageCode];

export type CheckName =
  "reference" | "registry" | "digest" | "tag" | "signatures" | "attestations" | "base-image";

export interface ImageCheck {
  name: CheckName;
  /** "pass", "fail", or "skip" when the policy does not ask for it. */
  verdict: "pass" | "fail" | "skip";
  code?: ImageCode;
  message: string;
}

/** Failure codes of one signature, most specific first: the image's code is the first one seen. */
export const SIGNATURE_CODE_ORDER: readonly ImageCode[] = [
  ImageCode.SIGNATURE_DIGEST_MISMATCH,
  ImageCode.REFERENCE_MISMATCH,
  ImageCode.BAD_SIGNATURE,
  ImageCode.SIGNATURE_TOO_LARGE,
  ImageCode.SIGNATURE_MALFORMED,
  ImageCode.UNKNOWN_SIGNER,
  ImageCode.REGISTRY_ERROR,
];
