// Registries that stall (issue 20): a registry sending one byte a second never trips an inactivity
// timeout, so each request has a deadline for the whole answer and each image verification one for all
// its requests together; both end in DEADLINE_EXCEEDED naming the registry and the image. A registry that
// answers in time is not cut short.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/images/client.js";
import { RegistryErrorCode } from "../../src/images/errors.js";
import { ImageCode } from "../../src/trust/image/codes.js";
import { verifyImages } from "../../src/trust/image/verify.js";
import {
  rejection,
  startDribblingRegistry,
  startGarbageRegistry,
  type HostileRegistry,
} from "../support/oci-hostile.js";

let slow: HostileRegistry;
let garbage: HostileRegistry;

beforeAll(async () => {
  [slow, garbage] = await Promise.all([startDribblingRegistry(100), startGarbageRegistry()]);
});

afterAll(async () => {
  await Promise.all([slow.stop(), garbage.stop()]);
});

describe("deadlines", () => {
  it("one request to a registry that dribbles its answer ends at the request deadline", async () => {
    const client = new RegistryClient({ plainHTTP: true, deadlines: { requestMs: 300 } });
    const t0 = performance.now();
    const err = await rejection(client.getManifest({ registry: slow.host, repository: "team/app" }, "v1"));
    const took = performance.now() - t0;
    expect(err.code).toBe(RegistryErrorCode.DEADLINE_EXCEEDED);
    expect(err.message).toBe(
      `http://${slow.host}/v2/team/app/manifests/v1: no complete answer within 300 ms; the registry is too slow or stalls`,
    );
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });

  it("a verification ends at its own deadline, naming the image, whatever the request deadline", async () => {
    const client = new RegistryClient({
      plainHTTP: true,
      deadlines: { requestMs: 60_000, verificationMs: 300 },
    });
    const image = `${slow.host}/team/app:v1`;
    const t0 = performance.now();
    const policy = { registries: [slow.host], requireDigest: true, signers: [] };
    const r = await verifyImages({ images: [image], policy, client });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(r.ok).toBe(false);
    expect(r.results[0]?.code).toBe(ImageCode.REGISTRY_ERROR);
    const failed = r.results[0]?.checks.find((c) => c.verdict === "fail");
    expect(failed?.message).toBe(
      `${image}: image ${image}: its verification took longer than 300 ms in all ` +
        `(waiting for http://${slow.host}/v2/team/app/manifests/v1); the registry is too slow or stalls`,
    );
  });

  it("a registry that answers at once is not cut short by short deadlines", async () => {
    const client = new RegistryClient({
      plainHTTP: true,
      deadlines: { requestMs: 300, verificationMs: 300 },
    });
    const err = await rejection(
      client.forImage("x").getManifest({ registry: garbage.host, repository: "team/app" }, "v1"),
    );
    expect(err.code).toBe(RegistryErrorCode.MALFORMED);
  });
});
