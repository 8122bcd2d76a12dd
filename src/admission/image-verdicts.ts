// Image verdicts for admission: trust/image's verifyImages, behind a bounded LRU keyed by the reference and
// the policy's fingerprint, so a warm review never touches the registry. A reference pinned by digest names
// immutable content, so its passing verdict stays until evicted or its TTL ends; failures and tags are kept
// briefly; a registry error is never kept. Concurrent reviews of one new image share one verification.
import type { CompiledImagePolicy } from "../trust/image/policy.js";
import { ImageCode } from "../trust/image/codes.js";
import { VerificationCache } from "../trust/image/cache.js";
import type { RegistryClient } from "../images/client.js";
import { verifyImages, type ImageResult } from "../trust/image/verify.js";

export interface ImageVerdictOptions {
  readonly policy: CompiledImagePolicy;
  readonly client: RegistryClient;
  /** Most verdicts kept (default 10,000): the least recently used goes first. */
  readonly maxEntries?: number;
  /** How long a pass for a digest-pinned reference is kept (default 1 h). */
  readonly pinnedTtlMs?: number;
  /** How long anything else is kept: failures, and tags, which may move (default 30 s). */
  readonly shortTtlMs?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly result: ImageResult;
  readonly expires: number;
}

export class ImageVerdicts {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ImageResult>>();
  /** The digest-level cache of trust/image: a tag and its pinned form share the signature work. */
  private readonly digestCache: VerificationCache;
  private readonly maxEntries: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(private readonly opts: ImageVerdictOptions) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.digestCache = new VerificationCache(this.maxEntries);
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The verdict of each image (in order), from the cache or the registry. */
  verify(images: readonly string[]): Promise<ImageResult[]> {
    return Promise.all(images.map((i) => this.one(i)));
  }

  /** Puts a verdict in the cache as a verification would (the bench fills the cache with it). */
  remember(result: ImageResult): void {
    const pinned = result.ref.includes("@sha256:");
    const ttl = result.ok && pinned ? (this.opts.pinnedTtlMs ?? 3_600_000) : (this.opts.shortTtlMs ?? 30_000);
    this.entries.delete(result.ref);
    this.entries.set(result.ref, { result, expires: this.now() + ttl });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  private one(image: string): Promise<ImageResult> {
    const hit = this.entries.get(image);
    if (hit !== undefined) {
      if (hit.expires > this.now()) {
        this.hits++;
        // Re-insert: the least recently used entry is the first one evicted.
        this.entries.delete(image);
        this.entries.set(image, hit);
        return Promise.resolve(hit.result);
      }
      this.entries.delete(image);
    }
    const running = this.inflight.get(image);
    if (running !== undefined) return running;
    this.misses++;
    const p = this.cold(image).finally(() => this.inflight.delete(image));
    this.inflight.set(image, p);
    return p;
  }

  private async cold(image: string): Promise<ImageResult> {
    const out = await verifyImages({
      images: [image],
      policy: this.opts.policy,
      client: this.opts.client,
      cache: this.digestCache,
      concurrency: 1,
    });
    const result = out.results[0] ?? {
      ref: image,
      checks: [],
      ok: false,
      code: ImageCode.POLICY_INVALID,
      signers: [],
      cached: false,
    };
    // A registry that did not answer says nothing about the image: ask again next time.
    if (result.code !== ImageCode.REGISTRY_ERROR) this.remember(result);
    return result;
  }
}
