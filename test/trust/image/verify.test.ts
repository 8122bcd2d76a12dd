// Image verification against a real docker-registry with images built by umoci and pushed by skopeo, and
// signatures made by openssl (not by gitward): each security rule refuses what it must and accepts what it must.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../../src/images/client.js";
import type { ImagePolicy } from "../../../src/config/types.js";
import { ImageCode } from "../../../src/trust/image/codes.js";
import { VerificationCache } from "../../../src/trust/image/cache.js";
import { verifyImages, type ImageResult } from "../../../src/trust/image/verify.js";
import { makeTempDir, removeDir } from "../../support/git-exec.js";
import {
  attestLegacyWithOpenssl,
  bundleOf,
  dsseEnvelope,
  inTotoStatement,
  makeOpensslKey,
  opensslSign,
  pushBundleReferrer,
  pushLegacySignatures,
  signBundleWithOpenssl,
  signLegacyWithOpenssl,
  simpleSigningPayload,
  COSIGN_SIGN_PREDICATE,
  type LegacyLayer,
  type OpensslKey,
} from "../../support/oci-cosign.js";
import {
  startRegistry,
  pushTestImage,
  type TestImageOptions,
  type TestRegistry,
} from "../../support/registry.js";
import { fetchManifest, pushManifest } from "../../support/oci-push.js";
import { startReferrersProxy } from "../../support/oci-hostile.js";

let registry: TestRegistry;
let dir: string;
let ci: OpensslKey;
let release: OpensslKey;
let rsa: OpensslKey;
let stranger: OpensslKey;
let client: RegistryClient;
let n = 0;

beforeAll(async () => {
  dir = await makeTempDir("image-verify");
  [registry, ci, release, rsa, stranger] = await Promise.all([
    startRegistry(),
    makeOpensslKey(dir, "ecdsa-p256"),
    makeOpensslKey(dir, "ed25519"),
    makeOpensslKey(dir, "rsa"),
    makeOpensslKey(dir, "ecdsa-p256"),
  ]);
  client = new RegistryClient({ plainHTTP: true });
});

afterAll(async () => {
  await registry.stop();
  await removeDir(dir);
});

function policy(extra: Partial<ImagePolicy> = {}): ImagePolicy {
  return {
    registries: [`${registry.host}/team/`],
    signers: [
      { name: "ci", cosign: ci.publicKeyPem },
      { name: "release", cosign: release.publicKeyPem },
      { name: "rsa", cosign: rsa.publicKeyPem },
    ],
    ...extra,
  };
}

/** A fresh image in team/app-N; returns its tag reference and digest. */
async function image(opts: TestImageOptions = {}): Promise<{ repo: string; ref: string; digest: string }> {
  const repo = `team/app-${++n}`;
  const digest = await pushTestImage(registry, repo, "v1", `content ${n} ${Math.random()}`, opts);
  return { repo, ref: `${registry.host}/${repo}:v1`, digest };
}

async function verifyOne(
  ref: string,
  p: ImagePolicy = policy(),
  extra: Parameters<typeof verifyImages>[0] extends infer O ? Partial<O> : never = {},
): Promise<ImageResult> {
  const out = await verifyImages({ images: [ref], policy: p, client, ...extra });
  expect(out.policyErrors).toBeUndefined();
  expect(out.results).toHaveLength(1);
  return out.results[0]!;
}

describe("signatures in the legacy format (cosign 1.x/2.x .sig tag)", () => {
  it("accepts an image signed with openssl on a cosign payload, and pins it by digest", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const r = await verifyOne(img.ref);
    expect(r.code).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.digest).toBe(img.digest);
    expect(r.pinned).toBe(`${img.ref}@${img.digest}`);
    expect(r.signers).toEqual(["ci"]);
    expect(r.checks.map((c) => `${c.name}:${c.verdict}`)).toEqual([
      "reference:pass",
      "registry:pass",
      "digest:pass",
      "tag:skip",
      "signatures:pass",
      "attestations:skip",
      "base-image:skip",
    ]);
  });

  it("accepts ed25519 and RSA keys", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [release, rsa]);
    const r = await verifyOne(img.ref, policy({ threshold: 2 }));
    expect(r.ok).toBe(true);
    expect(r.signers).toEqual(["release", "rsa"]);
  });

  it("refuses an unsigned image with UNSIGNED", async () => {
    const img = await image();
    const r = await verifyOne(img.ref);
    expect(r.ok).toBe(false);
    expect(r.code).toBe(ImageCode.UNSIGNED);
  });

  it("refuses a signature by a key the policy does not list with UNKNOWN_SIGNER", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [stranger]);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.UNKNOWN_SIGNER);
  });

  it("names a digest-pinned image with its digest once in the UNKNOWN_SIGNER message", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [stranger]);
    const pinned = `${registry.host}/${img.repo}@${img.digest}`;
    const r = await verifyOne(pinned);
    expect(r.code).toBe(ImageCode.UNKNOWN_SIGNER);
    const message = r.checks.find((c) => c.verdict === "fail")?.message ?? "";
    expect(message.startsWith(`${pinned}: no valid signature from a trusted signer: `)).toBe(true);
    expect(message.split(img.digest)).toHaveLength(2);
    // A tag reference gets the digest it resolved to.
    const byTag = await verifyOne(img.ref);
    expect(byTag.checks.find((c) => c.verdict === "fail")?.message).toContain(`${img.ref}@${img.digest}: `);
  });

  it("refuses a trusted signature over another digest with SIGNATURE_DIGEST_MISMATCH", async () => {
    const a = await image();
    const b = await image();
    // A valid signature of image a, copied under b's .sig tag (the replay an attacker with push rights can do).
    const payload = simpleSigningPayload(`${registry.host}/${b.repo}`, a.digest);
    await pushLegacySignatures(registry, b.repo, b.digest, [
      { payload, signature: await opensslSign(ci, payload) },
    ]);
    expect((await verifyOne(b.ref)).code).toBe(ImageCode.SIGNATURE_DIGEST_MISMATCH);
  });

  it("refuses a trusted signature naming another docker-reference with REFERENCE_MISMATCH", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci], `${registry.host}/team/other`);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.REFERENCE_MISMATCH);
  });

  it("reads the payload's keys case-insensitively, as cosign does", async () => {
    const img = await image();
    const payload = Buffer.from(
      JSON.stringify({
        Critical: {
          Identity: { "Docker-Reference": `${registry.host}/${img.repo}` },
          Image: { "Docker-Manifest-Digest": img.digest },
          Type: "cosign container image signature",
        },
      }),
    );
    await pushLegacySignatures(registry, img.repo, img.digest, [
      { payload, signature: await opensslSign(ci, payload) },
    ]);
    expect((await verifyOne(img.ref)).ok).toBe(true);
  });

  it("refuses a truncated signature payload with SIGNATURE_MALFORMED", async () => {
    const img = await image();
    const full = simpleSigningPayload(`${registry.host}/${img.repo}`, img.digest);
    const truncated = full.subarray(0, full.length - 20);
    await pushLegacySignatures(registry, img.repo, img.digest, [
      { payload: truncated, signature: await opensslSign(ci, truncated) },
    ]);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.SIGNATURE_MALFORMED);
  });

  it("refuses an oversized signature layer with SIGNATURE_TOO_LARGE, without reading it", async () => {
    const img = await image();
    const base = simpleSigningPayload(`${registry.host}/${img.repo}`, img.digest);
    const huge = Buffer.concat([base, Buffer.alloc(300 * 1024, 0x20)]);
    await pushLegacySignatures(registry, img.repo, img.digest, [
      { payload: huge, signature: await opensslSign(ci, huge) },
    ]);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.SIGNATURE_TOO_LARGE);
  });

  it("examines at most 64 signature layers, failing closed past that", async () => {
    const img = await image();
    const payload = simpleSigningPayload(`${registry.host}/${img.repo}`, img.digest);
    const junk = await opensslSign(stranger, payload);
    const layers: LegacyLayer[] = Array.from({ length: 64 }, (_, i) => ({
      payload: Buffer.concat([payload, Buffer.from(" ".repeat(i))]),
      signature: junk,
    }));
    layers.push({ payload, signature: await opensslSign(ci, payload) });
    await pushLegacySignatures(registry, img.repo, img.digest, layers);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.UNKNOWN_SIGNER);
  });

  it("refuses a signature annotation that is not base64 with SIGNATURE_MALFORMED", async () => {
    const img = await image();
    const payload = simpleSigningPayload(`${registry.host}/${img.repo}`, img.digest);
    await pushLegacySignatures(registry, img.repo, img.digest, [{ payload, signature: "%%%not base64%%%" }]);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.SIGNATURE_MALFORMED);
  });
});

describe("signatures as Sigstore bundles (cosign v3 referrers, fallback tag)", () => {
  it("accepts a key-based bundle made with openssl", async () => {
    const img = await image();
    await signBundleWithOpenssl(registry, img.repo, img.digest, ci);
    const r = await verifyOne(img.ref);
    expect(r.code).toBeUndefined();
    expect(r.signers).toEqual(["ci"]);
  });

  it("refuses a bundle by an unknown key with UNKNOWN_SIGNER", async () => {
    const img = await image();
    await signBundleWithOpenssl(registry, img.repo, img.digest, stranger);
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.UNKNOWN_SIGNER);
  });

  it("refuses a bundle naming a trusted key whose signature does not verify with BAD_SIGNATURE", async () => {
    const img = await image();
    const statement = inTotoStatement(`${registry.host}/${img.repo}`, img.digest, COSIGN_SIGN_PREDICATE, {});
    const envelope = await dsseEnvelope(stranger, statement);
    await pushBundleReferrer(
      registry,
      img.repo,
      img.digest,
      bundleOf(ci.publicKeyPem, envelope),
      COSIGN_SIGN_PREDICATE,
    );
    expect((await verifyOne(img.ref)).code).toBe(ImageCode.BAD_SIGNATURE);
  });

  it("refuses a trusted bundle whose statement is about another digest", async () => {
    const a = await image();
    const b = await image();
    const statement = inTotoStatement(`${registry.host}/${b.repo}`, a.digest, COSIGN_SIGN_PREDICATE, {});
    await pushBundleReferrer(
      registry,
      b.repo,
      b.digest,
      bundleOf(ci.publicKeyPem, await dsseEnvelope(ci, statement)),
      COSIGN_SIGN_PREDICATE,
    );
    expect((await verifyOne(b.ref)).code).toBe(ImageCode.SIGNATURE_DIGEST_MISMATCH);
  });
});

describe("the OCI 1.1 referrers API", () => {
  it("finds bundles through the referrers API when the registry has one", async () => {
    const proxy = await startReferrersProxy(registry.host);
    try {
      const img = await image();
      await signBundleWithOpenssl(registry, img.repo, img.digest, ci);
      const viaProxy = `${proxy.host}/${img.repo}:v1`;
      const r = await verifyOne(viaProxy, policy({ registries: [`${proxy.host}/team/`] }));
      expect(r.code).toBeUndefined();
      expect(r.signers).toEqual(["ci"]);
    } finally {
      await proxy.stop();
    }
  });
});

describe("threshold of distinct signers", () => {
  it("counts a signer once however often it signed", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci, ci]);
    await signBundleWithOpenssl(registry, img.repo, img.digest, ci);
    const r = await verifyOne(img.ref, policy({ threshold: 2 }));
    expect(r.code).toBe(ImageCode.THRESHOLD_NOT_MET);
    expect(r.signers).toEqual(["ci"]);
  });

  it("passes when two distinct signers signed, in either format", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    await signBundleWithOpenssl(registry, img.repo, img.digest, release);
    const r = await verifyOne(img.ref, policy({ threshold: 2 }));
    expect(r.ok).toBe(true);
    expect(r.signers).toEqual(["ci", "release"]);
  });
});

describe("registries, digests and tags", () => {
  it("refuses an image outside the allowed registries with REGISTRY_NOT_ALLOWED", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const r = await verifyOne(
      img.ref,
      policy({ registries: [`${registry.host}/other/`, `${registry.host}/tea`] }),
    );
    expect(r.code).toBe(ImageCode.REGISTRY_NOT_ALLOWED);
  });

  it("refuses a missing tag with IMAGE_NOT_FOUND and a bad reference with INVALID_REFERENCE", async () => {
    expect((await verifyOne(`${registry.host}/team/none:v9`)).code).toBe(ImageCode.IMAGE_NOT_FOUND);
    expect((await verifyOne(`${registry.host}/Team/UPPER:v1`)).code).toBe(ImageCode.INVALID_REFERENCE);
  });

  it("accepts an unmoved tag and refuses a moved tag with TAG_MOVED (unless allowTagMove)", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const first = await verifyImages({ images: [img.ref], policy: policy(), client });
    expect(first.ok).toBe(true);
    expect(first.resolved).toEqual({ [img.ref]: img.digest });
    const again = await verifyOne(img.ref, policy(), { recorded: first.resolved });
    expect(again.ok).toBe(true);
    expect(again.checks.find((c) => c.name === "tag")?.verdict).toBe("pass");
    // Someone with push rights overwrites the tag with a (even properly signed) new image.
    const moved = await pushTestImage(registry, img.repo, "v1", "attacker content");
    await signLegacyWithOpenssl(registry, img.repo, moved, [ci]);
    const r = await verifyOne(img.ref, policy(), { recorded: first.resolved });
    expect(r.code).toBe(ImageCode.TAG_MOVED);
    expect(r.digest).toBe(moved);
    expect((await verifyOne(img.ref, policy({ allowTagMove: true }), { recorded: first.resolved })).ok).toBe(
      true,
    );
  });

  it("verifies Docker v2 schema 2 manifests and OCI indexes, pinning the digest that was signed", async () => {
    const docker = await image({ format: "v2s2" });
    const manifest = JSON.parse((await fetchManifest(registry, docker.repo, docker.digest)).toString()) as {
      mediaType: string;
    };
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    await signLegacyWithOpenssl(registry, docker.repo, docker.digest, [ci]);
    expect((await verifyOne(docker.ref)).ok).toBe(true);

    const single = await image();
    const size = (await fetchManifest(registry, single.repo, single.digest)).length;
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: single.digest,
          size,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    });
    const indexDigest = await pushManifest(
      registry,
      single.repo,
      "multi",
      index,
      "application/vnd.oci.image.index.v1+json",
    );
    const multiRef = `${registry.host}/${single.repo}:multi`;
    // Only the platform manifest is signed: the index itself is not, and is refused.
    await signLegacyWithOpenssl(registry, single.repo, single.digest, [ci]);
    expect((await verifyOne(multiRef)).code).toBe(ImageCode.UNSIGNED);
    await signLegacyWithOpenssl(registry, single.repo, indexDigest, [ci]);
    const r = await verifyOne(multiRef);
    expect(r.ok).toBe(true);
    expect(r.pinned).toBe(`${multiRef}@${indexDigest}`);
  });

  it("leaves tags unpinned when requireDigest is false, and verifies them all the same", async () => {
    const img = await image();
    const unsigned = await verifyOne(img.ref, policy({ requireDigest: false }));
    expect(unsigned.code).toBe(ImageCode.UNSIGNED);
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const r = await verifyOne(img.ref, policy({ requireDigest: false }));
    expect(r.ok).toBe(true);
    expect(r.pinned).toBeUndefined();
    expect(r.digest).toBe(img.digest);
  });

  it("verifies an image referenced by digest", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const r = await verifyOne(`${registry.host}/${img.repo}@${img.digest}`);
    expect(r.ok).toBe(true);
    expect(r.pinned).toBe(`${registry.host}/${img.repo}@${img.digest}`);
  });
});

describe("attestations", () => {
  const vuln = "https://cosign.sigstore.dev/attestation/vuln/v1";
  const sbom = "https://cyclonedx.org/bom";

  it("accepts legacy .att and bundle attestations whose CEL conditions hold", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    await attestLegacyWithOpenssl(registry, img.repo, img.digest, ci, vuln, {
      scanner: { result: { critical: 0 } },
    });
    await signBundleWithOpenssl(registry, img.repo, img.digest, release, sbom, {
      bomFormat: "CycloneDX",
      components: [],
    });
    const r = await verifyOne(
      img.ref,
      policy({
        attestations: [
          { predicateType: vuln, condition: "predicate.scanner.result.critical == 0" },
          { predicateType: sbom, condition: "predicate.bomFormat == 'CycloneDX'" },
        ],
      }),
    );
    expect(r.code).toBeUndefined();
    expect(r.checks.find((c) => c.name === "attestations")?.verdict).toBe("pass");
  });

  it("refuses a failing condition, a missing type and an untrusted attestation, each with its code", async () => {
    const img = await image();
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    await attestLegacyWithOpenssl(registry, img.repo, img.digest, ci, vuln, {
      scanner: { result: { critical: 3 } },
    });
    await attestLegacyWithOpenssl(registry, img.repo, img.digest, stranger, sbom, { bomFormat: "CycloneDX" });
    const cond = await verifyOne(
      img.ref,
      policy({
        attestations: [{ predicateType: vuln, condition: "predicate.scanner.result.critical == 0" }],
      }),
    );
    expect(cond.code).toBe(ImageCode.ATTESTATION_CONDITION_FAILED);
    const missing = await verifyOne(
      img.ref,
      policy({ attestations: [{ predicateType: "https://slsa.dev/provenance/v1" }] }),
    );
    expect(missing.code).toBe(ImageCode.ATTESTATION_MISSING);
    const untrusted = await verifyOne(img.ref, policy({ attestations: [{ predicateType: sbom }] }));
    expect(untrusted.code).toBe(ImageCode.ATTESTATION_UNVERIFIED);
  });

  it("reports a CEL condition that does not parse as a policy error", async () => {
    const out = await verifyImages({
      images: [],
      policy: policy({ attestations: [{ predicateType: vuln, condition: "predicate.(" }] }),
      client,
    });
    expect(out.ok).toBe(false);
    expect(out.policyErrors?.[0]).toMatch(/attestations\[0\]/);
  });
});

describe("approved base images", () => {
  it("accepts an approved base and refuses another with BASE_IMAGE_NOT_APPROVED", async () => {
    const good = await image({
      annotations: { "org.opencontainers.image.base.name": "docker.io/library/alpine:3.20" },
    });
    const bad = await image({
      annotations: { "org.opencontainers.image.base.name": "docker.io/evil/base:1" },
    });
    await signLegacyWithOpenssl(registry, good.repo, good.digest, [ci]);
    await signLegacyWithOpenssl(registry, bad.repo, bad.digest, [ci]);
    const p = policy({ baseImages: ["docker.io/library/alpine"] });
    expect((await verifyOne(good.ref, p)).ok).toBe(true);
    expect((await verifyOne(bad.ref, p)).code).toBe(ImageCode.BASE_IMAGE_NOT_APPROVED);
  });
});

describe("verification cache", () => {
  it("does not verify a digest again, and does not cache failures", async () => {
    const img = await image();
    const cache = new VerificationCache();
    const unsigned = await verifyOne(img.ref, policy(), { cache });
    expect(unsigned.code).toBe(ImageCode.UNSIGNED);
    expect(cache.size).toBe(0);
    await signLegacyWithOpenssl(registry, img.repo, img.digest, [ci]);
    const cold = await verifyOne(img.ref, policy(), { cache });
    expect(cold.ok && !cold.cached).toBe(true);
    const warm = await verifyOne(img.ref, policy(), { cache });
    expect(warm.ok && warm.cached).toBe(true);
    expect(warm.signers).toEqual(["ci"]);
    // Another policy (a different threshold) is not served from the same entry.
    const other = await verifyOne(img.ref, policy({ threshold: 2 }), { cache });
    expect(other.cached).toBe(false);
    expect(other.code).toBe(ImageCode.THRESHOLD_NOT_MET);
  });
});
