// Which shard an Application belongs to: jump consistent hashing (Lamping and Veach, "A Fast, Minimal
// Memory, Consistent Hash Algorithm", 2014) of the first 64 bits of SHA-256("<namespace>/<name>"). The
// mapping depends on the name and the shard count only, so every replica computes the same one without
// talking to the others; changing the count from n to n+1 moves only the Applications that land in the new
// shard (about 1/(n+1) of them). See docs/adr/0014-sharded-replicas.md.
import { createHash } from "node:crypto";
import type { AppId } from "./inventory.js";

const MASK64 = (1n << 64n) - 1n;
/** The 64-bit linear congruential step of the paper. */
const LCG_MULTIPLIER = 2862933555777941757n;
const TWO_POW_31 = 2 ** 31;

/** The most shards `--shards` accepts: each is one Lease renewed by its holder every retry period. */
export const MAX_SHARDS = 256;

/** Jump consistent hash of a 64-bit key into [0, buckets). */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isSafeInteger(buckets) || buckets < 1)
    throw new RangeError(`jumpHash needs a whole number of buckets >= 1, not ${String(buckets)}`);
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * LCG_MULTIPLIER + 1n) & MASK64;
    j = Math.floor((b + 1) * (TWO_POW_31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard of an Application, in [0, shards). */
export function shardOf(app: AppId, shards: number): number {
  const digest = createHash("sha256").update(`${app.namespace}/${app.name}`, "utf8").digest();
  return jumpHash(digest.readBigUInt64BE(0), shards);
}
