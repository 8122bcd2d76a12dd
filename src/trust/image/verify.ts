// Image verification as named steps, like the specification reads: reference, registry, digest, tag,
// signatures, attestations, base image. Each step adds a check with a verdict and, on failure, a code from
// codes.ts; the first failing step ends that image's verification (fail closed). Results are cached by digest.
import { RegistryError, RegistryErrorCode } from "../../images/errors.js";
import type { FetchedManifest, RegistryClient, RepoRef } from "../../images/client.js";
import {
  formatReference,
  parseImageReference,
  repositoryName,
  type ImageReference,
} from "../../images/reference.js";
import type { ImagePolicy } from "../../config/types.js";
import { isCelError } from "@bufbuild/cel";
import { VerificationCache, type CachedVerdict } from "./cache.js";
import { ImageCode, SIGNATURE_CODE_ORDER, type CheckName, type ImageCheck } from "./codes.js";
import { discoverAttached, type Attached } from "./discover.js";
import { compileImagePolicy, type CompiledImagePolicy } from "./policy.js";
import {
  COSIGN_SIGN_PREDICATE,
  verifyBundle,
  verifyLegacyAttestation,
  verifyLegacySignature,
  type SignatureContext,
  type SignatureOutcome,
} from "./signatures.js";
import type { KeyBundle } from "./formats.js";
import { verifyKeylessBundle } from "./keyless.js";

export interface ImageResult {
  /** The reference as given. */
  ref: string;
  /** Canonical "registry/repository[:tag]" (the key of the recorded tag → digest mapping). */
  canonical?: string;
  digest?: string;
  /** The reference pinned, `ref@digest`: what pod templates get. Unset for tags when requireDigest is false. */
  pinned?: string;
  checks: ImageCheck[];
  ok: boolean;
  code?: ImageCode;
  /** Distinct trusted signers whose signatures verified. */
  signers: string[];
  cached: boolean;
}

export interface VerifyImagesOptions {
  images: readonly string[];
  policy: ImagePolicy | CompiledImagePolicy;
  /** Tag → digest recorded for the same commit earlier ("registry/repo:tag" or the reference as written). */
  recorded?: Readonly<Record<string, string>>;
  client: RegistryClient;
  cache?: VerificationCache;
  /** Verifies keyless bundles; default: @sigstore/verify against the policy's trustedRoot (keyless.ts). */
  keyless?: (bundle: KeyBundle, policy: CompiledImagePolicy, digest: string) => SignatureOutcome;
  /** Images verified at once (default 8). */
  concurrency?: number;
}

export interface VerifyImagesResult {
  ok: boolean;
  results: ImageResult[];
  /** Tag references resolved in this run: canonical "registry/repo:tag" → digest, to record. */
  resolved: Record<string, string>;
  /** Set when the policy itself is unusable; then nothing was verified. */
  policyErrors?: string[];
}

function isCompiled(p: ImagePolicy | CompiledImagePolicy): p is CompiledImagePolicy {
  return "fingerprint" in p;
}

/** Verifies every image; the result is ok only if each one is. */
export async function verifyImages(opts: VerifyImagesOptions): Promise<VerifyImagesResult> {
  let policy: CompiledImagePolicy;
  if (isCompiled(opts.policy)) policy = opts.policy;
  else {
    const compiled = compileImagePolicy(opts.policy);
    if (!compiled.ok) return { ok: false, results: [], resolved: {}, policyErrors: compiled.errors };
    policy = compiled.policy;
  }
  const unique = [...new Set(opts.images)];
  const results = new Map<string, ImageResult>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const image = unique[i];
      if (image === undefined) return;
      results.set(image, await new ImageVerification(image, policy, opts).run());
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, unique.length) }, worker));
  const ordered = unique.map((i) => results.get(i)).filter((r): r is ImageResult => r !== undefined);
  const resolved: Record<string, string> = {};
  for (const r of ordered) {
    if (
      r.canonical !== undefined &&
      r.digest !== undefined &&
      r.canonical.includes(":", r.canonical.lastIndexOf("/"))
    ) {
      resolved[r.canonical] = r.digest;
    }
  }
  return { ok: ordered.every((r) => r.ok), results: ordered, resolved };
}

/** Thrown inside a step to end the image's verification with a failed check. */
class StepFailure extends Error {
  constructor(
    readonly code: ImageCode,
    message: string,
  ) {
    super(message);
  }
}

class ImageVerification {
  private readonly checks: ImageCheck[] = [];
  private readonly result: ImageResult;
  private ref!: ImageReference;
  private repo!: RepoRef;
  private fetched!: FetchedManifest;
  private attached: Attached[] | undefined;

  constructor(
    private readonly image: string,
    private readonly policy: CompiledImagePolicy,
    private readonly opts: VerifyImagesOptions,
  ) {
    this.result = { ref: image, checks: this.checks, ok: false, signers: [], cached: false };
  }

  async run(): Promise<ImageResult> {
    try {
      this.parseReference();
      this.checkRegistry();
      await this.resolveDigest();
      this.checkTag();
      const key = VerificationCache.key(
        this.fetched.digest,
        repositoryName(this.ref),
        this.policy.fingerprint,
      );
      const hit = this.opts.cache?.get(key);
      if (hit !== undefined) {
        this.checks.push(...hit.checks);
        this.result.signers = hit.signers;
        this.result.cached = true;
      } else {
        const before = this.checks.length;
        await this.verifySignatures();
        await this.verifyAttestations();
        this.checkBaseImage();
        const verdict: CachedVerdict = { checks: this.checks.slice(before), signers: this.result.signers };
        this.opts.cache?.set(key, verdict);
      }
      this.result.ok = true;
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      this.result.code = err.code;
    }
    return this.result;
  }

  /** The image as messages name it: with its digest once (a pinned reference already carries it). */
  private named(digest: string): string {
    return this.ref.digest === undefined ? `${this.image}@${digest}` : this.image;
  }

  private pass(name: CheckName, message: string): void {
    this.checks.push({ name, verdict: "pass", message });
  }

  private skip(name: CheckName, message: string): void {
    this.checks.push({ name, verdict: "skip", message });
  }

  private fail(name: CheckName, code: ImageCode, message: string): never {
    this.checks.push({ name, verdict: "fail", code, message });
    throw new StepFailure(code, message);
  }

  private parseReference(): void {
    const parsed = parseImageReference(this.image);
    if (!parsed.ok)
      this.fail("reference", ImageCode.INVALID_REFERENCE, `image "${this.image}": ${parsed.reason}`);
    this.ref = parsed.ref;
    this.repo = { registry: parsed.ref.registry, repository: parsed.ref.repository };
    this.result.canonical = formatReference({
      registry: this.ref.registry,
      repository: this.ref.repository,
      ...(this.ref.tag === undefined ? {} : { tag: this.ref.tag }),
    });
    this.pass("reference", `${this.image} is ${formatReference(parsed.ref)}`);
  }

  private checkRegistry(): void {
    const name = repositoryName(this.ref);
    const allowed = this.policy.registries.find((prefix) => {
      const p = prefix.replace(/\/+$/, "");
      return name === p || name.startsWith(`${p}/`);
    });
    if (allowed === undefined) {
      this.fail(
        "registry",
        ImageCode.REGISTRY_NOT_ALLOWED,
        `${name} is not under an allowed registry (${this.policy.registries.join(", ") || "none listed"}); push it to one, or add its prefix to spec.images.registries`,
      );
    }
    this.pass("registry", `${name} is under ${allowed}`);
  }

  private async resolveDigest(): Promise<void> {
    const reference = this.ref.digest ?? this.ref.tag ?? "latest";
    try {
      this.fetched = await this.opts.client.getManifest(this.repo, reference);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      const code =
        err.code === RegistryErrorCode.NOT_FOUND
          ? ImageCode.IMAGE_NOT_FOUND
          : err.code === RegistryErrorCode.DIGEST_MISMATCH
            ? ImageCode.MANIFEST_DIGEST_MISMATCH
            : err.code === RegistryErrorCode.INSECURE_REFUSED
              ? ImageCode.INSECURE_REGISTRY
              : ImageCode.REGISTRY_ERROR;
      this.fail("digest", code, `${this.image}: ${err.message}`);
    }
    const digest = this.fetched.digest;
    this.result.digest = digest;
    // With requireDigest off, tags stay as written (verified now, but free to move later).
    if (this.ref.digest !== undefined) this.result.pinned = this.image;
    else if (this.policy.requireDigest) this.result.pinned = `${this.image}@${digest}`;
    this.pass(
      "digest",
      this.ref.digest === undefined
        ? `tag ${this.ref.tag ?? "latest"} resolves to ${digest}${this.policy.requireDigest ? "; pinned" : ""}`
        : `manifest matches ${digest}`,
    );
  }

  private checkTag(): void {
    if (this.ref.digest !== undefined) {
      this.skip("tag", "pinned by digest in the source");
      return;
    }
    const recorded = this.opts.recorded?.[this.result.canonical ?? ""] ?? this.opts.recorded?.[this.image];
    if (recorded === undefined) {
      this.skip("tag", "no digest recorded for this tag yet");
      return;
    }
    if (recorded === this.fetched.digest) {
      this.pass("tag", `tag still resolves to the recorded ${recorded}`);
      return;
    }
    const message = `tag ${this.result.canonical ?? this.image} moved from the recorded ${recorded} to ${this.fetched.digest}`;
    if (this.policy.allowTagMove) {
      this.pass("tag", `${message} (allowed by allowTagMove)`);
      return;
    }
    this.fail("tag", ImageCode.TAG_MOVED, `${message}; pin the new digest in git to accept it`);
  }

  private context(): SignatureContext {
    return {
      client: this.opts.client,
      repo: this.repo,
      digest: this.fetched.digest,
      repository: repositoryName(this.ref),
      keys: this.policy.keys,
    };
  }

  private async attachments(): Promise<Attached[]> {
    if (this.attached === undefined) {
      try {
        this.attached = await discoverAttached(this.opts.client, this.repo, this.fetched.digest, {
          attestations: this.policy.attestations.length > 0,
        });
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        this.fail(
          "signatures",
          ImageCode.REGISTRY_ERROR,
          `${this.image}: looking for signatures: ${err.message}`,
        );
      }
    }
    return this.attached;
  }

  private keylessHook(): ((b: KeyBundle) => SignatureOutcome) | undefined {
    const hook = this.opts.keyless ?? ((b: KeyBundle, p: CompiledImagePolicy) => verifyKeylessBundle(b, p));
    if (this.policy.keylessSigners.length === 0) return undefined;
    return (b) => hook(b, this.policy, this.fetched.digest);
  }

  private async verifySignatures(): Promise<void> {
    if (this.policy.signerNames.length === 0) {
      this.skip("signatures", "the policy lists no image signers");
      return;
    }
    const ctx = this.context();
    const candidates = (await this.attachments()).filter(
      (a) =>
        a.$case === "legacy-signature" ||
        (a.$case === "bundle" && (a.predicateType ?? COSIGN_SIGN_PREDICATE) === COSIGN_SIGN_PREDICATE),
    );
    if (candidates.length === 0) {
      this.fail(
        "signatures",
        ImageCode.UNSIGNED,
        `${this.named(ctx.digest)} has no cosign signature (neither .sig tag nor bundle referrer)`,
      );
    }
    const outcomes = await Promise.all(
      candidates.map((a) =>
        a.$case === "legacy-signature"
          ? verifyLegacySignature(ctx, a)
          : a.$case === "bundle"
            ? verifyBundle(ctx, a, COSIGN_SIGN_PREDICATE, this.keylessHook())
            : Promise.resolve<SignatureOutcome>({
                ok: false,
                code: ImageCode.SIGNATURE_MALFORMED,
                message: "unexpected",
              }),
      ),
    );
    // Each signer counts once, however many of its signatures verify.
    const signers = new Set<string>();
    for (const o of outcomes) if (o.ok) for (const s of o.signers) signers.add(s);
    this.result.signers = [...signers].sort();
    if (signers.size >= this.policy.threshold) {
      this.pass(
        "signatures",
        `signed by ${this.result.signers.join(", ")} (threshold ${this.policy.threshold})`,
      );
      return;
    }
    if (signers.size > 0) {
      this.fail(
        "signatures",
        ImageCode.THRESHOLD_NOT_MET,
        `${this.named(ctx.digest)} is signed by ${signers.size} of the ${this.policy.threshold} distinct signers required (${this.result.signers.join(", ")})`,
      );
    }
    const failures = outcomes.filter((o): o is Extract<SignatureOutcome, { ok: false }> => !o.ok);
    const worst =
      SIGNATURE_CODE_ORDER.map((c) => failures.find((f) => f.code === c)).find((f) => f !== undefined) ??
      failures[0];
    this.fail(
      "signatures",
      worst?.code ?? ImageCode.UNSIGNED,
      `${this.named(ctx.digest)}: no valid signature from a trusted signer: ${failures.map((f) => f.message).join("; ")}`,
    );
  }

  private async verifyAttestations(): Promise<void> {
    if (this.policy.attestations.length === 0) {
      this.skip("attestations", "the policy requires no attestations");
      return;
    }
    const ctx = this.context();
    const all = await this.attachments();
    const passed: string[] = [];
    for (const req of this.policy.attestations) {
      const candidates = all.filter(
        (a) =>
          (a.$case === "legacy-attestation" || a.$case === "bundle") &&
          (a.predicateType === undefined || a.predicateType === req.predicateType),
      );
      const outcomes = await Promise.all(
        candidates.map((a) =>
          a.$case === "legacy-attestation"
            ? verifyLegacyAttestation(ctx, a, req.predicateType)
            : a.$case === "bundle"
              ? verifyBundle(ctx, a, req.predicateType, this.keylessHook())
              : Promise.resolve<SignatureOutcome>({
                  ok: false,
                  code: ImageCode.SIGNATURE_MALFORMED,
                  message: "unexpected",
                }),
        ),
      );
      const verified = outcomes.filter(
        (o): o is Extract<SignatureOutcome, { ok: true }> => o.ok && o.statement !== undefined,
      );
      if (verified.length === 0) {
        const untrusted = outcomes.find((o) => !o.ok && o.code !== ImageCode.SIGNATURE_MALFORMED);
        if (untrusted !== undefined && !untrusted.ok) {
          this.fail(
            "attestations",
            ImageCode.ATTESTATION_UNVERIFIED,
            `${req.predicateType}: ${untrusted.message}`,
          );
        }
        this.fail(
          "attestations",
          ImageCode.ATTESTATION_MISSING,
          `${this.named(ctx.digest)} has no attestation of type ${req.predicateType} signed by a trusted key`,
        );
      }
      if (req.condition !== undefined) {
        const cond = req.condition;
        const holds = verified.some((v) => {
          const r = cond.evaluate(v.statement?.predicate);
          return !isCelError(r) && r === true;
        });
        if (!holds) {
          this.fail(
            "attestations",
            ImageCode.ATTESTATION_CONDITION_FAILED,
            `${req.predicateType}: condition "${cond.source}" does not hold for ${this.image}@${ctx.digest}`,
          );
        }
      }
      passed.push(req.predicateType);
    }
    this.pass("attestations", `verified ${passed.join(", ")}`);
  }

  private checkBaseImage(): void {
    if (this.policy.baseImages.length === 0) {
      this.skip("base-image", "the policy lists no approved base images");
      return;
    }
    const annotations = this.fetched.manifest.annotations;
    const baseName = annotations["org.opencontainers.image.base.name"];
    const baseDigest = annotations["org.opencontainers.image.base.digest"];
    if (baseName === undefined) {
      this.skip("base-image", "the image names no base image");
      return;
    }
    const parsed = parseImageReference(baseName);
    const name = parsed.ok ? repositoryName(parsed.ref) : baseName;
    const approved = this.policy.baseImages.find((entry) => {
      const at = entry.indexOf("@");
      if (at >= 0) {
        const p = parseImageReference(entry.slice(0, at));
        return baseDigest === entry.slice(at + 1) && p.ok && repositoryName(p.ref) === name;
      }
      const p = entry.replace(/\/+$/, "");
      return name === p || name.startsWith(`${p}/`) || baseName === entry;
    });
    if (approved === undefined) {
      this.fail(
        "base-image",
        ImageCode.BASE_IMAGE_NOT_APPROVED,
        `${this.image} is built on ${baseName}${baseDigest === undefined ? "" : `@${baseDigest}`}, which is not in spec.images.baseImages`,
      );
    }
    this.pass("base-image", `base ${baseName} is approved (${approved})`);
  }
}
