// Parsing of commit and tag objects, which come from the repository being verified: hostile or random
// bytes are reported as malformed, never thrown; the signed payload is the object minus its signature.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseCommit, parseTag } from "../../src/source/commit.js";

const TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const signed = [
  `tree ${TREE}`,
  `parent ${"a".repeat(40)}`,
  "author A <a@example.com> 1700000000 +0000",
  "committer A <a@example.com> 1700000000 +0000",
  "gpgsig -----BEGIN SSH SIGNATURE-----",
  " U1NIU0lH",
  " -----END SSH SIGNATURE-----",
  "",
  "message",
  "",
].join("\n");

describe("parseCommit", () => {
  it("splits the signature from the payload git signs", () => {
    const c = parseCommit("b".repeat(40), Buffer.from(signed));
    expect(c.malformed).toBeUndefined();
    expect(c.signature?.format).toBe("ssh");
    expect(c.signature?.armored).toBe(
      "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
    );
    const unsigned = [
      `tree ${TREE}`,
      `parent ${"a".repeat(40)}`,
      "author A <a@example.com> 1700000000 +0000",
      "committer A <a@example.com> 1700000000 +0000",
      "",
      "message",
      "",
    ].join("\n");
    expect(c.payload.toString()).toBe(unsigned);
    expect(c.payload.toString()).not.toContain("gpgsig");
    expect(c.parents).toEqual(["a".repeat(40)]);
    expect(c.author?.email).toBe("a@example.com");
    expect(c.message).toBe("message\n");
  });

  it("reports missing or doubled headers as malformed", () => {
    expect(parseCommit("c".repeat(40), Buffer.from("no headers at all")).malformed).toBeDefined();
    const twoAuthors = signed.replace("committer", "author");
    expect(parseCommit("c".repeat(40), Buffer.from(twoAuthors)).malformed).toMatch(/author/);
    const badParent = signed.replace(`parent ${"a".repeat(40)}`, "parent HEAD~1");
    expect(parseCommit("c".repeat(40), Buffer.from(badParent)).malformed).toMatch(/parent/);
  });

  it("never throws on random or truncated bytes", () => {
    for (let i = 0; i < 500; i++) {
      const junk = i % 2 === 0 ? randomBytes(i) : Buffer.from(signed).subarray(0, i % signed.length);
      expect(() => parseCommit("d".repeat(40), junk)).not.toThrow();
      expect(() => parseTag("d".repeat(40), junk)).not.toThrow();
    }
  });
});

describe("parseTag", () => {
  it("takes the last signature block of the message and signs what comes before it", () => {
    const body = `object ${"a".repeat(40)}\ntype commit\ntag v1\ntagger A <a@example.com> 1700000000 +0000\n\nrelease\n`;
    const sig = "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
    const t = parseTag("e".repeat(40), Buffer.from(body + sig));
    expect(t.malformed).toBeUndefined();
    expect(t.tag).toBe("v1");
    expect(t.payload.toString()).toBe(body);
    expect(t.signature).toEqual({ format: "openpgp", armored: sig });
    expect(parseTag("e".repeat(40), Buffer.from(body)).signature).toBeUndefined();
  });
});
