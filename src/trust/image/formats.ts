import { isRecord } from "../../json/record.js";
// The signed documents cosign stores in registries, parsed defensively (they come from the registry, i.e.
// from whoever can push): simple-signing payloads, DSSE envelopes with their pre-authentication encoding,
// in-toto statements, and key-based or keyless Sigstore bundles (v0.1-v0.3).

export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const SIMPLE_SIGNING_TYPE = "cosign container image signature";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

/** Looks a key up case-insensitively, as containers/image decodes simple-signing JSON. */
function field(obj: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export interface SimpleSigning {
  dockerReference: string;
  digest: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseJson(bytes: Buffer): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(bytes.toString("utf8")) };
  } catch {
    return { ok: false, reason: "not valid JSON (truncated or corrupt)" };
  }
}

export function parseSimpleSigning(bytes: Buffer): Parsed<SimpleSigning> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const doc = json.value;
  if (!isRecord(doc)) return { ok: false, reason: "payload is not a JSON object" };
  const critical = field(doc, "critical");
  if (!isRecord(critical)) return { ok: false, reason: "payload has no critical section" };
  const type = field(critical, "type");
  if (type !== SIMPLE_SIGNING_TYPE)
    return { ok: false, reason: `payload type is not "${SIMPLE_SIGNING_TYPE}"` };
  const image = field(critical, "image");
  const identity = field(critical, "identity");
  const digest = isRecord(image) ? field(image, "docker-manifest-digest") : undefined;
  const ref = isRecord(identity) ? field(identity, "docker-reference") : undefined;
  if (typeof digest !== "string") return { ok: false, reason: "payload has no docker-manifest-digest" };
  if (typeof ref !== "string") return { ok: false, reason: "payload has no docker-reference" };
  return { ok: true, value: { dockerReference: ref, digest } };
}

export interface DsseEnvelope {
  payloadType: string;
  payload: Buffer;
  signatures: Buffer[];
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeBase64(s: string): Buffer | undefined {
  const compact = s.replace(/\s+/g, "");
  return BASE64.test(compact)
    ? Buffer.from(compact, compact.includes("-") || compact.includes("_") ? "base64url" : "base64")
    : undefined;
}

export function parseBase64(s: string): Buffer | undefined {
  return decodeBase64(s);
}

export function parseDsse(doc: unknown): Parsed<DsseEnvelope> {
  if (!isRecord(doc)) return { ok: false, reason: "DSSE envelope is not an object" };
  const { payloadType, payload, signatures } = doc;
  if (typeof payloadType !== "string" || typeof payload !== "string" || !Array.isArray(signatures)) {
    return { ok: false, reason: "DSSE envelope lacks payloadType, payload or signatures" };
  }
  const body = decodeBase64(payload);
  if (body === undefined) return { ok: false, reason: "DSSE payload is not base64" };
  const sigs: Buffer[] = [];
  for (const s of signatures) {
    const raw = isRecord(s) && typeof s.sig === "string" ? decodeBase64(s.sig) : undefined;
    if (raw === undefined || raw.length === 0) return { ok: false, reason: "DSSE signature is not base64" };
    sigs.push(raw);
  }
  return { ok: true, value: { payloadType, payload: body, signatures: sigs } };
}

export function parseDsseBytes(bytes: Buffer): Parsed<DsseEnvelope> {
  const json = parseJson(bytes);
  return json.ok ? parseDsse(json.value) : json;
}

/** DSSE v1 pre-authentication encoding: what a DSSE signature covers. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export interface Statement {
  predicateType: string;
  /** sha256 hex digests of the subjects. */
  subjectDigests: string[];
  predicate: unknown;
}

export function parseStatement(envelope: DsseEnvelope): Parsed<Statement> {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return { ok: false, reason: `DSSE payload type ${envelope.payloadType} is not in-toto` };
  }
  const json = parseJson(envelope.payload);
  if (!json.ok) return json;
  const doc = json.value;
  if (!isRecord(doc) || typeof doc.predicateType !== "string" || !Array.isArray(doc.subject)) {
    return { ok: false, reason: "in-toto statement lacks predicateType or subject" };
  }
  const subjectDigests: string[] = [];
  for (const s of doc.subject) {
    if (isRecord(s) && isRecord(s.digest) && typeof s.digest.sha256 === "string")
      subjectDigests.push(s.digest.sha256);
  }
  return { ok: true, value: { predicateType: doc.predicateType, subjectDigests, predicate: doc.predicate } };
}

export type BundleMaterial =
  { $case: "public-key"; hint: string } | { $case: "certificate" } | { $case: "unknown" };

export interface KeyBundle {
  mediaType: string;
  material: BundleMaterial;
  dsse?: DsseEnvelope;
  messageSignature?: { digest: Buffer; signature: Buffer };
  /** The parsed JSON, for @sigstore/verify when the bundle is keyless. */
  json: Record<string, unknown>;
}

export function parseBundle(bytes: Buffer): Parsed<KeyBundle> {
  const json = parseJson(bytes);
  if (!json.ok) return json;
  const doc = json.value;
  if (
    !isRecord(doc) ||
    typeof doc.mediaType !== "string" ||
    !doc.mediaType.startsWith("application/vnd.dev.sigstore.bundle")
  ) {
    return { ok: false, reason: "not a Sigstore bundle" };
  }
  const vm = doc.verificationMaterial;
  let material: BundleMaterial = { $case: "unknown" };
  if (isRecord(vm)) {
    if (isRecord(vm.publicKey))
      material = {
        $case: "public-key",
        hint: typeof vm.publicKey.hint === "string" ? vm.publicKey.hint : "",
      };
    else if (vm.certificate !== undefined || vm.x509CertificateChain !== undefined)
      material = { $case: "certificate" };
  }
  const bundle: KeyBundle = { mediaType: doc.mediaType, material, json: doc };
  if (doc.dsseEnvelope !== undefined) {
    const env = parseDsse(doc.dsseEnvelope);
    if (!env.ok) return env;
    bundle.dsse = env.value;
  } else if (isRecord(doc.messageSignature)) {
    const ms = doc.messageSignature;
    const sig = typeof ms.signature === "string" ? decodeBase64(ms.signature) : undefined;
    const md =
      isRecord(ms.messageDigest) && typeof ms.messageDigest.digest === "string"
        ? decodeBase64(ms.messageDigest.digest)
        : undefined;
    if (sig === undefined || md === undefined)
      return { ok: false, reason: "bundle messageSignature is malformed" };
    bundle.messageSignature = { digest: md, signature: sig };
  } else {
    return { ok: false, reason: "bundle has neither dsseEnvelope nor messageSignature" };
  }
  return { ok: true, value: bundle };
}
