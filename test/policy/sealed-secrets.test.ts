// SealedSecrets as check findings: a good one passes, a malformed one and one sealed to another
// certificate fail with their rule ids, the check runs only when asked, and no annotation exempts it.
import { beforeAll, describe, expect, it } from "vitest";
import { checkRevision } from "../../src/policy/check.js";
import { generateSealingKey, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import type { SealedSecret } from "../../src/secrets/types.js";
import { expectNoPlaintextIn, plainSecret, withValue } from "../secrets/support.js";
import { mf } from "./support.js";

let ours: SealingKey;
let other: SealingKey;
let sealed: SealedSecret;

beforeAll(async () => {
  // Different sizes: with certificates only, a key is told apart by the size of its RSA block.
  [ours, other] = await Promise.all([
    generateSealingKey({ modulusLength: 2048 }),
    generateSealingKey({ modulusLength: 3072 }),
  ]);
  const r = sealSecret(plainSecret("shop", "db"), ours.publicKey);
  if (!r.ok) throw new Error(r.message);
  sealed = r.sealed;
});

const asObject = (s: SealedSecret): Record<string, unknown> =>
  structuredClone(s) as unknown as Record<string, unknown>;

async function ruleIds(s: Record<string, unknown>, certificates = [ours.publicKey]): Promise<string[]> {
  const report = await checkRevision({ manifests: [mf(s)], packs: [], sealedSecrets: { certificates } });
  expectNoPlaintextIn(report.findings.map((f) => f.message));
  return report.findings.map((f) => f.ruleId);
}

describe("SealedSecret findings", () => {
  it("a well-formed SealedSecret sealed to a known certificate passes", async () => {
    expect(await ruleIds(asObject(sealed))).toEqual([]);
    expect(await ruleIds(asObject(sealed), [other.publicKey, ours.publicKey])).toEqual([]);
  });

  it("a malformed, truncated or misplaced SealedSecret is secrets/sealed-secret-invalid (high)", async () => {
    const wrongVersion = { ...asObject(sealed), apiVersion: "bitnami.com/v1" };
    expect(await ruleIds(wrongVersion)).toEqual(["secrets/sealed-secret-invalid"]);
    expect(await ruleIds(asObject(withValue(sealed, "token", "AQA=")))).toEqual([
      "secrets/sealed-secret-invalid",
    ]);
    const moved = asObject(sealed);
    (moved["metadata"] as Record<string, unknown>)["namespace"] = "attacker";
    expect(await ruleIds(moved)).toEqual(["secrets/sealed-secret-invalid"]);
    const report = await checkRevision({
      manifests: [mf(wrongVersion, "apps/db.yaml")],
      packs: [],
      sealedSecrets: { certificates: [] },
    });
    expect(report.findings[0]).toMatchObject({
      severity: "high",
      message: expect.stringMatching(/\(MALFORMED\)$/) as unknown,
      object: { kind: "SealedSecret", namespace: "shop", name: "db" },
      origin: { file: "apps/db.yaml" },
    });
  });

  it("values sealed to another certificate are secrets/sealed-secret-unknown-cert (high)", async () => {
    const r = sealSecret(plainSecret("shop", "db"), other.publicKey);
    if (!r.ok) throw new Error(r.message);
    expect(await ruleIds(asObject(r.sealed))).toEqual(
      Array.from({ length: 3 }, () => "secrets/sealed-secret-unknown-cert"),
    );
    // Without certificates only the form can be checked.
    expect(await ruleIds(asObject(r.sealed), [])).toEqual([]);
  });

  it("the namespace given stands in for a SealedSecret without one", async () => {
    const noNamespace = asObject(sealed);
    delete (noNamespace["metadata"] as Record<string, unknown>)["namespace"];
    const check = async (namespace?: string) =>
      (
        await checkRevision({
          manifests: [mf(noNamespace)],
          packs: [],
          sealedSecrets: { certificates: [], ...(namespace === undefined ? {} : { namespace }) },
        })
      ).findings.map((f) => f.message);
    expect(await check()).toEqual([expect.stringContaining("(MISSING_NAMESPACE)")]);
    expect(await check("shop")).toEqual([]);
  });

  it("runs only when asked, and no exemption annotation silences it", async () => {
    const bad = asObject(withValue(sealed, "token", "AQA="));
    expect((await checkRevision({ manifests: [mf(bad)], packs: [] })).findings).toEqual([]);
    (bad["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "secrets/sealed-secret-invalid: it is fine",
    };
    expect(await ruleIds(bad)).toEqual(["secrets/sealed-secret-invalid"]);
  });
});
