// bench/images: 200 signed images in a local docker-registry; gitward's cold verification per image (new
// cache, sequential), the warm (cached) time, and `skopeo inspect` of the same images in the same run as the
// floor of one registry round trip each. Target: cold within 3 times skopeo's per-image time.
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { RegistryClient } from "../src/images/client.js";
import { VerificationCache } from "../src/trust/image/cache.js";
import { signImage } from "../src/trust/image/sign.js";
import { verifyImages } from "../src/trust/image/verify.js";
import { pushBlob, pushManifest } from "../test/support/oci-push.js";
import { startRegistry, type TestRegistry } from "../test/support/registry.js";
import { numberOption as option } from "./support/options.js";

/** A small but valid single-layer OCI image (skopeo inspect parses its config), pushed with raw calls. */
async function pushImage(registry: TestRegistry, repo: string, i: number): Promise<void> {
  const layer = gzipSync(Buffer.from(`image ${i} ${"x".repeat(512)}`));
  const layerDigest = await pushBlob(registry, repo, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: { Labels: { index: String(i) } },
      rootfs: { type: "layers", diff_ids: [layerDigest] },
    }),
  );
  const configDigest = await pushBlob(registry, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length },
      ],
    }),
  );
  await pushManifest(registry, repo, "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
}

function skopeoInspect(ref: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], (err) => {
      if (err) reject(new Error(`skopeo inspect ${ref}: ${err.message}`));
      else resolve();
    });
  });
}

export async function run(args: readonly string[]): Promise<unknown> {
  const count = option(args, "--images", 200);
  const registry = await startRegistry();
  try {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const setupClient = new RegistryClient({ plainHTTP: true });
    const refs: string[] = [];
    const setupStart = performance.now();
    for (let i = 0; i < count; i++) {
      const repo = `bench/app-${i}`;
      await pushImage(registry, repo, i);
      const ref = `${registry.host}/${repo}:v1`;
      // Half in cosign v3's bundle format (referrers fallback tag), half in the legacy .sig format.
      await signImage({
        client: setupClient,
        image: ref,
        key: privateKey,
        format: i % 2 === 0 ? "bundle" : "legacy",
      });
      refs.push(ref);
    }
    const setupMs = performance.now() - setupStart;
    const policy = {
      registries: [`${registry.host}/bench/`],
      signers: [{ name: "ci", cosign: publicKey.export({ format: "pem", type: "spki" }).toString() }],
    };

    // Cold: a fresh client (no connections, no auth state) and an empty cache, one image after another.
    const client = new RegistryClient({ plainHTTP: true });
    const cache = new VerificationCache();
    let start = performance.now();
    const cold = await verifyImages({ images: refs, policy, client, cache, concurrency: 1 });
    const coldMs = performance.now() - start;
    if (!cold.ok)
      throw new Error(`cold verification failed: ${JSON.stringify(cold.results.find((r) => !r.ok))}`);

    start = performance.now();
    const warm = await verifyImages({ images: refs, policy, client, cache, concurrency: 1 });
    const warmMs = performance.now() - start;
    if (!warm.results.every((r) => r.ok && r.cached)) throw new Error("warm verification missed the cache");

    // Cold again, with gitward's default concurrency (8), as the reconcile runs it.
    start = performance.now();
    const parallel = await verifyImages({
      images: refs,
      policy,
      client: new RegistryClient({ plainHTTP: true }),
      cache: new VerificationCache(),
    });
    const parallelMs = performance.now() - start;
    if (!parallel.ok) throw new Error("parallel cold verification failed");

    start = performance.now();
    for (const ref of refs) await skopeoInspect(ref);
    const skopeoMs = performance.now() - start;

    const per = (ms: number): number => Math.round((ms / count) * 1000) / 1000;
    return {
      images: count,
      formats: "half cosign v3 bundles (referrers fallback tag), half legacy .sig",
      setupSeconds: Math.round(setupMs) / 1000,
      gitward: {
        coldPerImageMs: per(coldMs),
        warmPerImageMs: per(warmMs),
        coldParallelPerImageMs: per(parallelMs),
        coldTotalMs: Math.round(coldMs),
      },
      skopeoInspect: { perImageMs: per(skopeoMs), totalMs: Math.round(skopeoMs) },
      ratio: {
        coldVsSkopeo: Math.round((coldMs / skopeoMs) * 1000) / 1000,
        warmVsSkopeo: Math.round((warmMs / skopeoMs) * 10000) / 10000,
        target: "coldVsSkopeo <= 3",
      },
      note:
        "gitward runs in-process (one Node process, keep-alive connections); skopeo inspect is one process " +
        "per image, which is how a per-image check is run from a shell. Sequential cold verification does " +
        "3-6 registry requests per image (manifest, .sig tag, referrers API, fallback tag, bundle/payload).",
    };
  } finally {
    await registry.stop();
  }
}
