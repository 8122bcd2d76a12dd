import { beforeAll, describe, expect, it } from "vitest";
import { generateSealingKey, SealingKeyRing, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { validateSealedSecret } from "../../src/secrets/validate.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { expectNoPlaintextIn, flipBit, moved, plainSecret, withValue } from "./support.js";

let key: SealingKey;
let other: SealingKey;
let sealed: SealedSecret;

beforeAll(async () => {
  [key, other] = await Promise.all([
    generateSealingKey({ modulusLength: 2048 }),
    generateSealingKey({ modulusLength: 3072 }),
  ]);
  const result = sealSecret(plainSecret("shop", "db"), key.publicKey);
  if (!result.ok) throw new Error(result.message);
  sealed = result.sealed;
});

describe("validateSealedSecret", () => {
  it("accepts a well-formed SealedSecret sealed to a known certificate, with or without the keys", () => {
    expect(validateSealedSecret(sealed, { certificates: [key.publicKey] })).toEqual([]);
    expect(validateSealedSecret(sealed, { keys: new SealingKeyRing([key]) })).toEqual([]);
  });

  it("flags values sealed to no known certificate, by key size", () => {
    const findings = validateSealedSecret(sealed, { certificates: [other.publicKey] });
    expect(findings.map((f) => f.code)).toEqual(["UNKNOWN_KEY", "UNKNOWN_KEY", "UNKNOWN_KEY"]);
  });

  it("with the keys, finds what size alone cannot: another key, a flipped bit", async () => {
    const sameSize = await generateSealingKey({ modulusLength: 2048 });
    expect(validateSealedSecret(sealed, { keys: new SealingKeyRing([sameSize]) }).map((f) => f.code)).toEqual(
      ["DECRYPT_FAILED"],
    );
    const flipped = withValue(sealed, "token", flipBit(sealed.spec.encryptedData["token"]!, -5));
    expect(validateSealedSecret(flipped, { certificates: [key.publicKey] })).toEqual([]);
    const findings = validateSealedSecret(flipped, { keys: new SealingKeyRing([key]) });
    expect(findings.map((f) => f.code)).toEqual(["CIPHERTEXT_ALTERED"]);
    expectNoPlaintextIn(findings.map((f) => f.message));
  });

  it("flags a strict SealedSecret moved away from the place its template names, without keys", () => {
    const findings = validateSealedSecret(moved(sealed, { namespace: "attacker" }), {
      certificates: [key.publicKey],
    });
    expect(findings.map((f) => f.code)).toEqual(["SCOPE_MISMATCH"]);
    expect(findings[0]?.message).toContain("strict (shop/db)");
  });

  it("flags malformed objects, truncated and non-base64 values, a missing namespace", () => {
    expect(validateSealedSecret({ kind: "SealedSecret" }).map((f) => f.code)).toEqual(["MALFORMED"]);
    const truncated = withValue(sealed, "token", "AQA=");
    expect(validateSealedSecret(truncated).map((f) => f.code)).toEqual(["TRUNCATED"]);
    expect(validateSealedSecret(withValue(sealed, "token", "@@")).map((f) => f.code)).toEqual(["BAD_BASE64"]);
    const noNamespace = structuredClone(sealed);
    delete noNamespace.metadata.namespace;
    expect(validateSealedSecret(noNamespace).map((f) => f.code)).toEqual(["MISSING_NAMESPACE"]);
    expect(validateSealedSecret(noNamespace, { namespace: "shop" })).toEqual([]);
  });
});
