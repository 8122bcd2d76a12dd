import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { generateSealingKey, SealingKeyRing, type SealingKey } from "../../src/secrets/keys.js";
import { resealYamlText } from "../../src/secrets/reseal-file.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { unsealSecret } from "../../src/secrets/unseal.js";
import { parseDocuments } from "../../src/secrets/yaml-input.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { expectFailure, expectNoPlaintextIn, PLAINTEXTS, plainSecret } from "./support.js";

let oldKey: SealingKey;
let newKey: SealingKey;

beforeAll(async () => {
  [oldKey, newKey] = await Promise.all([
    generateSealingKey({ modulusLength: 2048, now: new Date(Date.now() - 60 * 86_400_000) }),
    generateSealingKey({ modulusLength: 2048 }),
  ]);
});

function sealedYaml(name: string, key: SealingKey): string {
  const sealed = sealSecret(plainSecret("shop", name), key.publicKey);
  if (!sealed.ok) throw new Error(sealed.message);
  return stringify(sealed.sealed, { lineWidth: 0 });
}

describe("resealYamlText", () => {
  it("reseals every SealedSecret of a multi-document file and keeps the rest as written", () => {
    const text = `# keep me\n${sealedYaml("a", oldKey)}---\nkind: ConfigMap # untouched\nmetadata: {name: c}\n---\n${sealedYaml("b", oldKey)}`;
    const ring = new SealingKeyRing([oldKey, newKey]);
    const outcome = resealYamlText(text, "app.yaml", ring);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.objects.map((o) => [o.object, o.resealed.length])).toEqual([
      ["SealedSecret shop/a", 3],
      ["SealedSecret shop/b", 3],
    ]);
    expect(outcome.text).toContain("# keep me");
    expect(outcome.text).toContain("kind: ConfigMap # untouched");
    const parsed = parseDocuments(outcome.text, "out");
    const docs = parsed.ok ? parsed.documents : [];
    expect(docs).toHaveLength(3);
    for (const doc of [docs[0], docs[2]]) {
      expect(unsealSecret(doc as SealedSecret, new SealingKeyRing([newKey])).ok).toBe(true);
    }
  });

  it("returns the text unchanged when everything is on the newest key", () => {
    const text = sealedYaml("a", newKey);
    const outcome = resealYamlText(text, "app.yaml", new SealingKeyRing([oldKey, newKey]));
    expect(outcome.ok && outcome.text).toBe(text);
  });

  it("fails on the first SealedSecret it cannot open, and on YAML errors without quoting the file", () => {
    const foreign = resealYamlText(sealedYaml("a", newKey), "app.yaml", new SealingKeyRing([oldKey]));
    expectFailure(foreign, "DECRYPT_FAILED");
    const broken = `kind: SealedSecret\nspec: {encryptedData: {a: "${PLAINTEXTS.password}}\n`;
    const result = expectFailure(
      resealYamlText(broken, "app.yaml", new SealingKeyRing([newKey])),
      "MALFORMED",
    );
    if (!result.ok) expectNoPlaintextIn([result.message]);
  });

  it('refuses a file whose keys collapse in JSON (1 and "1") before resealing anything', () => {
    const text = sealedYaml("a", oldKey).replace("kind: SealedSecret", 'kind: SealedSecret\n1: a\n"1": b');
    const result = expectFailure(
      resealYamlText(text, "app.yaml", new SealingKeyRing([oldKey, newKey])),
      "MALFORMED",
    );
    if (!result.ok) expect(result.message).toMatch(/^app\.yaml:\d+: not valid YAML \(DUPLICATE_KEY\)/);
    const distinct = sealedYaml("a", oldKey).replace(
      "kind: SealedSecret",
      'kind: SealedSecret\n"1": a\n"01": b',
    );
    expect(resealYamlText(distinct, "app.yaml", new SealingKeyRing([oldKey, newKey])).ok).toBe(true);
  });
});
