// catalogImage against a real registry, over images built from this machine's real package databases:
// dpkg status (checked against dpkg-query), Alpine's installed db, npm package.json files, Python METADATA,
// Maven jars and helm's Go build info; whiteouts and opaque dirs across layers; gzip, zstd and plain tar;
// platform choice from an index; the digest cache.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/images/client.js";
import { SbomCache } from "../../src/sbom/cache.js";
import { SbomErrorCode } from "../../src/sbom/errors.js";
import { catalogImage } from "../../src/sbom/image.js";
import type { Package } from "../../src/sbom/types.js";
import { run } from "../support/git-exec.js";
import { buildImage, pushImage, type LayerSpec } from "../support/oci-image.js";
import { pushBlob, pushManifest } from "../support/oci-push.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import {
  alpineBase,
  debianBase,
  goBinary,
  javaJars,
  npmPackages,
  pythonPackages,
} from "../support/sbom-fixtures.js";

let registry: TestRegistry;
let client: RegistryClient;

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ plainHTTP: true });
});
afterAll(async () => {
  await registry.stop();
});

async function push(repo: string, layers: LayerSpec[]): Promise<string> {
  const image = await buildImage(layers);
  await pushImage(registry, repo, "v1", image);
  return `${registry.host}/${repo}:v1`;
}

const of = (pkgs: readonly Package[], eco: Package["ecosystem"]): Package[] =>
  pkgs.filter((p) => p.ecosystem === eco);

describe("catalogImage", () => {
  it("lists the installed packages of this machine's dpkg status exactly as dpkg-query does", async () => {
    const ref = await push("debian", [debianBase()]);
    const inv = await catalogImage(ref, { client });
    const { stdout } = await run("dpkg-query", [
      "-W",
      "-f",
      "${db:Status-Abbrev}|${Package}|${Version}|${source:Package}|${source:Version}\\n",
    ]);
    const installed = stdout
      .split("\n")
      .filter((l) => /^[a-z]i/.test(l))
      .map((l) => l.split("|"));
    const deb = of(inv.packages, "deb");
    expect(deb.map((p) => `${p.name} ${p.version}`).sort()).toEqual(
      installed.map((f) => `${f[1]} ${f[2]}`).sort(),
    );
    const bySource = new Map(installed.map((f) => [f[1], `${f[3]} ${f[4]}`]));
    for (const p of deb) expect(`${p.source?.name} ${p.source?.version}`).toBe(bySource.get(p.name));
    const os = await readFile("/usr/lib/os-release", "utf8");
    expect(inv.os?.id).toBe(/^ID=(.*)$/m.exec(os)?.[1]);
    const versionId = /^VERSION_ID="?([^"\n]*)"?$/m.exec(os)?.[1];
    const libc = deb.find((p) => p.name === "libc6");
    expect(libc?.purl).toBe(`pkg:deb/debian/libc6@${libc?.version}?arch=amd64&distro=debian-${versionId}`);
    expect(libc?.locations[0]).toEqual({ layer: inv.layers[0]?.digest, path: "var/lib/dpkg/status" });
  });

  it("reads Alpine's installed database with origins, licenses and the distro qualifier", async () => {
    const ref = await push("alpine", [alpineBase()]);
    const inv = await catalogImage(ref, { client });
    expect(inv.os).toMatchObject({ id: "alpine", versionId: "3.18.3" });
    const apk = of(inv.packages, "apk");
    expect(apk.map((p) => p.name).sort()).toEqual([
      "alpine-baselayout",
      "alpine-baselayout-data",
      "libssl3",
      "musl",
      "musl-utils",
      "scanelf",
      "ssl_client",
      "zlib",
    ]);
    const ssl = apk.find((p) => p.name === "libssl3");
    expect(ssl).toMatchObject({ version: "3.1.2-r0", source: { name: "openssl" }, licenses: ["Apache-2.0"] });
    expect(ssl?.purl).toBe("pkg:apk/alpine/libssl3@3.1.2-r0?arch=aarch64&distro=3.18.3");
  });

  it("finds npm, Python, Maven and Go packages in gzip, zstd and plain tar layers", async () => {
    const npm = npmPackages(60);
    const python = pythonPackages();
    const jars = javaJars(6);
    const ref = await push("lang", [
      { entries: npm, compression: "zstd" },
      { entries: [...python, ...jars], compression: "gzip" },
      { entries: [goBinary("helm")], compression: "none" },
    ]);
    const inv = await catalogImage(ref, { client });
    expect(inv.os).toBeUndefined();
    const names = new Set(of(inv.packages, "npm").map((p) => `${p.name}@${p.version}`));
    for (const e of npm) {
      const doc = JSON.parse(await readFile(e.hostFile ?? "", "utf8")) as { name: string; version: string };
      expect(names.has(`${doc.name}@${doc.version}`)).toBe(true);
    }
    // Debian names the metadata folders NAME-VERSION.dist-info / .egg-info: an oracle apart from the parser.
    const py = new Set(of(inv.packages, "pypi").map((p) => `${p.name}-${p.version}`));
    for (const dir of ["PyYAML-6.0", "cryptography-38.0.4", "pip-23.0.1", "six-1.16.0", "crcmod-1.7"])
      expect(py.has(dir)).toBe(true);
    const maven = of(inv.packages, "maven").map((p) => p.purl);
    expect(maven.length).toBeGreaterThan(0);
    expect(maven).toContain("pkg:maven/commons-cli/commons-cli@1.5.0");
    const go = of(inv.packages, "golang");
    const helmVersion = (
      await run(goBinary("helm").hostFile ?? "", ["version", "--template", "{{.GoVersion}}"])
    ).stdout.trim();
    expect(go.find((p) => p.name === "stdlib")?.version).toBe(`v${helmVersion.replace(/^go/, "")}`);
    expect(go.some((p) => p.name === "k8s.io/client-go")).toBe(true);
    expect(go[0]?.locations[0]?.path).toBe("usr/local/bin/helm");
  });

  it("applies whiteouts and opaque directories of upper layers, and keeps what they do not touch", async () => {
    const [a, b, c] = npmPackages(3);
    if (a === undefined || b === undefined || c === undefined) throw new Error("need three npm packages");
    const ref = await push("whiteout", [
      { entries: [a, b, { ...c, path: "opt/x/node_modules/c/package.json" }] },
      {
        entries: [
          { path: a.path.replace("package.json", ".wh.package.json") },
          { path: "opt/x/.wh..wh..opq" },
          { ...c, path: "opt/x/kept/package.json" },
        ],
      },
    ]);
    const inv = await catalogImage(ref, { client });
    const paths = inv.packages.flatMap((p) => p.locations.map((l) => l.path)).sort();
    expect(paths).toEqual([b.path, "opt/x/kept/package.json"]);
    expect(
      inv.packages.find((p) => p.locations[0]?.path === "opt/x/kept/package.json")?.locations[0]?.layer,
    ).toBe(inv.layers[1]?.digest);
  });

  it("picks the platform from an index, and refuses a platform the index does not have", async () => {
    const image = await buildImage([alpineBase()]);
    await pushImage(registry, "multi", "amd64", image);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: image.digest,
            size: image.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
      }),
    );
    await pushManifest(registry, "multi", "v1", index, "application/vnd.oci.image.index.v1+json");
    const inv = await catalogImage(`${registry.host}/multi:v1`, { client });
    expect(inv.digest).toBe(image.digest);
    expect(of(inv.packages, "apk")).toHaveLength(8);
    await expect(
      catalogImage(`${registry.host}/multi:v1`, { client, platform: { os: "linux", architecture: "arm64" } }),
    ).rejects.toMatchObject({
      code: SbomErrorCode.NO_PLATFORM,
    });
  });

  it("answers a cataloged digest from the cache without reading a layer, in well under 5 ms", async () => {
    const ref = await push("cached", [debianBase()]);
    const cache = new SbomCache();
    const cold = await catalogImage(ref, { client, cache });
    const pinned = `${registry.host}/cached@${cold.digest}`;
    // A layer blob the registry no longer has cannot be read: only the cache can answer now.
    await pushBlob(registry, "other", "unrelated");
    const t0 = performance.now();
    const warm = await catalogImage(pinned, { client, cache });
    const ms = performance.now() - t0;
    expect(warm.packages).toEqual(cold.packages);
    expect(warm.reference).toBe(pinned);
    expect(ms).toBeLessThan(5);
    const uncached = await catalogImage(pinned, { client });
    expect(uncached.packages).toEqual(cold.packages);
  });
});
