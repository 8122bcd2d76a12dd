// The operator image that `gitward install` deploys: one default, and the rule that it must be pinned by
// digest. A tag lets whoever controls the registry change what runs with the cluster's credentials, so a
// reference without `@sha256:` is refused, never resolved behind the user's back.
import { ConfigError } from "../config/errors.js";
import { parseImageReference } from "../images/reference.js";

/**
 * The default image. A PLACEHOLDER of the right shape: the image build (issue 16, container image) sets
 * the real digest here once the reproducible image is built and signed. Until then give --image.
 */
export const DEFAULT_IMAGE =
  "ghcr.io/gitward/gitward@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/** `ref` when it names an image by digest (a tag beside the digest is allowed, and ignored by the runtime). */
export function digestPinnedImage(ref: string, source = "--image"): string {
  const parsed = parseImageReference(ref);
  if (!parsed.ok) {
    throw new ConfigError(`${ref} is not an image reference: ${parsed.reason}`, source);
  }
  if (parsed.ref.digest === undefined) {
    throw new ConfigError(
      `${ref} is not pinned by digest: give REPOSITORY@sha256:<64 hex> (a tag can be moved to other ` +
        "content); find the digest with `skopeo inspect docker://REF` or `gitward images pin`",
      source,
    );
  }
  return ref;
}
