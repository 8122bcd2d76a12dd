// Where `images pin` edits: image values in any quoting (block scalars left alone), kustomize entries in
// block and flow style, only the images the revision renders to, and nothing else of the text.
import { describe, expect, it } from "vitest";
import { findSites } from "../../src/images/source-pin.js";

const IMG = "registry.example.com/team/app:v1";

describe("findSites", () => {
  it("finds image values plain, double- and single-quoted, with their lines", () => {
    const text = [
      "spec:",
      `  - image: ${IMG} # plain`,
      `  - image: "${IMG}"`,
      `  - image: '${IMG}'`,
      "  - image: registry.example.com/team/other:v1",
      `  - image: ${IMG}@sha256:${"b".repeat(64)}`,
      "",
    ].join("\n");
    const sites = findSites([{ file: "d.yaml", text }], [IMG, `${IMG}@sha256:${"b".repeat(64)}`]);
    expect(sites.map((s) => s.line)).toEqual([2, 3, 4]);
    expect(sites.every((s) => s.image === IMG)).toBe(true);
  });

  it("leaves block scalars and keys other than image alone", () => {
    const text = ["image: |", `  ${IMG}`, `name: ${IMG}`, ""].join("\n");
    expect(findSites([{ file: "d.yaml", text }], [IMG])).toEqual([]);
  });

  it("matches kustomize entries by name or newName and newTag, block and flow style, not those with a digest", () => {
    const text = [
      "images:",
      "  - name: app",
      "    newName: registry.example.com/team/app",
      "    newTag: v1",
      "  - { name: registry.example.com/team/app, newTag: v1 }",
      "  - name: registry.example.com/team/app",
      "    newTag: v2",
      "  - name: registry.example.com/team/app",
      `    digest: sha256:${"c".repeat(64)}`,
      "",
    ].join("\n");
    const sites = findSites([{ file: "kustomization.yaml", text }], [IMG]);
    expect(sites.map((s) => s.line)).toEqual([2, 5]);
    // The same text elsewhere than a kustomization is not a kustomize entry.
    expect(findSites([{ file: "other.yaml", text }], [IMG])).toEqual([]);
  });

  it("survives hostile YAML (an alias bomb, syntax errors) quickly and finds nothing in it", () => {
    const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    const started = performance.now();
    expect(findSites([{ file: "bomb.yaml", text: lines.join("\n") }], [IMG])).toEqual([]);
    expect(findSites([{ file: "bad.yaml", text: "image: [unclosed\n  - : :" }], [IMG])).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
