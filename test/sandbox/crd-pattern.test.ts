// The sandbox API server checks a CRD's `pattern` (outside input) in re2js, in time linear in the value,
// as kube-apiserver does in Go's RE2; JavaScript's backtracking RegExp would take exponential time on
// `^(a+)+$`.
import { describe, expect, it } from "vitest";
import { validateCustom } from "../../src/sandbox/crd-validation.js";
import type { JsonObject } from "../../src/sandbox/fieldset.js";

let uid = 0;
function crdWithPattern(pattern: string): JsonObject {
  uid += 1;
  return {
    metadata: { name: "widgets.example.com", uid: `crd-${uid}`, resourceVersion: "1" },
    spec: {
      versions: [
        {
          name: "v1",
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", properties: { name: { type: "string", pattern } } } },
            },
          },
        },
      ],
    },
  };
}

const widget = (name: string): JsonObject => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w" },
  spec: { name },
});

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

describe("CRD pattern validation in the sandbox", () => {
  it("answers ^(a+)+$ against 10^5 characters fast, with the right verdict either way", () => {
    const crd = crdWithPattern("^(a+)+$");
    const long = "a".repeat(100_000);
    const ok = timed(() => validateCustom(crd, "v1", widget(long)));
    expect(ok.value).toEqual([]);
    const bad = timed(() => validateCustom(crd, "v1", widget(long + "b")));
    expect(bad.value).toMatchObject([{ type: "FieldValueInvalid", field: "spec.name" }]);
    expect(bad.value[0]?.message).toMatch(/must match pattern/);
    expect(ok.ms).toBeLessThan(1_000);
    expect(bad.ms).toBeLessThan(1_000);
  });

  it("keeps JSON Schema's unanchored search and Unicode, each CRD with its own pattern", () => {
    const crd = crdWithPattern("[0-9]{3}");
    expect(validateCustom(crd, "v1", widget("ab123cd"))).toEqual([]);
    expect(validateCustom(crd, "v1", widget("ab12cd"))).toHaveLength(1);
    const letters = crdWithPattern("^\\p{L}+$");
    expect(validateCustom(letters, "v1", widget("café"))).toEqual([]);
    expect(validateCustom(letters, "v1", widget("caf3"))).toHaveLength(1);
  });

  it("a pattern RE2 cannot compile (a backreference) refuses the CRD's objects instead of accepting them", () => {
    const crd = crdWithPattern("^(a)\\1$");
    const causes = validateCustom(crd, "v1", widget("aa"));
    expect(causes).toHaveLength(1);
    expect(causes[0]?.message).toMatch(/schema for v1 cannot be compiled .*fix the CRD/);
    // A schema that compiles still accepts what matches it.
    expect(validateCustom(crdWithPattern("^a+$"), "v1", widget("aa"))).toEqual([]);
  });
});
