// Hostile layers end in coded errors, fast, never an OOM or a hang: tar bombs (bytes and entries, per layer
// and per image), decompression bombs (gzip and zstd), `..` and absolute paths, symlink loops, a layer that
// declares 10 GB, and zip bombs in jars. Each refusal sits next to the input it must still accept.
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/images/client.js";
import { RegistryErrorCode } from "../../src/images/errors.js";
import { DEFAULT_LIMITS, SbomErrorCode, type SbomLimits } from "../../src/sbom/errors.js";
import { catalogImage, catalogView } from "../../src/sbom/image.js";
import { readJar } from "../../src/sbom/jar.js";
import { buildView, type LayerSource } from "../../src/sbom/layers.js";
import { buildLayer, layerOf, tarOf, type BuiltLayer, type LayerEntry } from "../support/oci-image.js";
import { pushBlob, pushManifest } from "../support/oci-push.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { HOST } from "../support/sbom-fixtures.js";

function source(l: BuiltLayer): LayerSource {
  return {
    digest: l.digest,
    mediaType: l.mediaType,
    size: l.bytes.length,
    open: () => Promise.resolve(Readable.from([l.bytes])),
  };
}

async function view(
  layers: BuiltLayer[],
  limits: Partial<SbomLimits> = {},
): Promise<ReturnType<typeof catalogView>> {
  const all = { ...DEFAULT_LIMITS, ...limits };
  return catalogView(await buildView(layers.map(source), all), all);
}

const zeros = (n: number): LayerEntry => ({ path: "data/zeros.bin", data: Buffer.alloc(n) });
const pkg = (p: string): LayerEntry => ({
  path: p,
  data: JSON.stringify({ name: "left-pad", version: "1.3.0" }),
});
const MiB = 1024 * 1024;

describe("tar bombs", () => {
  it("refuses a layer past its uncompressed bound, and accepts it under the bound", async () => {
    const layer = await buildLayer({ entries: [zeros(2 * MiB), pkg("a/package.json")] });
    await expect(view([layer], { layerUncompressedBytes: MiB })).rejects.toMatchObject({
      code: SbomErrorCode.UNCOMPRESSED_TOO_LARGE,
    });
    expect((await view([layer], { layerUncompressedBytes: 3 * MiB })).packages).toHaveLength(1);
  });

  it("bounds the image as a whole, not only each layer", async () => {
    const a = await buildLayer({ entries: [zeros(600 * 1024)] });
    const b = await buildLayer({ entries: [{ ...zeros(600 * 1024), path: "data/more.bin" }] });
    const limits = { layerUncompressedBytes: MiB, imageUncompressedBytes: MiB };
    await expect(view([a, b], limits)).rejects.toMatchObject({ code: SbomErrorCode.UNCOMPRESSED_TOO_LARGE });
    await expect(view([a], limits)).resolves.toBeDefined();
  });

  it("refuses too many entries per layer and per image", async () => {
    const entries = Array.from({ length: 1500 }, (_, i) => ({ path: `f/${i}`, data: "" }));
    const layer = await buildLayer({ entries });
    await expect(view([layer], { layerEntries: 1000 })).rejects.toMatchObject({
      code: SbomErrorCode.TOO_MANY_ENTRIES,
    });
    await expect(view([layer, layer], { layerEntries: 2000, imageEntries: 2000 })).rejects.toMatchObject({
      code: SbomErrorCode.TOO_MANY_ENTRIES,
    });
    await expect(view([layer], { layerEntries: 2000 })).resolves.toBeDefined();
  });
});

describe("decompression bombs", () => {
  const limits = { ratioAfterBytes: MiB, maxRatio: 100 };
  for (const compression of ["gzip", "zstd"] as const) {
    it(`refuses a ${compression} layer that inflates past the ratio, and accepts a real dpkg status`, async () => {
      const bomb = layerOf(await tarOf([zeros(16 * MiB)]), compression);
      expect(bomb.bytes.length).toBeLessThan(64 * 1024);
      await expect(view([bomb], limits)).rejects.toMatchObject({ code: SbomErrorCode.DECOMPRESSION_RATIO });
      const real = await buildLayer({
        entries: [{ path: "var/lib/dpkg/status", hostFile: HOST.dpkgStatus }],
        compression,
      });
      expect((await view([real], limits)).packages.length).toBeGreaterThan(50);
    });
  }

  it("refuses bytes that are not the compression the media type names", async () => {
    const raw = await tarOf([pkg("a/package.json")]);
    const lie = { ...layerOf(raw, "none"), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" };
    await expect(view([lie])).rejects.toMatchObject({ code: SbomErrorCode.MALFORMED });
    const odd = { ...layerOf(raw, "none"), mediaType: "application/vnd.example.layer+rar" };
    await expect(view([odd])).rejects.toMatchObject({ code: SbomErrorCode.UNSUPPORTED_MEDIA_TYPE });
  });
});

describe("paths and links", () => {
  it("refuses `..` and absolute entry names and hardlinks that climb out, and accepts ./ prefixes", async () => {
    for (const bad of ["../etc/passwd", "a/../../b/package.json", "/etc/os-release"]) {
      const layer = await buildLayer({ entries: [pkg(bad)] });
      await expect(view([layer])).rejects.toMatchObject({ code: SbomErrorCode.UNSAFE_PATH });
    }
    const link = await buildLayer({
      entries: [{ path: "a/package.json", type: "link", linkname: "../../x" }],
    });
    await expect(view([link])).rejects.toMatchObject({ code: SbomErrorCode.UNSAFE_PATH });
    const ok = await buildLayer({
      entries: [
        pkg("./app/package.json"),
        { path: "app/copy/package.json", type: "link", linkname: "app/package.json" },
      ],
    });
    expect((await view([ok])).packages[0]?.locations.map((l) => l.path).sort()).toEqual([
      "app/copy/package.json",
      "app/package.json",
    ]);
  });

  it("refuses a symlink loop at os-release, and follows a chain of links", async () => {
    const loop = await buildLayer({
      entries: [
        { path: "etc/os-release", type: "symlink", linkname: "../usr/lib/os-release" },
        { path: "usr/lib/os-release", type: "symlink", linkname: "/etc/os-release" },
      ],
    });
    await expect(view([loop])).rejects.toMatchObject({ code: SbomErrorCode.SYMLINK_LOOP });
    const chain = await buildLayer({
      entries: [
        { path: "etc/os-release", type: "symlink", linkname: "../usr/lib/os-release" },
        { path: "usr/lib/os-release", data: 'ID=debian\nVERSION_ID="12"\n' },
      ],
    });
    expect((await view([chain])).os).toEqual({ id: "debian", versionId: "12" });
  });
});

/** A zip with the given entries (stored or deflated); `declared` overrides an entry's recorded size. */
function zip(entries: { name: string; data: Buffer; deflate?: boolean; declared?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate === true ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate === true ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.declared ?? e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.deflate === true ? 8 : 0, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.declared ?? e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe("zip bombs in jars", () => {
  const limits = { ...DEFAULT_LIMITS, zipEntryBytes: 64 * 1024, jarEntries: 100 };
  const pom = "META-INF/maven/org.example/demo/pom.properties";

  it("refuses a pom.properties that inflates past its bound even when it declares a small size", () => {
    const bomb = zip([{ name: pom, data: Buffer.alloc(8 * MiB), deflate: true, declared: 100 }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(() => readJar(bomb, "bomb.jar", limits)).toThrow(
      expect.objectContaining({ code: SbomErrorCode.ZIP_BOMB }),
    );
  });

  it("refuses too many entries and a nested jar past the jar bound", () => {
    const many = zip(Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, data: Buffer.from("") })));
    expect(() => readJar(many, "many.jar", limits)).toThrow(
      expect.objectContaining({ code: SbomErrorCode.ZIP_BOMB }),
    );
    const nested = zip([{ name: "BOOT-INF/lib/inner.jar", data: Buffer.alloc(2 * MiB), deflate: true }]);
    expect(() => readJar(nested, "fat.jar", { ...limits, jarBytes: MiB })).toThrow(
      expect.objectContaining({ code: SbomErrorCode.ZIP_BOMB }),
    );
  });

  it("reads coordinates from a real jar, and from a jar nested in another", async () => {
    const real = await readFile(`${HOST.javaDir}/commons-io-2.11.0.jar`);
    const roomy = { ...limits, jarEntries: 1000 };
    expect(readJar(real, "commons-io.jar", roomy)).toEqual([
      {
        groupId: "commons-io",
        artifactId: "commons-io",
        version: "2.11.0",
        entry: "META-INF/maven/commons-io/commons-io/pom.properties",
      },
    ]);
    const fat = zip([{ name: "BOOT-INF/lib/commons-io-2.11.0.jar", data: real }]);
    expect(readJar(fat, "fat.jar", roomy)[0]?.entry).toBe(
      "BOOT-INF/lib/commons-io-2.11.0.jar!META-INF/maven/commons-io/commons-io/pom.properties",
    );
  });
});

describe("layer size bounds through the registry", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.stop();
  });

  async function pushWith(repo: string, layer: BuiltLayer, size: number): Promise<string> {
    await pushBlob(registry, repo, layer.bytes);
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [layer.diffId] },
      }),
    );
    const configDigest = await pushBlob(registry, repo, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: configDigest,
        size: config.length,
      },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size }],
    });
    await pushManifest(registry, repo, "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
    return `${registry.host}/${repo}:v1`;
  }

  it("refuses a layer that declares 10 GB before reading it, and one that streams past its declared size", async () => {
    const client = new RegistryClient({ plainHTTP: true });
    const layer = await buildLayer({ entries: [pkg("a/package.json"), zeros(256 * 1024)] });
    const huge = await pushWith("huge", layer, 10 * 1024 ** 3);
    await expect(catalogImage(huge, { client })).rejects.toMatchObject({
      code: SbomErrorCode.LAYER_TOO_LARGE,
    });
    const short = await pushWith("short", layer, layer.bytes.length - 10);
    await expect(catalogImage(short, { client })).rejects.toMatchObject({
      code: RegistryErrorCode.TOO_LARGE,
    });
    const right = await pushWith("right", layer, layer.bytes.length);
    expect((await catalogImage(right, { client })).packages).toHaveLength(1);
  });
});
