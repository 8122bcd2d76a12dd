// Verifies the signature embedded in a commit or tag against the trust policy's keys, whatever its
// format: OpenPGP through OpenPgpVerifier, SSHSIG through node:crypto. Returns which signers hold the key.
import type { EmbeddedSignature } from "../../source/commit.js";
import type { CompiledCommitPolicy } from "./keys.js";
import { OpenPgpVerifier, type SignatureCheck } from "./openpgp-verify.js";
import { sshFingerprint } from "./ssh-keys.js";
import { checkSshSignature, parseSshSignature, type SshSignature } from "./sshsig.js";

export type { SignatureCheck } from "./openpgp-verify.js";

export class SignatureVerifier {
  private readonly openpgp: OpenPgpVerifier;

  constructor(
    private readonly policy: CompiledCommitPolicy,
    now: Date,
  ) {
    this.openpgp = new OpenPgpVerifier(policy.openpgp, now);
  }

  async verify(signature: EmbeddedSignature | undefined, payload: Buffer): Promise<SignatureCheck> {
    if (signature === undefined) {
      return {
        ok: false,
        code: "UNSIGNED",
        reason: "not signed; sign it with a key of the trust policy (git commit -S)",
      };
    }
    switch (signature.format) {
      case "openpgp":
        return this.openpgp.verify(signature.armored, payload);
      case "ssh":
        return this.verifySsh(signature.armored, payload);
      case "x509":
        return {
          ok: false,
          code: "UNSUPPORTED_SIGNATURE",
          reason: "x509 (S/MIME) signatures are not supported; sign with an OpenPGP or SSH key",
        };
      case "unknown":
        return {
          ok: false,
          code: "BAD_SIGNATURE",
          reason: "the signature header holds no OpenPGP or SSH signature",
        };
    }
  }

  private verifySsh(armored: string, payload: Buffer): SignatureCheck {
    let sig: SshSignature;
    try {
      sig = parseSshSignature(armored);
    } catch (err) {
      return {
        ok: false,
        code: "BAD_SIGNATURE",
        reason: `the SSH signature is malformed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    const fingerprint = sshFingerprint(sig.publicKey);
    const entry = this.policy.ssh.get(sig.publicKey.toString("base64"));
    if (entry === undefined) {
      return {
        ok: false,
        code: "UNKNOWN_KEY",
        reason: `signed by SSH key ${fingerprint}, which no signer of the trust policy holds`,
        fingerprint,
      };
    }
    const problem = checkSshSignature(sig, entry.key, payload);
    if (problem !== undefined) return { ok: false, code: "BAD_SIGNATURE", reason: problem, fingerprint };
    return { ok: true, signers: entry.signers, fingerprint };
  }
}
