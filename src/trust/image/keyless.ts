// Keyless bundles (Fulcio certificate + Rekor entry) verified offline with @sigstore/verify against the
// policy's trusted_root.json: certificate chain, transparency log, signature, then the identity (issuer and
// subject) of each keyless signer of the policy. Crypto failures and "valid, but not our signer" stay apart.
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { PolicyError, Verifier, toSignedEntity, toTrustMaterial } from "@sigstore/verify";
import { ImageCode } from "./codes.js";
import { parseStatement, type KeyBundle } from "./formats.js";
import type { CompiledImagePolicy } from "./policy.js";
import type { SignatureOutcome } from "./signatures.js";

/** One Verifier per trusted root text: building trust material parses every certificate in it. */
const verifiers = new Map<string, Verifier>();

function verifierFor(trustedRoot: string): Verifier | string {
  let v = verifiers.get(trustedRoot);
  if (v === undefined) {
    try {
      const material = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(trustedRoot)));
      v = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1 });
    } catch (err) {
      return `spec.images.trustedRoot is not a usable trusted_root.json: ${err instanceof Error ? err.message : String(err)}`;
    }
    verifiers.set(trustedRoot, v);
  }
  return v;
}

/** Verifies a keyless bundle; on success names the keyless signers whose identity the certificate carries. */
export function verifyKeylessBundle(bundle: KeyBundle, policy: CompiledImagePolicy): SignatureOutcome {
  if (policy.trustedRoot === undefined) {
    return {
      ok: false,
      code: ImageCode.UNKNOWN_SIGNER,
      message: "keyless bundle, but the policy has no trustedRoot",
    };
  }
  const verifier = verifierFor(policy.trustedRoot);
  if (typeof verifier === "string") return { ok: false, code: ImageCode.BAD_SIGNATURE, message: verifier };
  let entity: ReturnType<typeof toSignedEntity>;
  try {
    entity = toSignedEntity(bundleFromJSON(bundle.json));
  } catch (err) {
    return {
      ok: false,
      code: ImageCode.SIGNATURE_MALFORMED,
      message: `keyless bundle: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  const signers: string[] = [];
  let lastPolicyError = "";
  for (const s of policy.keylessSigners) {
    try {
      verifier.verify(entity, {
        subjectAlternativeName: s.keyless.subject,
        extensions: { issuer: s.keyless.issuer },
      });
      signers.push(s.name);
    } catch (err) {
      if (err instanceof PolicyError) {
        lastPolicyError = err.message;
        continue;
      }
      // Not a policy mismatch: the certificate chain, log entry or signature itself is invalid.
      return {
        ok: false,
        code: ImageCode.BAD_SIGNATURE,
        message: `keyless bundle does not verify: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }
  if (signers.length === 0) {
    return {
      ok: false,
      code: ImageCode.UNKNOWN_SIGNER,
      message: `keyless bundle from an identity the policy does not list (${lastPolicyError})`,
    };
  }
  if (bundle.dsse === undefined) {
    return {
      ok: false,
      code: ImageCode.SIGNATURE_MALFORMED,
      message: "keyless message signatures are not supported; sign with DSSE",
    };
  }
  const statement = parseStatement(bundle.dsse);
  if (!statement.ok) return { ok: false, code: ImageCode.SIGNATURE_MALFORMED, message: statement.reason };
  return { ok: true, signers, statement: statement.value };
}
