// Verdicts cached by image digest (and the repository and policy they were reached under), so a verified
// image is not verified again. Only passing verdicts are kept: a failure may be a registry hiccup.
import type { ImageCheck } from "./codes.js";

export interface CachedVerdict {
  checks: ImageCheck[];
  signers: string[];
}

export class VerificationCache {
  private readonly entries = new Map<string, CachedVerdict>();
  constructor(private readonly maxEntries = 10_000) {}

  static key(digest: string, repository: string, policyFingerprint: string): string {
    return `${digest} ${repository} ${policyFingerprint}`;
  }

  get(key: string): CachedVerdict | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert so the oldest-used entry is the first one evicted.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, verdict: CachedVerdict): void {
    this.entries.delete(key);
    this.entries.set(key, verdict);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
