// Image verification verdicts as check findings: which images are verified, when a registry is needed at
// all, one critical finding per container of a failed image, and no annotation exempts one. The verdicts
// come from a real registry in test/cli/check.test.ts; here they are written out to test the mapping.
import { describe, expect, it } from "vitest";
import { checkRevision, failsAt } from "../../src/policy/check.js";
import {
  imageFailureReason,
  imageRuleId,
  needsRegistry,
  revisionImages,
} from "../../src/policy/image-trust.js";
import { ImageCode } from "../../src/trust/image/codes.js";
import type { ImageResult } from "../../src/trust/image/verify.js";
import { deployment, denyAll, DIGEST, GOOD_IMAGE, mf } from "./support.js";

const OTHER = `registry.example.com/team/other:2.0@${DIGEST}`;

function verdict(ref: string, code?: ImageCode): ImageResult {
  return {
    ref,
    checks:
      code === undefined
        ? [{ name: "signatures", verdict: "pass", message: "signed by ci (threshold 1)" }]
        : [{ name: "signatures", verdict: "fail", code, message: `${ref} has no cosign signature` }],
    ok: code === undefined,
    ...(code === undefined ? {} : { code }),
    signers: code === undefined ? ["ci"] : [],
    cached: false,
  };
}

describe("image trust findings", () => {
  it("rule ids are the verdict codes in the form of the other rule ids", () => {
    expect(imageRuleId(ImageCode.UNSIGNED)).toBe("images/unsigned");
    expect(imageRuleId(ImageCode.ATTESTATION_CONDITION_FAILED)).toBe("images/attestation-condition-failed");
  });

  it("a registry is needed only for signers, attestations or base images", () => {
    const registries = ["registry.example.com/team/"];
    expect(needsRegistry({ registries })).toBe(false);
    expect(needsRegistry({ registries, requireDigest: true, signers: [] })).toBe(false);
    expect(needsRegistry({ registries, signers: [{ name: "ci", cosign: "PEM" }] })).toBe(true);
    expect(
      needsRegistry({ registries, attestations: [{ predicateType: "https://slsa.dev/provenance/v1" }] }),
    ).toBe(true);
    expect(needsRegistry({ registries, baseImages: ["registry.example.com/base/"] })).toBe(true);
  });

  it("verifies every image of containers, init and ephemeral containers, once each", () => {
    const d = deployment("a", (p) => {
      p["initContainers"] = [{ name: "init", image: OTHER }];
      p["ephemeralContainers"] = [{ name: "debug", image: GOOD_IMAGE }, { name: "noimage" }];
    });
    expect(revisionImages([mf(d), mf(deployment("b")), mf(denyAll())])).toEqual([GOOD_IMAGE, OTHER]);
  });

  it("a failed image is a critical finding on each container using it; a verified one is none", async () => {
    const d = deployment("a", (p) => (p["initContainers"] = [{ name: "init", image: OTHER }]));
    const manifests = [mf(d, "apps/a.yaml"), mf(deployment("b"), "apps/b.yaml"), mf(denyAll())];
    const report = await checkRevision({
      manifests,
      packs: [],
      imageVerdicts: [verdict(GOOD_IMAGE), verdict(OTHER, ImageCode.UNSIGNED)],
    });
    expect(report.findings).toEqual([
      {
        ruleId: "images/unsigned",
        severity: "critical",
        message: `initContainer "init" uses ${OTHER}: has no cosign signature`,
        remediation: expect.stringContaining("gitward images sign") as unknown,
        object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "a" },
        origin: manifests[0]!.origin,
      },
    ]);
    expect(report.rules).toEqual([
      { id: "images/unsigned", severity: "critical", title: expect.any(String) as unknown },
    ]);
    expect(failsAt(report, "critical")).toBe(true);

    const passed = await checkRevision({
      manifests,
      packs: [],
      imageVerdicts: [verdict(GOOD_IMAGE), verdict(OTHER)],
    });
    expect(passed.findings).toEqual([]);
    expect(passed.rules).toEqual([]);
  });

  it("names a digest-pinned image once (UNKNOWN_SIGNER printed its digest twice); a tag keeps the digest it resolved to", () => {
    const unknown = (ref: string, named: string): ImageResult => ({
      ...verdict(ref, ImageCode.UNKNOWN_SIGNER),
      checks: [
        {
          name: "signatures",
          verdict: "fail",
          code: ImageCode.UNKNOWN_SIGNER,
          message: `${named}: no valid signature from a trusted signer: signature layer sha256:${"c".repeat(64)} does not verify under any trusted key`,
        },
      ],
    });
    const pinned = imageFailureReason(unknown(OTHER, OTHER));
    expect(pinned).toMatch(
      /^no valid signature from a trusted signer: signature layer sha256:c{64} does not/,
    );
    expect(`${OTHER}: ${pinned}`.split(DIGEST)).toHaveLength(2);
    const tag = "registry.example.com/team/other:2.0";
    expect(imageFailureReason(unknown(tag, `${tag}@${DIGEST}`))).toMatch(
      new RegExp(`^${tag.replace(/\./g, "\\.")}@${DIGEST}: no valid signature`),
    );
    // A message that names another image is not cut, whatever its first characters.
    expect(imageFailureReason(unknown("registry.example.com/team/o", OTHER))).toMatch(
      /^registry\.example\.com\/team\/other:2\.0@/,
    );
    expect(imageFailureReason({ ...verdict(OTHER, ImageCode.UNSIGNED), checks: [] })).toBe("UNSIGNED");
  });

  it("an exemption annotation does not exempt an untrusted image (the reconcile would refuse it anyway)", async () => {
    const d = deployment("a");
    (d["metadata"] as Record<string, unknown>)["annotations"] = {
      "gitward.dev/exempt": "images/unsigned: we trust this one",
    };
    const report = await checkRevision({
      manifests: [mf(d)],
      packs: [],
      imageVerdicts: [verdict(GOOD_IMAGE, ImageCode.UNSIGNED)],
    });
    expect(report.findings.map((f) => f.ruleId)).toEqual(["images/unsigned"]);
    expect(report.exemptions).toMatchObject([{ ruleId: "images/unsigned", suppressed: 0 }]);
  });
});
