import { beforeAll, describe, expect, it } from "vitest";
import { generateSealingKey, SealingKeyRing } from "../../src/secrets/keys.js";
import { unsealManifests } from "../../src/secrets/manifests.js";
import { sealSecret } from "../../src/secrets/seal.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { decoded, expectNoPlaintextIn, moved, PLAINTEXTS, plainSecret } from "./support.js";

let ring: SealingKeyRing;
let a: SealedSecret;
let b: SealedSecret;
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "shop" } };

beforeAll(async () => {
  const key = await generateSealingKey({ modulusLength: 2048 });
  ring = new SealingKeyRing([key]);
  const seal = (name: string): SealedSecret => {
    const result = sealSecret(plainSecret("shop", name), key.publicKey);
    if (!result.ok) throw new Error(result.message);
    return result.sealed;
  };
  [a, b] = [seal("a"), seal("b")];
});

describe("unsealManifests", () => {
  it("replaces each SealedSecret by its Secret in place and leaves other objects alone", () => {
    const result = unsealManifests([a, configMap, b], ring);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.unsealed).toBe(2);
    expect(result.objects[1]).toBe(configMap);
    const secrets = [result.objects[0], result.objects[2]] as {
      kind: string;
      metadata: { name: string };
      data: Record<string, string>;
    }[];
    expect(secrets.map((s) => [s.kind, s.metadata.name])).toEqual([
      ["Secret", "a"],
      ["Secret", "b"],
    ]);
    expect(decoded(secrets[0]!.data)["password"]).toBe(PLAINTEXTS.password);
  });

  it("is all or nothing: one SealedSecret that does not open fails the set and returns no objects", () => {
    const result = unsealManifests([a, configMap, moved(b, { namespace: "attacker" })], ring);
    expect(result.ok).toBe(false);
    expect(result).not.toHaveProperty("objects");
    if (result.ok) return;
    expect(result.failures.map((f) => [f.index, f.code])).toEqual([[2, "SCOPE_MISMATCH"]]);
    expectNoPlaintextIn(result.failures.map((f) => f.message));
  });
});
