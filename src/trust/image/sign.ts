// Signs and attests images in cosign's registry formats, for teams without cosign in CI: a Sigstore bundle
// (DSSE in-toto statement) attached as an OCI 1.1 referrer, with the `sha256-<hex>` fallback tag where the
// registry lacks the referrers API (cosign v3's default), or the legacy `.sig` / `.att` tags on request.
import { sign as cryptoSign, createPublicKey, type KeyObject } from "node:crypto";
import { hasReferrersApi, sha256, type RegistryClient, type RepoRef } from "../../images/client.js";
import { RegistryError, RegistryErrorCode } from "../../images/errors.js";
import { MediaType, type Descriptor } from "../../images/manifest.js";
import { parseImageReference, repositoryName } from "../../images/reference.js";
import { BUNDLE_PREDICATE_ANNOTATION, legacyTag } from "./discover.js";
import {
  COSIGN_SIGN_PREDICATE,
  IN_TOTO_PAYLOAD_TYPE,
  pae,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_TYPE,
} from "./formats.js";
import { hashFor, keyHint } from "./keys.js";

export type SignFormat = "bundle" | "legacy";

export interface SignOptions {
  client: RegistryClient;
  image: string;
  key: KeyObject;
  format?: SignFormat;
}

export interface AttestOptions extends SignOptions {
  predicateType: string;
  predicate: unknown;
}

export interface SignResult {
  image: string;
  digest: string;
  format: SignFormat;
  /** Where it was stored: the legacy tag or the referrer manifest's digest. */
  stored: string;
  /** The exact bytes signed and the base64 signature (for independent checks). */
  signed: Buffer;
  signature: string;
}

async function resolve(
  client: RegistryClient,
  image: string,
): Promise<{ repo: RepoRef; name: string; digest: string; size: number; mediaType: string }> {
  const parsed = parseImageReference(image);
  if (!parsed.ok) throw new RegistryError(RegistryErrorCode.MALFORMED, `image "${image}": ${parsed.reason}`);
  const repo = { registry: parsed.ref.registry, repository: parsed.ref.repository };
  const m = await client.getManifest(repo, parsed.ref.digest ?? parsed.ref.tag ?? "latest");
  return {
    repo,
    name: repositoryName(parsed.ref),
    digest: m.digest,
    size: m.bytes.length,
    mediaType: m.manifest.mediaType,
  };
}

function signBytes(key: KeyObject, data: Buffer): Buffer {
  return cryptoSign(hashFor(createPublicKey(key)), data, key);
}

function statement(name: string, digest: string, predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name, digest: { sha256: digest.replace(/^sha256:/, "") } }],
      predicateType,
      predicate,
    }),
  );
}

/** Pushes an image manifest for signature artifacts, config first. */
async function pushArtifact(
  client: RegistryClient,
  repo: RepoRef,
  reference: string | undefined,
  layers: Descriptor[],
  extra: { artifactType?: string; subject?: Descriptor; annotations?: Record<string, string> },
): Promise<{ digest: string; size: number }> {
  const empty = extra.artifactType !== undefined;
  const configBytes = Buffer.from("{}");
  const config = await client.putBlob(repo, configBytes);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      ...(extra.artifactType === undefined ? {} : { artifactType: extra.artifactType }),
      config: {
        mediaType: empty ? MediaType.OCI_EMPTY : MediaType.OCI_CONFIG,
        digest: config.digest,
        size: config.size,
      },
      layers,
      ...(extra.subject === undefined ? {} : { subject: extra.subject }),
      ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }),
    }),
  );
  const digest = sha256(bytes);
  await client.putManifest(repo, reference ?? digest, bytes, MediaType.OCI_MANIFEST);
  return { digest, size: bytes.length };
}

/** Appends layers to a legacy `.sig`/`.att` manifest (keeping the signatures already there). */
async function appendLegacy(
  client: RegistryClient,
  repo: RepoRef,
  tag: string,
  layer: Descriptor,
): Promise<void> {
  let layers: Descriptor[] = [];
  try {
    const existing = await client.getManifest(repo, tag);
    if (existing.manifest.kind === "manifest") layers = existing.manifest.layers;
  } catch (err) {
    if (!(err instanceof RegistryError && err.code === RegistryErrorCode.NOT_FOUND)) throw err;
  }
  const same = (d: Descriptor): boolean =>
    d.digest === layer.digest &&
    JSON.stringify(d.annotations ?? {}) === JSON.stringify(layer.annotations ?? {});
  if (!layers.some(same)) layers = [...layers, layer];
  await pushArtifact(client, repo, tag, layers, {});
}

/** Attaches a bundle as a referrer, and lists it in the fallback tag when the registry has no referrers API. */
async function attachBundle(
  client: RegistryClient,
  target: Awaited<ReturnType<typeof resolve>>,
  bundle: Buffer,
  predicateType: string,
): Promise<string> {
  const blob = await client.putBlob(target.repo, bundle);
  const annotations = {
    "dev.sigstore.bundle.content": "dsse-envelope",
    [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
  };
  const manifest = await pushArtifact(
    client,
    target.repo,
    undefined,
    [{ ...blob, mediaType: MediaType.SIGSTORE_BUNDLE }],
    {
      artifactType: MediaType.SIGSTORE_BUNDLE,
      subject: { mediaType: target.mediaType, digest: target.digest, size: target.size },
      annotations,
    },
  );
  if (!(await hasReferrersApi(client, target.repo, target.digest))) {
    const tag = target.digest.replace(":", "-");
    let manifests: Descriptor[] = [];
    try {
      const index = await client.getManifest(target.repo, tag);
      if (index.manifest.kind === "index") manifests = index.manifest.manifests;
    } catch (err) {
      if (!(err instanceof RegistryError && err.code === RegistryErrorCode.NOT_FOUND)) throw err;
    }
    if (!manifests.some((d) => d.digest === manifest.digest)) {
      manifests = [
        ...manifests,
        {
          mediaType: MediaType.OCI_MANIFEST,
          digest: manifest.digest,
          size: manifest.size,
          artifactType: MediaType.SIGSTORE_BUNDLE,
          annotations,
        },
      ];
    }
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }),
    );
    await client.putManifest(target.repo, tag, index, MediaType.OCI_INDEX);
  }
  return manifest.digest;
}

function bundleJson(key: KeyObject, payload: Buffer, sig: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      mediaType: MediaType.SIGSTORE_BUNDLE,
      verificationMaterial: { publicKey: { hint: keyHint(createPublicKey(key)) }, tlogEntries: [] },
      dsseEnvelope: {
        payload: payload.toString("base64"),
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        signatures: [{ sig: sig.toString("base64"), keyid: "" }],
      },
    }),
  );
}

async function signStatement(
  opts: SignOptions,
  predicateType: string,
  predicate: unknown,
  legacyKind: "sig" | "att",
): Promise<SignResult> {
  const format = opts.format ?? "bundle";
  const target = await resolve(opts.client, opts.image);
  if (format === "legacy" && legacyKind === "sig") {
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: { "docker-reference": target.name },
          image: { "docker-manifest-digest": target.digest },
          type: SIMPLE_SIGNING_TYPE,
        },
        optional: null,
      }),
    );
    const sig = signBytes(opts.key, payload).toString("base64");
    const blob = await opts.client.putBlob(target.repo, payload);
    const tag = legacyTag(target.digest, "sig");
    await appendLegacy(opts.client, target.repo, tag, {
      ...blob,
      mediaType: MediaType.COSIGN_SIMPLE_SIGNING,
      annotations: { [SIGNATURE_ANNOTATION]: sig },
    });
    return { image: opts.image, digest: target.digest, format, stored: tag, signed: payload, signature: sig };
  }
  const body = statement(target.name, target.digest, predicateType, predicate);
  const signed = pae(IN_TOTO_PAYLOAD_TYPE, body);
  const sig = signBytes(opts.key, signed);
  if (format === "legacy") {
    const envelope = Buffer.from(
      JSON.stringify({
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        payload: body.toString("base64"),
        signatures: [{ keyid: "", sig: sig.toString("base64") }],
      }),
    );
    const blob = await opts.client.putBlob(target.repo, envelope);
    const tag = legacyTag(target.digest, "att");
    await appendLegacy(opts.client, target.repo, tag, {
      ...blob,
      mediaType: MediaType.DSSE_ENVELOPE,
      annotations: { predicateType },
    });
    return {
      image: opts.image,
      digest: target.digest,
      format,
      stored: tag,
      signed,
      signature: sig.toString("base64"),
    };
  }
  const stored = await attachBundle(opts.client, target, bundleJson(opts.key, body, sig), predicateType);
  return {
    image: opts.image,
    digest: target.digest,
    format,
    stored,
    signed,
    signature: sig.toString("base64"),
  };
}

/** `gitward images sign`: a cosign signature of the image's digest. */
export function signImage(opts: SignOptions): Promise<SignResult> {
  return signStatement(opts, COSIGN_SIGN_PREDICATE, {}, "sig");
}

/** `gitward images attest`: a signed in-toto attestation with the given predicate. */
export function attestImage(opts: AttestOptions): Promise<SignResult> {
  return signStatement(opts, opts.predicateType, opts.predicate, "att");
}
