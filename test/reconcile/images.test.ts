// Image trust inside the reconcile, against a real registry (docker-registry, images built by umoci and
// pushed by skopeo, signed in cosign's bundle format): a signed tag is applied pinned to its digest; an
// unsigned image is refused with nothing written; a tag moved between two reconciles of the same commit
// is refused as TAG_MOVED and the running pods keep the recorded digest.
import { readFile } from "node:fs/promises";
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrustPolicy } from "../../src/config/types.js";
import { RegistryClient } from "../../src/images/client.js";
import { signImage } from "../../src/trust/image/sign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { deployment, startWorld, withImageTrust, type World } from "./harness.js";

let w: World;
let registry: TestRegistry;
let client: RegistryClient;
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });

const trust = (): TrustPolicy => withImageTrust(w.trust(), registry.host, publicKey);

const webWith = (image: string) => deployment("web").replace(/image: \S+/, `image: ${image}`);

async function liveImage(): Promise<string | undefined> {
  const d = await w.admin.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" });
  const spec = d?.["spec"] as { template: { spec: { containers: { image: string }[] } } } | undefined;
  return spec?.template.spec.containers[0]?.image;
}

beforeAll(async () => {
  w = await startWorld();
  registry = await startRegistry();
  client = new RegistryClient({ plainHTTP: true });
});

afterAll(async () => {
  await registry.stop();
  await w.stop();
});

describe("images in the reconcile", () => {
  it("applies a signed tag pinned to its digest", async () => {
    const digest = await pushTestImage(registry, "shop/web", "v1", "web one");
    await signImage({ client, image: `${registry.host}/shop/web:v1`, key: privateKey, format: "bundle" });
    await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:v1`) });
    const r = await w.reconcile(w.app(), { registry: client }, trust());
    expect(r.result).toBe("applied");
    expect(await liveImage()).toBe(`${registry.host}/shop/web:v1@${digest}`);
    // The tag → digest mapping is kept in the status and in the audit record of the apply.
    expect(r.status.images).toEqual({
      [`${registry.host}/shop/web:v1`]: digest,
    });
    const records = (await readFile(w.auditPath, "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { id: string; images?: { ref: string; digest: string }[] });
    expect(records.find((x) => x.id === r.auditRecord)?.images).toEqual([
      { ref: `${registry.host}/shop/web:v1`, digest },
    ]);
  });

  it("refuses an unsigned image, writing nothing", async () => {
    const good = await w.repo.git("rev-parse", "HEAD");
    await pushTestImage(registry, "shop/web", "unsigned", "not signed");
    await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:unsigned`) });
    const before = await w.snapshot();
    const r = await w.reconcile(w.app(), { registry: client }, trust());
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("UNSIGNED");
    expect(await w.snapshot()).toBe(before);
    await w.repo.setBranch(good);
  });

  it("refuses a tag that moved since the same commit was checked; pods keep the recorded digest", async () => {
    const first = await w.reconcile(w.app(), { registry: client }, trust());
    expect(["applied", "unchanged"]).toContain(first.result);
    const pinned = await liveImage();
    const moved = await pushTestImage(registry, "shop/web", "v1", "web one, overwritten");
    await signImage({ client, image: `${registry.host}/shop/web:v1`, key: privateKey, format: "bundle" });
    const r = await w.reconcile(w.app(), { registry: client }, trust());
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("TAG_MOVED");
    expect(await liveImage()).toBe(pinned);
    expect(pinned).not.toContain(moved);
  });
});
