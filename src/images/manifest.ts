import { isRecord } from "../json/record.js";
// OCI and Docker manifest documents: media types, and defensive parsing of what a registry returns (it is
// attacker-controlled input), into image manifests and indexes with validated descriptors.

export const MediaType = {
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  OCI_EMPTY: "application/vnd.oci.empty.v1+json",
  COSIGN_SIMPLE_SIGNING: "application/vnd.dev.cosign.simplesigning.v1+json",
  DSSE_ENVELOPE: "application/vnd.dsse.envelope.v1+json",
  SIGSTORE_BUNDLE: "application/vnd.dev.sigstore.bundle.v0.3+json",
} as const;

export const MANIFEST_ACCEPT = [
  MediaType.OCI_MANIFEST,
  MediaType.OCI_INDEX,
  MediaType.DOCKER_MANIFEST,
  MediaType.DOCKER_LIST,
].join(", ");

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { os?: string; architecture?: string };
}

export interface ImageManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations: Record<string, string>;
}

export interface ImageIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

export type ParsedManifest = { ok: true; manifest: Manifest } | { ok: false; reason: string };

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw new Error(`${what} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw new Error(`${what}["${k}"] is not a string`);
    out[k] = val;
  }
  return out;
}

/** Validates one descriptor; throws a plain Error with the reason (caught by parseManifest). */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) throw new Error(`${what} is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string") throw new Error(`${what}.mediaType is missing`);
  if (typeof digest !== "string" || !DIGEST.test(digest))
    throw new Error(`${what}.digest is not sha256:<hex>`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
    throw new Error(`${what}.size is invalid`);
  const d: Descriptor = { mediaType, digest, size };
  if (v.annotations !== undefined) d.annotations = stringMap(v.annotations, `${what}.annotations`);
  if (typeof v.artifactType === "string") d.artifactType = v.artifactType;
  if (isRecord(v.platform)) {
    const p: { os?: string; architecture?: string } = {};
    if (typeof v.platform.os === "string") p.os = v.platform.os;
    if (typeof v.platform.architecture === "string") p.architecture = v.platform.architecture;
    d.platform = p;
  }
  return d;
}

/** Parses manifest bytes; `headerType` is the Content-Type the registry sent (the body's own wins). */
export function parseManifest(bytes: Buffer, headerType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { ok: false, reason: "not valid JSON" };
  }
  try {
    if (!isRecord(doc)) throw new Error("not a JSON object");
    if (doc.schemaVersion !== 2) throw new Error("schemaVersion is not 2");
    const bodyType = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
    const annotations = stringMap(doc.annotations, "annotations");
    const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, "subject");
    if (Array.isArray(doc.manifests)) {
      const mediaType = bodyType ?? headerType ?? MediaType.OCI_INDEX;
      if (mediaType !== MediaType.OCI_INDEX && mediaType !== MediaType.DOCKER_LIST) {
        throw new Error(`an index with media type ${mediaType}`);
      }
      const manifests = doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`));
      return {
        ok: true,
        manifest: { kind: "index", mediaType, manifests, annotations, ...(subject ? { subject } : {}) },
      };
    }
    const mediaType = bodyType ?? headerType ?? MediaType.OCI_MANIFEST;
    if (mediaType !== MediaType.OCI_MANIFEST && mediaType !== MediaType.DOCKER_MANIFEST) {
      throw new Error(`unsupported manifest media type ${mediaType}`);
    }
    if (!Array.isArray(doc.layers)) throw new Error("layers is not a list");
    const manifest: ImageManifest = {
      kind: "manifest",
      mediaType,
      config: parseDescriptor(doc.config, "config"),
      layers: doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`)),
      annotations,
      ...(subject ? { subject } : {}),
    };
    if (typeof doc.artifactType === "string") manifest.artifactType = doc.artifactType;
    return { ok: true, manifest };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
