// supply-chain: the image references of every container — pinned by digest, from an allowed registry,
// never `:latest` or untagged. Signatures and attestations are verified by the images domain, not here.
import type { ImagePolicy } from "../../config/types.js";
import type { Hit, Pack, Revision, Rule } from "../types.js";
import { containers, describeContainer, podTemplates } from "../workloads.js";

export interface ImageRef {
  /** Registry host, "docker.io" when the reference names none. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Splits an image reference the way the container runtimes do: the first component is a registry only if
 * it has a dot or a port or is "localhost"; Docker Hub's single names live under "library/".
 */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  let registry = "docker.io";
  let repository = rest;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function* images(rev: Revision): Iterable<{ hit: Omit<Hit, "message">; who: string; image: string }> {
  for (const t of podTemplates(rev.manifests)) {
    for (const c of containers(t.spec, t.specPath)) {
      const image = c.c["image"];
      yield {
        hit: { manifest: t.manifest, path: `${c.path}/image` },
        who: describeContainer(c),
        image: typeof image === "string" ? image : "",
      };
    }
  }
}

export function supplyChainRules(imagePolicy: ImagePolicy | undefined): Rule[] {
  const requireDigest = imagePolicy?.requireDigest ?? true;
  const registries = imagePolicy?.registries ?? [];
  const rules: Rule[] = [
    {
      id: "supply-chain/latest-tag",
      severity: "high",
      title: "Images may not use the latest tag or no tag at all",
      remediation: "Pin the image to a version tag and a digest: name:1.2.3@sha256:...",
      check: function* (rev) {
        for (const { hit, who, image } of images(rev)) {
          if (image === "") {
            yield { ...hit, message: `${who} has no image` };
            continue;
          }
          const r = parseImageRef(image);
          if (r.tag === "latest") yield { ...hit, message: `${who} uses ${image}, the mutable latest tag` };
          else if (r.tag === undefined && r.digest === undefined)
            yield { ...hit, message: `${who} uses ${image} without a tag or digest` };
        }
      },
    },
  ];
  if (requireDigest) {
    rules.push({
      id: "supply-chain/digest",
      severity: "high",
      title: "Images must be pinned by digest",
      remediation:
        "Reference the image by digest (name:tag@sha256:...); `gitward images pin PATH --write` pins every " +
        "tag under PATH to its digest (without --write it prints the patch).",
      check: function* (rev) {
        for (const { hit, who, image } of images(rev)) {
          const r = parseImageRef(image);
          if (r.digest === undefined) yield { ...hit, message: `${who} uses ${image}, not pinned by digest` };
          else if (!DIGEST.test(r.digest))
            yield { ...hit, message: `${who} uses ${image}, whose digest is not sha256:<64 hex>` };
        }
      },
    });
  }
  if (registries.length > 0) {
    rules.push({
      id: "supply-chain/registry",
      severity: "high",
      title: "Images must come from an allowed registry",
      remediation: `Use an image from an allowed registry: ${registries.join(", ")}.`,
      check: function* (rev) {
        for (const { hit, who, image } of images(rev)) {
          const r = parseImageRef(image);
          const full = `${r.registry}/${r.repository}`;
          // Prefixes match at a path boundary, so "registry.example.com/team" does not allow ".../team-evil".
          const allowed = registries.some((p) => {
            const prefix = p.replace(/\/+$/, "");
            return [image, full].some(
              (n) =>
                n === prefix ||
                n.startsWith(`${prefix}/`) ||
                n.startsWith(`${prefix}:`) ||
                n.startsWith(`${prefix}@`),
            );
          });
          if (!allowed)
            yield { ...hit, message: `${who} uses ${image}, from a registry that is not allowed` };
        }
      },
    });
  }
  return rules;
}

export function supplyChain(imagePolicy: ImagePolicy | undefined): Pack {
  return {
    id: "supply-chain",
    description: "Images pinned by digest, from allowed registries, never latest.",
    rules: supplyChainRules(imagePolicy),
  };
}
