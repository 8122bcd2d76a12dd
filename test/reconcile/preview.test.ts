// The cleaning and redaction of `gitward diff`: server-assigned metadata and status never show as a
// difference, and a Secret's values become markers that tell changed from unchanged without the values.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/cluster/client.js";
import { objectDiff, SECRET_MARKER } from "../../src/reconcile/preview.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function secret(data: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "db", namespace: "shop", ...extra },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

describe("objectDiff", () => {
  it("ignores what the server assigns and status", () => {
    const desired = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { x: "1" } };
    const live = {
      ...desired,
      metadata: {
        name: "a",
        uid: "u",
        resourceVersion: "7",
        generation: 3,
        creationTimestamp: "t",
        managedFields: [],
      },
      status: { phase: "x" },
    } as unknown as KubeObject;
    expect(objectDiff(live, desired as KubeObject)).toBeUndefined();
    expect(objectDiff(live, { ...desired, data: { x: "2" } })?.action).toBe("update");
  });

  it("marks a changed Secret value before/after and an unchanged one with the fixed marker, never a value", () => {
    const live = secret(
      { password: "old-pass", user: "admin" },
      {
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
            data: { password: b64("old-pass") },
          }),
        },
      },
    );
    const d = objectDiff(live, secret({ password: "new-pass", user: "admin" }));
    expect(d?.action).toBe("update");
    const text = d?.diff ?? "";
    for (const v of ["old-pass", "new-pass", "admin", b64("old-pass"), b64("new-pass"), b64("admin")]) {
      expect(text).not.toContain(v);
    }
    expect(text).toContain('-  password: "*** (redacted, before)"');
    expect(text).toContain('+  password: "*** (redacted, after)"');
    expect(text).toContain(`  user: "${SECRET_MARKER}"`);
  });

  it("shows no difference for a Secret whose values are the same, and redacts created and deleted ones", () => {
    expect(objectDiff(secret({ a: "same" }), secret({ a: "same" }))).toBeUndefined();
    const created = objectDiff(undefined, secret({ a: "new-value" }));
    expect(created?.action).toBe("create");
    expect(created?.diff).not.toContain(b64("new-value"));
    const deleted = objectDiff(secret({ a: "gone-value" }), undefined);
    expect(deleted?.action).toBe("delete");
    expect(deleted?.diff).not.toContain(b64("gone-value"));
  });
});
