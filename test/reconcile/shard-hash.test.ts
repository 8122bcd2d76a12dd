// Jump consistent hashing: the reference implementation's answers, an even spread, and the property the
// algorithm exists for (growing from n to n+1 shards moves keys only into the new shard).
import { describe, expect, it } from "vitest";
import { jumpHash, shardOf } from "../../src/reconcile/shard-hash.js";

describe("jumpHash", () => {
  it("gives the reference C++ implementation's buckets (as published with dgryski/go-jump)", () => {
    const vectors: [bigint, number[]][] = [
      [0n, new Array<number>(20).fill(0)],
      [1n, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17]],
      [0xdeadbeefn, [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16]],
      [0x0ddc0ffeebadf00dn, [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15]],
    ];
    for (const [key, buckets] of vectors) {
      expect(buckets.map((_, i) => jumpHash(key, i + 1))).toEqual(buckets);
    }
  });

  it("refuses a bucket count that is not a whole number of at least 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => jumpHash(1n, bad)).toThrow(RangeError);
  });
});

describe("shardOf", () => {
  const ids = Array.from({ length: 6000 }, (_, i) => ({
    namespace: `team-${String(i % 7)}`,
    name: `app-${String(i)}`,
  }));

  it("spreads Applications evenly and moves only into the new shard when one is added", () => {
    const counts = new Array<number>(6).fill(0);
    for (const id of ids) counts[shardOf(id, 6)]! += 1;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    let moved = 0;
    for (const id of ids) {
      const before = shardOf(id, 6);
      const after = shardOf(id, 7);
      if (after !== before) {
        expect(after).toBe(6);
        moved++;
      }
    }
    // About 1/7 of them move, none between old shards.
    expect(Math.abs(moved - 6000 / 7)).toBeLessThan(150);
  });

  it("depends on namespace and name, not on which replica asks", () => {
    expect(shardOf({ namespace: "a", name: "b/c" }, 64)).toBe(shardOf({ namespace: "a", name: "b/c" }, 64));
    expect(shardOf({ namespace: "x", name: "y" }, 1)).toBe(0);
  });
});
