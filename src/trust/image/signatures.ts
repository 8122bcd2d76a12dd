// Verifies one attached signature or attestation against the policy's keys, crypto first and claims after:
// the signature must verify under a trusted key before its payload (digest, docker-reference, predicate)
// is believed. Each outcome is a value: the signers it proves, or the code of why it proves nothing.
import { RegistryError, RegistryErrorCode } from "../../images/errors.js";
import { MediaType } from "../../images/manifest.js";
import type { RegistryClient, RepoRef } from "../../images/client.js";
import { parseImageReference } from "../../images/reference.js";
import { ImageCode } from "./codes.js";
import type { Attached } from "./discover.js";
import {
  COSIGN_SIGN_PREDICATE,
  pae,
  parseBase64,
  parseBundle,
  parseDsseBytes,
  parseSimpleSigning,
  parseStatement,
  type DsseEnvelope,
  type KeyBundle,
  type Statement,
} from "./formats.js";
import { verifyWith, type TrustedKey } from "./keys.js";

/** Bound on a signature payload, envelope or bundle: real ones are a few KiB. */
export const MAX_SIGNATURE_BYTES = 256 * 1024;

export type SignatureOutcome =
  { ok: true; signers: string[]; statement?: Statement } | { ok: false; code: ImageCode; message: string };

const fail = (code: ImageCode, message: string): SignatureOutcome => ({ ok: false, code, message });

function fromRegistryError(err: unknown, what: string): SignatureOutcome {
  if (err instanceof RegistryError) {
    if (err.code === RegistryErrorCode.TOO_LARGE)
      return fail(ImageCode.SIGNATURE_TOO_LARGE, `${what}: ${err.message}`);
    if (err.code === RegistryErrorCode.DIGEST_MISMATCH || err.code === RegistryErrorCode.MALFORMED) {
      return fail(ImageCode.SIGNATURE_MALFORMED, `${what}: ${err.message}`);
    }
    return fail(ImageCode.REGISTRY_ERROR, `${what}: ${err.message}`);
  }
  throw err;
}

/** Names of the signers whose keys verify `signature` over `data` (each signer once). */
function signersOf(keys: readonly TrustedKey[], data: Buffer, signatures: readonly Buffer[]): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (signatures.some((s) => verifyWith(k.key, data, s))) out.add(k.signer);
  }
  return [...out];
}

/** Same docker-reference: compare registry/repository after Docker's defaults (docker.io/library). */
export function sameRepository(a: string, b: string): boolean {
  const pa = parseImageReference(a);
  const pb = parseImageReference(b);
  if (!pa.ok || !pb.ok) return false;
  const hub = (r: string): string => (r === "index.docker.io" ? "docker.io" : r);
  return hub(pa.ref.registry) === hub(pb.ref.registry) && pa.ref.repository === pb.ref.repository;
}

export interface SignatureContext {
  client: RegistryClient;
  repo: RepoRef;
  /** The image digest being verified. */
  digest: string;
  /** "registry/repository" of the image, what a legacy payload's docker-reference must name. */
  repository: string;
  keys: readonly TrustedKey[];
}

/** A legacy simple-signing layer of the `.sig` tag. */
export async function verifyLegacySignature(
  ctx: SignatureContext,
  a: Extract<Attached, { $case: "legacy-signature" }>,
): Promise<SignatureOutcome> {
  const what = `signature layer ${a.layer.digest}`;
  if (a.layer.mediaType !== MediaType.COSIGN_SIMPLE_SIGNING) {
    return fail(ImageCode.SIGNATURE_MALFORMED, `${what} has media type ${a.layer.mediaType}`);
  }
  const sig = a.signature === undefined ? undefined : parseBase64(a.signature);
  if (sig === undefined || sig.length === 0 || sig.length > 1024) {
    return fail(ImageCode.SIGNATURE_MALFORMED, `${what} has no base64 signature annotation`);
  }
  let payload: Buffer;
  try {
    payload = await ctx.client.getDescribedBlob(ctx.repo, a.layer, MAX_SIGNATURE_BYTES);
  } catch (err) {
    return fromRegistryError(err, what);
  }
  const signers = signersOf(ctx.keys, payload, [sig]);
  if (signers.length === 0)
    return fail(ImageCode.UNKNOWN_SIGNER, `${what} does not verify under any trusted key`);
  const parsed = parseSimpleSigning(payload);
  if (!parsed.ok) return fail(ImageCode.SIGNATURE_MALFORMED, `${what}: ${parsed.reason}`);
  if (parsed.value.digest !== ctx.digest) {
    return fail(
      ImageCode.SIGNATURE_DIGEST_MISMATCH,
      `${what} signs ${parsed.value.digest}, not ${ctx.digest}`,
    );
  }
  if (!sameRepository(parsed.value.dockerReference, ctx.repository)) {
    return fail(
      ImageCode.REFERENCE_MISMATCH,
      `${what} signs docker-reference ${parsed.value.dockerReference}, not ${ctx.repository}`,
    );
  }
  return { ok: true, signers };
}

async function fetchBundle(
  ctx: SignatureContext,
  a: Extract<Attached, { $case: "bundle" }>,
): Promise<KeyBundle | SignatureOutcome> {
  const what = `bundle referrer ${a.manifest.digest}`;
  try {
    const m = await ctx.client.getManifest(ctx.repo, a.manifest.digest);
    if (m.manifest.kind !== "manifest")
      return fail(ImageCode.SIGNATURE_MALFORMED, `${what} is not an image manifest`);
    if (m.manifest.subject?.digest !== ctx.digest) {
      return fail(
        ImageCode.SIGNATURE_DIGEST_MISMATCH,
        `${what} has subject ${m.manifest.subject?.digest ?? "none"}`,
      );
    }
    const layer = m.manifest.layers.find((l) => l.mediaType === MediaType.SIGSTORE_BUNDLE);
    if (layer === undefined) return fail(ImageCode.SIGNATURE_MALFORMED, `${what} has no bundle layer`);
    const bytes = await ctx.client.getDescribedBlob(ctx.repo, layer, MAX_SIGNATURE_BYTES);
    const parsed = parseBundle(bytes);
    if (!parsed.ok) return fail(ImageCode.SIGNATURE_MALFORMED, `${what}: ${parsed.reason}`);
    return parsed.value;
  } catch (err) {
    return fromRegistryError(err, what);
  }
}

function verifyEnvelope(
  keys: readonly TrustedKey[],
  env: DsseEnvelope,
  what: string,
  hint?: string,
): SignatureOutcome {
  const signers = signersOf(keys, pae(env.payloadType, env.payload), env.signatures);
  if (signers.length === 0) {
    const named = hint !== undefined && hint !== "" && keys.some((k) => k.hint === hint);
    return named
      ? fail(ImageCode.BAD_SIGNATURE, `${what} names a trusted key but its signature does not verify`)
      : fail(ImageCode.UNKNOWN_SIGNER, `${what} does not verify under any trusted key`);
  }
  const statement = parseStatement(env);
  if (!statement.ok) return fail(ImageCode.SIGNATURE_MALFORMED, `${what}: ${statement.reason}`);
  return { ok: true, signers, statement: statement.value };
}

/**
 * A bundle referrer, as a signature (`predicateType` cosign/sign/v1) or as an attestation of `wantType`.
 * Keyless bundles are handed to `keyless` (the @sigstore/verify path) when the policy has keyless signers.
 */
export async function verifyBundle(
  ctx: SignatureContext,
  a: Extract<Attached, { $case: "bundle" }>,
  wantType: string,
  keyless?: (bundle: KeyBundle) => SignatureOutcome,
): Promise<SignatureOutcome> {
  const what = `bundle referrer ${a.manifest.digest}`;
  const bundle = await fetchBundle(ctx, a);
  if ("ok" in bundle) return bundle;
  let outcome: SignatureOutcome;
  switch (bundle.material.$case) {
    case "public-key":
      if (bundle.dsse === undefined) {
        return fail(
          ImageCode.SIGNATURE_MALFORMED,
          `${what}: key-based message signatures are not supported; sign with DSSE`,
        );
      }
      outcome = verifyEnvelope(ctx.keys, bundle.dsse, what, bundle.material.hint);
      break;
    case "certificate":
      if (keyless === undefined)
        return fail(ImageCode.UNKNOWN_SIGNER, `${what} is keyless and the policy has no keyless signer`);
      outcome = keyless(bundle);
      break;
    case "unknown":
      return fail(ImageCode.SIGNATURE_MALFORMED, `${what} has no verification material`);
  }
  return checkStatement(outcome, ctx, wantType, what);
}

function checkStatement(
  outcome: SignatureOutcome,
  ctx: SignatureContext,
  wantType: string,
  what: string,
): SignatureOutcome {
  if (!outcome.ok) return outcome;
  const st = outcome.statement;
  if (st === undefined) return fail(ImageCode.SIGNATURE_MALFORMED, `${what} carries no in-toto statement`);
  if (!st.subjectDigests.includes(ctx.digest.replace(/^sha256:/, ""))) {
    return fail(
      ImageCode.SIGNATURE_DIGEST_MISMATCH,
      `${what} is about sha256:${st.subjectDigests[0] ?? "nothing"}, not ${ctx.digest}`,
    );
  }
  if (st.predicateType !== wantType) {
    return fail(
      ImageCode.SIGNATURE_MALFORMED,
      `${what} has predicate type ${st.predicateType}, not ${wantType}`,
    );
  }
  return outcome;
}

/** A DSSE layer of the legacy `.att` tag. */
export async function verifyLegacyAttestation(
  ctx: SignatureContext,
  a: Extract<Attached, { $case: "legacy-attestation" }>,
  wantType: string,
): Promise<SignatureOutcome> {
  const what = `attestation layer ${a.layer.digest}`;
  let bytes: Buffer;
  try {
    bytes = await ctx.client.getDescribedBlob(ctx.repo, a.layer, MAX_SIGNATURE_BYTES);
  } catch (err) {
    return fromRegistryError(err, what);
  }
  const env = parseDsseBytes(bytes);
  if (!env.ok) return fail(ImageCode.SIGNATURE_MALFORMED, `${what}: ${env.reason}`);
  return checkStatement(verifyEnvelope(ctx.keys, env.value, what), ctx, wantType, what);
}

export { COSIGN_SIGN_PREDICATE };
