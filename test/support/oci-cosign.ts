// cosign-format signatures and attestations made independently of gitward: keys and signatures from the
// openssl binary, payloads and manifests assembled here by hand following cosign's formats, pushed with the
// raw calls of oci-push.ts. A signature gitward accepts from here was not made by gitward's own code.
import { createHash, createPrivateKey, randomBytes, scryptSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import nacl from "tweetnacl";
import { run } from "./git-exec.js";
import { fetchManifest, pushDescriptor, pushManifest, sha256Digest, type Descriptor } from "./oci-push.js";
import type { TestRegistry } from "./registry.js";

export type OpensslKeyKind = "ecdsa-p256" | "ed25519" | "rsa";

export interface OpensslKey {
  readonly kind: OpensslKeyKind;
  /** Unencrypted PKCS#8 PEM private key file. */
  readonly privateKeyPath: string;
  /** SPKI PEM public key, the form a TrustPolicy's `cosign:` holds. */
  readonly publicKeyPem: string;
}

let keyCounter = 0;

/** Generates a key with `openssl genpkey` in `dir`. */
export async function makeOpensslKey(dir: string, kind: OpensslKeyKind = "ecdsa-p256"): Promise<OpensslKey> {
  const base = path.join(dir, `key-${++keyCounter}-${kind}`);
  const algo =
    kind === "ecdsa-p256"
      ? ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
      : kind === "rsa"
        ? ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        : ["-algorithm", "ED25519"];
  await run("openssl", ["genpkey", ...algo, "-out", `${base}.pem`]);
  await run("openssl", ["pkey", "-in", `${base}.pem`, "-pubout", "-out", `${base}.pub`]);
  return { kind, privateKeyPath: `${base}.pem`, publicKeyPem: await readFile(`${base}.pub`, "utf8") };
}

/** Signs bytes with openssl: SHA-256 digest signatures for ECDSA/RSA, pure ed25519. Returns base64. */
export async function opensslSign(key: OpensslKey, payload: Buffer): Promise<string> {
  const payloadPath = `${key.privateKeyPath}.payload`;
  const sigPath = `${key.privateKeyPath}.sig`;
  await writeFile(payloadPath, payload);
  if (key.kind === "ed25519") {
    await run("openssl", [
      "pkeyutl",
      "-sign",
      "-rawin",
      "-inkey",
      key.privateKeyPath,
      "-in",
      payloadPath,
      "-out",
      sigPath,
    ]);
  } else {
    await run("openssl", ["dgst", "-sha256", "-sign", key.privateKeyPath, "-out", sigPath, payloadPath]);
  }
  return (await readFile(sigPath)).toString("base64");
}

/** Verifies with openssl (the oracle for signatures gitward makes). */
export async function opensslVerify(
  publicKeyPem: string,
  payload: Buffer,
  signatureB64: string,
  dir: string,
): Promise<boolean> {
  const n = ++keyCounter;
  const pub = path.join(dir, `verify-${n}.pub`);
  const data = path.join(dir, `verify-${n}.payload`);
  const sig = path.join(dir, `verify-${n}.sig`);
  await writeFile(pub, publicKeyPem);
  await writeFile(data, payload);
  await writeFile(sig, Buffer.from(signatureB64, "base64"));
  try {
    await run("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", sig, data]);
    return true;
  } catch {
    return false;
  }
}

/** cosign's simple-signing payload (the JSON cosign 1.x/2.x signs). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": digest },
        type: "cosign container image signature",
      },
      optional: null,
    }),
  );
}

/** `sha256:abc` → `sha256-abc` (cosign's tag naming). */
export function digestTag(digest: string): string {
  return digest.replace(":", "-");
}

const EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";

async function pushArtifactManifest(
  registry: TestRegistry,
  repo: string,
  reference: string,
  layers: Descriptor[],
  extra: Record<string, unknown> = {},
): Promise<{ digest: string; size: number; bytes: Buffer }> {
  const config = await pushDescriptor(
    registry,
    repo,
    "{}",
    extra.artifactType === undefined ? "application/vnd.oci.image.config.v1+json" : EMPTY_CONFIG,
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...extra,
      config,
      layers,
    }),
  );
  const digest = await pushManifest(
    registry,
    repo,
    reference,
    bytes,
    "application/vnd.oci.image.manifest.v1+json",
  );
  return { digest, size: bytes.length, bytes };
}

export interface LegacyLayer {
  payload: Buffer;
  /** Base64 signature for the annotation. */
  signature: string;
  /** Override the layer's media type (tests of hostile layers). */
  mediaType?: string;
}

/** Pushes cosign 1.x/2.x signatures: the `sha256-<hex>.sig` tag, one simple-signing layer each. */
export async function pushLegacySignatures(
  registry: TestRegistry,
  repo: string,
  imageDigest: string,
  layers: LegacyLayer[],
): Promise<string> {
  const descriptors: Descriptor[] = [];
  for (const l of layers) {
    descriptors.push(
      await pushDescriptor(
        registry,
        repo,
        l.payload,
        l.mediaType ?? "application/vnd.dev.cosign.simplesigning.v1+json",
        {
          "dev.cosignproject.cosign/signature": l.signature,
        },
      ),
    );
  }
  return (await pushArtifactManifest(registry, repo, `${digestTag(imageDigest)}.sig`, descriptors)).digest;
}

/** Signs `dockerReference@digest` with openssl and pushes it in the legacy format. */
export async function signLegacyWithOpenssl(
  registry: TestRegistry,
  repo: string,
  digest: string,
  keys: OpensslKey[],
  dockerReference = `${registry.host}/${repo}`,
): Promise<void> {
  const payload = simpleSigningPayload(dockerReference, digest);
  const layers: LegacyLayer[] = [];
  for (const key of keys) layers.push({ payload, signature: await opensslSign(key, payload) });
  await pushLegacySignatures(registry, repo, digest, layers);
}

/** DSSE pre-authentication encoding (what a DSSE signature covers). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export function inTotoStatement(
  subjectName: string,
  digest: string,
  predicateType: string,
  predicate: unknown,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: subjectName, digest: { sha256: digest.replace(/^sha256:/, "") } }],
      predicateType,
      predicate,
    }),
  );
}

export async function dsseEnvelope(key: OpensslKey, statement: Buffer): Promise<Record<string, unknown>> {
  const payloadType = "application/vnd.in-toto+json";
  const sig = await opensslSign(key, pae(payloadType, statement));
  return { payloadType, payload: statement.toString("base64"), signatures: [{ keyid: "", sig }] };
}

/** A key-based Sigstore bundle v0.3 around a DSSE envelope (no transparency-log entry). */
export function bundleOf(publicKeyPem: string, envelope: Record<string, unknown>): Buffer {
  const der = createHash("sha256")
    .update(Buffer.from(publicKeyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64"))
    .digest("base64");
  return Buffer.from(
    JSON.stringify({
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      verificationMaterial: { publicKey: { hint: der }, tlogEntries: [] },
      dsseEnvelope: envelope,
    }),
  );
}

export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
const BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/**
 * Attaches a bundle as an OCI 1.1 referrer of `imageDigest` and lists it under the fallback tag
 * `sha256-<hex>` (Debian's registry 2.8 has no referrers API), as cosign v3 does.
 */
export async function pushBundleReferrer(
  registry: TestRegistry,
  repo: string,
  imageDigest: string,
  bundle: Buffer,
  predicateType: string,
): Promise<string> {
  const subjectBytes = await fetchManifest(registry, repo, imageDigest);
  const subjectType =
    (JSON.parse(subjectBytes.toString()) as { mediaType?: string }).mediaType ??
    "application/vnd.oci.image.manifest.v1+json";
  const layer = await pushDescriptor(registry, repo, bundle, BUNDLE_MEDIA_TYPE);
  const annotations = {
    "dev.sigstore.bundle.content": "dsse-envelope",
    "dev.sigstore.bundle.predicateType": predicateType,
  };
  const ref = await pushReferrerByDigest(
    registry,
    repo,
    layer,
    subjectType,
    imageDigest,
    subjectBytes.length,
    annotations,
  );
  let existing: Descriptor[];
  try {
    const index = JSON.parse((await fetchManifest(registry, repo, digestTag(imageDigest))).toString()) as {
      manifests?: Descriptor[];
    };
    existing = index.manifests ?? [];
  } catch {
    existing = [];
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        ...existing,
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: ref.digest,
          size: ref.size,
          artifactType: BUNDLE_MEDIA_TYPE,
          annotations,
        },
      ],
    }),
  );
  await pushManifest(
    registry,
    repo,
    digestTag(imageDigest),
    index,
    "application/vnd.oci.image.index.v1+json",
  );
  return ref.digest;
}

async function pushReferrerByDigest(
  registry: TestRegistry,
  repo: string,
  layer: Descriptor,
  subjectType: string,
  imageDigest: string,
  subjectSize: number,
  annotations: Record<string, string>,
): Promise<{ digest: string; size: number }> {
  const config = await pushDescriptor(registry, repo, "{}", EMPTY_CONFIG);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: BUNDLE_MEDIA_TYPE,
      config,
      layers: [layer],
      subject: { mediaType: subjectType, digest: imageDigest, size: subjectSize },
      annotations,
    }),
  );
  const digest = sha256Digest(bytes);
  await pushManifest(registry, repo, digest, bytes, "application/vnd.oci.image.manifest.v1+json");
  return { digest, size: bytes.length };
}

/** Signs with openssl in cosign v3's bundle format and attaches it as a referrer. */
export async function signBundleWithOpenssl(
  registry: TestRegistry,
  repo: string,
  digest: string,
  key: OpensslKey,
  predicateType = COSIGN_SIGN_PREDICATE,
  predicate: unknown = {},
): Promise<string> {
  const statement = inTotoStatement(`${registry.host}/${repo}`, digest, predicateType, predicate);
  const bundle = bundleOf(key.publicKeyPem, await dsseEnvelope(key, statement));
  return pushBundleReferrer(registry, repo, digest, bundle, predicateType);
}

/** Pushes a cosign 1.x/2.x attestation: the `sha256-<hex>.att` tag with one DSSE envelope layer. */
export async function attestLegacyWithOpenssl(
  registry: TestRegistry,
  repo: string,
  digest: string,
  key: OpensslKey,
  predicateType: string,
  predicate: unknown,
): Promise<void> {
  const statement = inTotoStatement(`${registry.host}/${repo}`, digest, predicateType, predicate);
  const envelope = Buffer.from(JSON.stringify(await dsseEnvelope(key, statement)));
  const layer = await pushDescriptor(registry, repo, envelope, "application/vnd.dsse.envelope.v1+json", {
    predicateType,
  });
  // cosign appends to the .att manifest: keep the attestations already there.
  let layers: Descriptor[];
  try {
    layers = (
      JSON.parse((await fetchManifest(registry, repo, `${digestTag(digest)}.att`)).toString()) as {
        layers: Descriptor[];
      }
    ).layers;
  } catch {
    layers = [];
  }
  await pushArtifactManifest(registry, repo, `${digestTag(digest)}.att`, [...layers, layer]);
}

/**
 * Writes the key as cosign writes `cosign.key`: PEM "ENCRYPTED SIGSTORE PRIVATE KEY" around JSON with scrypt
 * parameters and a nacl secretbox over the PKCS#8 DER. Written here from TOOLS.md, apart from gitward's reader.
 */
export async function writeCosignKeyFile(
  key: OpensslKey,
  password: string,
  file: string,
  n = 32768,
): Promise<void> {
  const der = createPrivateKey(await readFile(key.privateKeyPath, "utf8")).export({
    format: "der",
    type: "pkcs8",
  });
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const secret = scryptSync(Buffer.from(password), salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  const ciphertext = nacl.secretbox(new Uint8Array(der), new Uint8Array(nonce), new Uint8Array(secret));
  const json = JSON.stringify({
    kdf: { name: "scrypt", params: { N: n, r: 8, p: 1 }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(ciphertext).toString("base64"),
  });
  const b64 = Buffer.from(json)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  await writeFile(
    file,
    `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`,
    {
      mode: 0o600,
    },
  );
}
