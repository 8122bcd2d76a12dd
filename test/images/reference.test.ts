// Image reference parsing: Docker's defaults, tags and digests, and refusal of malformed references.
import { describe, expect, it } from "vitest";
import { formatReference, isLoopbackHost, parseImageReference } from "../../src/images/reference.js";

describe("parseImageReference", () => {
  it.each([
    ["nginx", "docker.io/library/nginx"],
    ["nginx:1.25", "docker.io/library/nginx:1.25"],
    ["team/app:v1", "docker.io/team/app:v1"],
    ["localhost/app", "localhost/app"],
    ["127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"],
    [`ghcr.io/o/r@sha256:${"a".repeat(64)}`, `ghcr.io/o/r@sha256:${"a".repeat(64)}`],
    [`ghcr.io/o/r:v2@sha256:${"b".repeat(64)}`, `ghcr.io/o/r:v2@sha256:${"b".repeat(64)}`],
  ])("%s → %s", (input, canonical) => {
    const r = parseImageReference(input);
    if (!r.ok) throw new Error(r.reason);
    expect(formatReference(r.ref)).toBe(canonical);
  });

  it.each([
    "",
    "UPPER/case",
    "ghcr.io/o/r@sha256:short",
    "ghcr.io/o/r@md5:" + "a".repeat(32),
    "ghcr.io/o/r:bad tag",
    "ghcr.io//double",
    "a".repeat(600),
  ])("refuses %j", (input) => {
    expect(parseImageReference(input).ok).toBe(false);
  });

  it("knows loopback hosts", () => {
    expect(isLoopbackHost("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("[::1]:5000")).toBe(true);
    expect(isLoopbackHost("10.0.0.1:5000")).toBe(false);
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
  });
});
