// Keyless verification with @sigstore/verify against a real keyless bundle and its trusted_root.json (from
// the sigstore-conformance suite, see fixtures/keyless/README.md): the listed identity passes, another
// identity is an unknown signer, and a tampered envelope is a bad signature. Then the same bundle attached
// to an image in a real registry is refused because its statement is about another artifact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RegistryClient } from "../../../src/images/client.js";
import { ImageCode } from "../../../src/trust/image/codes.js";
import { parseBundle } from "../../../src/trust/image/formats.js";
import { verifyKeylessBundle } from "../../../src/trust/image/keyless.js";
import { compileImagePolicy, type CompiledImagePolicy } from "../../../src/trust/image/policy.js";
import { verifyImages } from "../../../src/trust/image/verify.js";
import { COSIGN_SIGN_PREDICATE, pushBundleReferrer } from "../../support/oci-cosign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../../support/registry.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "keyless");
const SUBJECT =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER = "https://token.actions.githubusercontent.com";
const SLSA = "https://slsa.dev/provenance/v1";

let bundleText: string;
let trustedRoot: string;
let registry: TestRegistry;

beforeAll(async () => {
  [bundleText, trustedRoot, registry] = await Promise.all([
    readFile(path.join(fixtures, "bundle.sigstore.json"), "utf8"),
    readFile(path.join(fixtures, "trusted_root.json"), "utf8"),
    startRegistry(),
  ]);
});

afterAll(async () => {
  await registry.stop();
});

function compiled(subject = SUBJECT): CompiledImagePolicy {
  const r = compileImagePolicy({
    registries: [registry.host],
    signers: [{ name: "gha", keyless: { issuer: ISSUER, subject } }],
    trustedRoot,
  });
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.policy;
}

function bundle(text = bundleText): Parameters<typeof verifyKeylessBundle>[0] {
  const b = parseBundle(Buffer.from(text));
  if (!b.ok) throw new Error(b.reason);
  return b.value;
}

describe("keyless bundles", () => {
  it("accepts the listed identity and yields the signed statement", () => {
    const r = verifyKeylessBundle(bundle(), compiled());
    if (!r.ok) throw new Error(r.message);
    expect(r.signers).toEqual(["gha"]);
    expect(r.statement?.predicateType).toBe(SLSA);
  });

  it("refuses another identity with UNKNOWN_SIGNER", () => {
    const r = verifyKeylessBundle(
      bundle(),
      compiled("https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main"),
    );
    expect(r.ok ? "" : r.code).toBe(ImageCode.UNKNOWN_SIGNER);
  });

  it("refuses a tampered envelope with BAD_SIGNATURE", () => {
    const doc = JSON.parse(bundleText) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(doc.dsseEnvelope.payload, "base64").toString().replace("d.txt", "e.txt");
    doc.dsseEnvelope.payload = Buffer.from(payload).toString("base64");
    const r = verifyKeylessBundle(bundle(JSON.stringify(doc)), compiled());
    expect(r.ok ? "" : r.code).toBe(ImageCode.BAD_SIGNATURE);
  });

  it("verifies a keyless bundle attached to an image, and refuses it for being about another artifact", async () => {
    const digest = await pushTestImage(registry, "team/keyless", "v1", "keyless");
    // Listed as a signature (cosign's sign predicate) so the signature check examines it.
    await pushBundleReferrer(
      registry,
      "team/keyless",
      digest,
      Buffer.from(bundleText),
      COSIGN_SIGN_PREDICATE,
    );
    const out = await verifyImages({
      images: [`${registry.host}/team/keyless:v1`],
      policy: {
        registries: [registry.host],
        signers: [{ name: "gha", keyless: { issuer: ISSUER, subject: SUBJECT } }],
        trustedRoot,
      },
      client: new RegistryClient({ plainHTTP: true }),
    });
    // The bundle's signature verifies; its in-toto subject is d.txt, not this image, so it proves nothing here.
    expect(out.results[0]?.code).toBe(ImageCode.SIGNATURE_DIGEST_MISMATCH);
  });
});
