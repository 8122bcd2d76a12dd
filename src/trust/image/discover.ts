// Finds what is attached to an image digest in both of cosign's registry formats: legacy tags
// (`sha256-<hex>.sig` simple-signing layers, `sha256-<hex>.att` DSSE layers) and Sigstore bundles attached
// as OCI 1.1 referrers (referrers API, or the `sha256-<hex>` fallback tag). Only descriptors here; the
// blobs are fetched, bounded, when a check needs them.
import { RegistryError, RegistryErrorCode } from "../../images/errors.js";
import { MediaType, type Descriptor, type ImageManifest } from "../../images/manifest.js";
import type { RegistryClient, RepoRef } from "../../images/client.js";
import { SIGNATURE_ANNOTATION } from "./formats.js";

export type Attached =
  | { $case: "legacy-signature"; layer: Descriptor; signature: string | undefined }
  | { $case: "legacy-attestation"; layer: Descriptor; predicateType: string | undefined }
  | { $case: "bundle"; manifest: Descriptor; predicateType: string | undefined };

export const BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType";

/**
 * At most this many signatures, attestations and referrers are examined per image: whoever can push could
 * otherwise attach thousands and make every verification fetch them all. Dropping the rest fails closed.
 */
export const MAX_ATTACHED_PER_KIND = 64;

export function legacyTag(digest: string, suffix: "sig" | "att"): string {
  return `${digest.replace(":", "-")}.${suffix}`;
}

async function optionalManifest(
  client: RegistryClient,
  repo: RepoRef,
  reference: string,
): Promise<ImageManifest | undefined> {
  try {
    const m = await client.getManifest(repo, reference);
    if (m.manifest.kind !== "manifest") {
      throw new RegistryError(
        RegistryErrorCode.MALFORMED,
        `${repo.repository}:${reference} is an index, not a signature manifest`,
      );
    }
    return m.manifest;
  } catch (err) {
    if (err instanceof RegistryError && err.code === RegistryErrorCode.NOT_FOUND) return undefined;
    throw err;
  }
}

/** Legacy signatures and, when asked, attestations and bundle referrers; fetched in parallel. */
export async function discoverAttached(
  client: RegistryClient,
  repo: RepoRef,
  digest: string,
  want: { attestations: boolean },
): Promise<Attached[]> {
  const [sig, att, referrers] = await Promise.all([
    optionalManifest(client, repo, legacyTag(digest, "sig")),
    want.attestations ? optionalManifest(client, repo, legacyTag(digest, "att")) : Promise.resolve(undefined),
    client.referrers(repo, digest),
  ]);
  const out: Attached[] = [];
  for (const layer of (sig?.layers ?? []).slice(0, MAX_ATTACHED_PER_KIND)) {
    out.push({ $case: "legacy-signature", layer, signature: layer.annotations?.[SIGNATURE_ANNOTATION] });
  }
  for (const layer of (att?.layers ?? []).slice(0, MAX_ATTACHED_PER_KIND)) {
    out.push({ $case: "legacy-attestation", layer, predicateType: layer.annotations?.predicateType });
  }
  for (const d of referrers
    .filter((r) => r.artifactType === MediaType.SIGSTORE_BUNDLE)
    .slice(0, MAX_ATTACHED_PER_KIND)) {
    out.push({ $case: "bundle", manifest: d, predicateType: d.annotations?.[BUNDLE_PREDICATE_ANNOTATION] });
  }
  return out;
}
