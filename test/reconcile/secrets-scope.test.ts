// In reconcile the secret scanner reads only the Application's source.path: a secret elsewhere in the
// repository no longer blocks every Application (issue 19), and one inside source.path still does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrustPolicy } from "../../src/config/types.js";
import { configMap, startWorld, type World } from "./harness.js";

// Made up in the issuer's format, assembled at run time so this file holds none.
const GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";

let w: World;
let trust: TrustPolicy;

beforeAll(async () => {
  w = await startWorld();
  const t = w.trust();
  trust = { ...t, spec: { ...t.spec, policy: { packs: ["secrets-hygiene"] } } };
});

afterAll(async () => {
  await w.stop();
});

describe("secret scanner scope in reconcile", () => {
  it("a secret outside source.path does not block the Application; one inside it does", async () => {
    const clean = await w.commit({
      "apps/shop/config.yaml": configMap("settings", { color: "blue" }),
      "apps/billing/app.env": `GITHUB=${GITHUB}\n`,
    });
    const ok = await w.reconcile(w.app(), {}, trust);
    expect([ok.result, ok.revision]).toEqual(["applied", clean]);

    await w.commit({ "apps/shop/leak.env": `GITHUB=${GITHUB}\n` });
    const refused = await w.reconcile(w.app(), {}, trust);
    expect([refused.result, refused.reason]).toEqual(["refused", "POLICY_FAILED"]);
    expect(refused.status.lastAppliedRevision).toBe(clean);
  });
});
