// gitward's own signing: cosign's encrypted key file is read (scrypt + secretbox), signatures and
// attestations are pushed in both formats, gitward verifies them, and openssl verifies the signatures too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { RegistryClient } from "../../../src/images/client.js";
import { readCosignPrivateKey } from "../../../src/trust/image/cosign-key.js";
import { attestImage, signImage } from "../../../src/trust/image/sign.js";
import { verifyImages } from "../../../src/trust/image/verify.js";
import { ImageCode } from "../../../src/trust/image/codes.js";
import { makeTempDir, removeDir } from "../../support/git-exec.js";
import {
  makeOpensslKey,
  opensslVerify,
  writeCosignKeyFile,
  type OpensslKey,
} from "../../support/oci-cosign.js";
import { fetchManifest } from "../../support/oci-push.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../../support/registry.js";

let registry: TestRegistry;
let dir: string;
let key: OpensslKey;
let keyFile: string;
const client = new RegistryClient({ plainHTTP: true });

beforeAll(async () => {
  dir = await makeTempDir("image-sign");
  [registry, key] = await Promise.all([startRegistry(), makeOpensslKey(dir)]);
  keyFile = path.join(dir, "cosign.key");
  await writeCosignKeyFile(key, "correct horse", keyFile);
});

afterAll(async () => {
  await registry.stop();
  await removeDir(dir);
});

async function privateKey(): Promise<import("node:crypto").KeyObject> {
  const r = await readCosignPrivateKey(await readFile(keyFile, "utf8"), "correct horse");
  if (!r.ok) throw new Error(r.reason);
  return r.key;
}

describe("cosign key files", () => {
  it("reads the encrypted key with the right passphrase and refuses a wrong one", async () => {
    const text = await readFile(keyFile, "utf8");
    expect(text).toContain("ENCRYPTED SIGSTORE PRIVATE KEY");
    const good = await readCosignPrivateKey(text, "correct horse");
    expect(good.ok && good.key.asymmetricKeyType).toBe("ec");
    const bad = await readCosignPrivateKey(text, "wrong");
    expect(bad.ok).toBe(false);
    expect(bad.ok ? "" : bad.reason).toMatch(/passphrase/);
  });

  it("refuses a key file asking for an scrypt cost cosign does not use", async () => {
    // A file asking for N = 2^20 would make the reader spend 1 GiB: it is refused before any derivation.
    const text = await readFile(keyFile, "utf8");
    const body = text.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const doc = JSON.parse(Buffer.from(body, "base64").toString()) as { kdf: { params: { N: number } } };
    doc.kdf.params.N = 1 << 20;
    const costly = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(doc)).toString("base64")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    const r = await readCosignPrivateKey(costly, "correct horse");
    expect(r.ok ? "" : r.reason).toMatch(/unsupported key derivation/);
    expect(r.ok).toBe(false);
  });
});

describe("gitward images sign / attest", () => {
  const policyFor = (repo: string) => ({
    registries: [`${registry.host}/${repo}`],
    signers: [{ name: "ci", cosign: key.publicKeyPem }],
  });

  it.each(["bundle", "legacy"] as const)(
    "signs in the %s format; gitward and openssl both verify it",
    async (format) => {
      const repo = `team/signed-${format}`;
      const digest = await pushTestImage(registry, repo, "v1", `sign ${format}`);
      const ref = `${registry.host}/${repo}:v1`;
      expect((await verifyImages({ images: [ref], policy: policyFor(repo), client })).results[0]?.code).toBe(
        ImageCode.UNSIGNED,
      );
      const signed = await signImage({ client, image: ref, key: await privateKey(), format });
      expect(signed.digest).toBe(digest);
      expect(await opensslVerify(key.publicKeyPem, signed.signed, signed.signature, dir)).toBe(true);
      const out = await verifyImages({ images: [ref], policy: policyFor(repo), client });
      expect(out.results[0]?.code).toBeUndefined();
      expect(out.results[0]?.signers).toEqual(["ci"]);
      if (format === "legacy") {
        const manifest = JSON.parse(
          (await fetchManifest(registry, repo, `${digest.replace(":", "-")}.sig`)).toString(),
        ) as {
          layers: { mediaType: string; annotations: Record<string, string> }[];
        };
        expect(manifest.layers[0]?.mediaType).toBe("application/vnd.dev.cosign.simplesigning.v1+json");
        expect(manifest.layers[0]?.annotations["dev.cosignproject.cosign/signature"]).toBe(signed.signature);
      } else {
        const index = JSON.parse(
          (await fetchManifest(registry, repo, digest.replace(":", "-"))).toString(),
        ) as {
          manifests: { artifactType: string }[];
        };
        expect(index.manifests.map((m) => m.artifactType)).toEqual([
          "application/vnd.dev.sigstore.bundle.v0.3+json",
        ]);
      }
    },
  );

  it.each(["bundle", "legacy"] as const)(
    "attests in the %s format with a predicate a CEL condition reads",
    async (format) => {
      const repo = `team/attested-${format}`;
      await pushTestImage(registry, repo, "v1", `attest ${format}`);
      const ref = `${registry.host}/${repo}:v1`;
      const k = await privateKey();
      await signImage({ client, image: ref, key: k, format });
      const predicateType = "https://slsa.dev/provenance/v1";
      await attestImage({
        client,
        image: ref,
        key: k,
        format,
        predicateType,
        predicate: { runDetails: { builder: { id: "https://ci.example.com" } } },
      });
      const policy = (id: string) => ({
        ...policyFor(repo),
        attestations: [{ predicateType, condition: `predicate.runDetails.builder.id == '${id}'` }],
      });
      expect(
        (await verifyImages({ images: [ref], policy: policy("https://ci.example.com"), client })).ok,
      ).toBe(true);
      expect(
        (await verifyImages({ images: [ref], policy: policy("https://evil.example.com"), client })).results[0]
          ?.code,
      ).toBe(ImageCode.ATTESTATION_CONDITION_FAILED);
    },
  );
});
