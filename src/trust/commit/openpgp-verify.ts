// OpenPGP commit signatures, verified in-process with OpenPGP.js as a sequence of named checks: parse the
// signature, find the trusted (sub)key it names, reject a revoked or expired key, then check the signature
// over the exact payload bytes. Key status is cached per key, so a range of commits checks each key once.
import * as openpgp from "openpgp";
import type { CompiledCommitPolicy, CompiledSigner } from "./keys.js";
import type { CommitCode } from "./verdict.js";

export type SignatureCheck =
  | { ok: true; signers: CompiledSigner[]; fingerprint: string }
  | { ok: false; code: CommitCode; reason: string; fingerprint?: string };

type KeyEntry = CompiledCommitPolicy["openpgp"][number];
type KeyStatus = { ok: true } | { ok: false; code: CommitCode; reason: string };

export class OpenPgpVerifier {
  private readonly statusCache = new Map<string, Promise<KeyStatus>>();

  constructor(
    private readonly keys: CompiledCommitPolicy["openpgp"],
    private readonly now: Date,
  ) {}

  async verify(armored: string, payload: Buffer): Promise<SignatureCheck> {
    const signature = await this.parseSignature(armored);
    if (signature === undefined)
      return { ok: false, code: "BAD_SIGNATURE", reason: "the OpenPGP signature does not parse" };
    const found = this.findKey(signature);
    if (found === undefined) {
      const ids = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
      return {
        ok: false,
        code: "UNKNOWN_KEY",
        reason: `signed by OpenPGP key ${ids.join(", ") || "(no issuer)"}, which no signer of the trust policy holds`,
      };
    }
    const fingerprint = found.subkey.getFingerprint().toUpperCase();
    const status = await this.keyStatus(found.entry, found.subkey);
    if (!status.ok) return { ...status, fingerprint };
    const reason = await this.checkSignature(signature, found.entry.key, found.subkey, payload);
    if (reason !== undefined) return { ok: false, code: "BAD_SIGNATURE", reason, fingerprint };
    return { ok: true, signers: found.entry.signers, fingerprint };
  }

  private async parseSignature(armored: string): Promise<openpgp.Signature | undefined> {
    try {
      const sig = await openpgp.readSignature({ armoredSignature: armored });
      // A commit carries exactly one signature packet; anything else is not what git makes.
      return sig.packets.length === 1 ? sig : undefined;
    } catch {
      return undefined;
    }
  }

  private findKey(
    signature: openpgp.Signature,
  ): { entry: KeyEntry; subkey: openpgp.PublicKey | openpgp.Subkey } | undefined {
    for (const id of signature.getSigningKeyIDs()) {
      for (const entry of this.keys) {
        const subkey = entry.key.getKeys(id)[0];
        if (subkey !== undefined) return { entry, subkey };
      }
    }
    return undefined;
  }

  private keyStatus(entry: KeyEntry, subkey: openpgp.PublicKey | openpgp.Subkey): Promise<KeyStatus> {
    const id = subkey.getFingerprint();
    let status = this.statusCache.get(id);
    if (status === undefined) {
      status = this.computeKeyStatus(entry.key, subkey);
      this.statusCache.set(id, status);
    }
    return status;
  }

  private async computeKeyStatus(
    key: openpgp.PublicKey,
    subkey: openpgp.PublicKey | openpgp.Subkey,
  ): Promise<KeyStatus> {
    const fpr = subkey.getFingerprint().toUpperCase();
    if (await key.isRevoked(undefined, undefined, this.now)) {
      return {
        ok: false,
        code: "KEY_REVOKED",
        reason: `OpenPGP key ${key.getFingerprint().toUpperCase()} has been revoked; remove it from the trust policy and re-sign with a valid key`,
      };
    }
    const expires = await key.getExpirationTime().catch(() => null);
    if (expires instanceof Date && expires.getTime() <= this.now.getTime()) {
      return {
        ok: false,
        code: "KEY_EXPIRED",
        reason: `OpenPGP key ${key.getFingerprint().toUpperCase()} expired on ${expires.toISOString()}; extend its expiry or re-sign with a valid key`,
      };
    }
    if (subkey !== key) {
      try {
        await (subkey as openpgp.Subkey).verify(this.now);
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        if (/revoked/i.test(text))
          return { ok: false, code: "KEY_REVOKED", reason: `OpenPGP subkey ${fpr} has been revoked` };
        if (/expired/i.test(text))
          return { ok: false, code: "KEY_EXPIRED", reason: `OpenPGP subkey ${fpr} has expired` };
        return { ok: false, code: "BAD_SIGNATURE", reason: `OpenPGP subkey ${fpr} is not valid: ${text}` };
      }
    }
    try {
      // Checks the self-signatures and that this (sub)key may sign at all.
      await key.getSigningKey(subkey.getKeyID(), this.now);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (/revoked/i.test(text))
        return { ok: false, code: "KEY_REVOKED", reason: `OpenPGP key ${fpr} has been revoked` };
      if (/expired/i.test(text))
        return { ok: false, code: "KEY_EXPIRED", reason: `OpenPGP key ${fpr} has expired` };
      return {
        ok: false,
        code: "BAD_SIGNATURE",
        reason: `OpenPGP key ${fpr} may not make signatures: ${text}`,
      };
    }
    return { ok: true };
  }

  private async checkSignature(
    signature: openpgp.Signature,
    key: openpgp.PublicKey,
    subkey: openpgp.PublicKey | openpgp.Subkey,
    payload: Buffer,
  ): Promise<string | undefined> {
    try {
      const message = await openpgp.createMessage({ binary: payload });
      const packet = signature.packets[0];
      const literal = message.packets.findPacket(openpgp.enums.packet.literalData);
      if (packet?.signatureType === openpgp.enums.signature.binary && literal !== undefined) {
        // Fast path for what git makes (a binary detached signature): the key's status was checked
        // once above, so only the signature packet is verified here, against the (sub)key that made it.
        if (packet.created === null || packet.created < subkey.getCreationTime()) {
          return "signature is older than the key that made it";
        }
        await packet.verify(subkey.keyPacket, openpgp.enums.signature.binary, literal, this.now, true);
        return undefined;
      }
      const result = await openpgp.verify({
        message,
        signature,
        verificationKeys: [key],
        date: this.now,
        format: "binary",
      });
      const [first] = result.signatures;
      if (first === undefined) return "no signature to check";
      await first.verified;
      return undefined;
    } catch (err) {
      const text = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
      return `signature does not verify over the commit's content (${text.slice(0, 160)})`;
    }
  }
}
