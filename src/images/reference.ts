// Image reference parsing (`[registry/]repository[:tag][@sha256:hex]`) with Docker's defaults: no registry
// means docker.io, a one-part Docker Hub name means library/NAME. Input comes from manifests in git, so
// everything is validated and a bad reference is a value, never a throw.

export interface ImageReference {
  /** Registry host with port as written ("127.0.0.1:5000", "docker.io"). */
  readonly registry: string;
  /** Repository path inside the registry ("library/nginx", "team/app"). */
  readonly repository: string;
  readonly tag?: string;
  /** "sha256:<64 hex>" when pinned. */
  readonly digest?: string;
}

export type ParseResult = { ok: true; ref: ImageReference } | { ok: false; reason: string };

const DOCKER_HUB = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Parses an image reference; references longer than 512 characters are refused outright. */
export function parseImageReference(input: string): ParseResult {
  if (input.length === 0 || input.length > 512)
    return { ok: false, reason: "empty or longer than 512 characters" };
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      return { ok: false, reason: `digest "${digest}" is not sha256:<64 lowercase hex>` };
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { ok: false, reason: `tag "${tag}" is not a valid tag` };
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) return { ok: false, reason: `registry "${registry}" is not a host name` };
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    return { ok: false, reason: `repository "${parts.join("/")}" must be lowercase path components` };
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (repository.length > 255) return { ok: false, reason: "repository longer than 255 characters" };
  return {
    ok: true,
    ref: {
      registry,
      repository,
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    },
  };
}

/** "registry/repository" (what cosign calls the docker-reference). */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical string: "registry/repository[:tag][@digest]". */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** Host to talk to: Docker Hub's API lives at registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}

/** True for 127.0.0.0/8, ::1 and localhost, the only hosts plain HTTP is allowed for. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith("[")
    ? registry.slice(1, registry.indexOf("]"))
    : registry.replace(/:[0-9]+$/, "");
  return host === "localhost" || host === "::1" || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(host);
}
