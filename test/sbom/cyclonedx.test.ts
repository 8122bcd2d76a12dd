// The CycloneDX output validates against the official 1.6 JSON schema (shipped with the CycloneDX library,
// with its SPDX and JSF sub-schemas), carries purls, licenses and locations, and `gitward images sbom`
// prints it (-o json) or a table, and exits 1 with the code for a refused image.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/images/client.js";
import { toCycloneDx } from "../../src/sbom/cyclonedx.js";
import { catalogImage } from "../../src/sbom/image.js";
import type { ImageInventory } from "../../src/sbom/types.js";
import { buildImage, pushImage } from "../support/oci-image.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { alpineBase, debianBase, npmPackages, pythonPackages } from "../support/sbom-fixtures.js";
import { runCli } from "../support/tools.js";

const schemaDir = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@cyclonedx/cyclonedx-library/package.json")),
  "res",
  "schema",
);

function validator(): (doc: unknown) => boolean {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  for (const f of ["iri-reference", "uri", "uri-reference", "idn-email", "email", "iri"])
    ajv.addFormat(f, true);
  const load = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(path.join(schemaDir, name), "utf8")) as Record<string, unknown>;
  // bom-1.6 refers to its sub-schemas by their file names in the library's folder.
  ajv.addSchema({
    ...load("spdx.SNAPSHOT.schema.json"),
    $id: "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
  });
  ajv.addSchema({
    ...load("jsf-0.82.SNAPSHOT.schema.json"),
    $id: "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
  });
  const validate = ajv.compile(load("bom-1.6.SNAPSHOT.schema.json"));
  return (doc) => {
    const ok = validate(doc);
    if (!ok) throw new Error(JSON.stringify(validate.errors?.slice(0, 5)));
    return ok;
  };
}

let registry: TestRegistry;
let debian: ImageInventory;
let ref: string;
const validate = validator();

beforeAll(async () => {
  registry = await startRegistry();
  const image = await buildImage([debianBase(), { entries: [...npmPackages(30), ...pythonPackages()] }]);
  await pushImage(registry, "cdx", "v1", image);
  ref = `${registry.host}/cdx:v1`;
  debian = await catalogImage(ref, { client: new RegistryClient({ plainHTTP: true }) });
});
afterAll(async () => {
  await registry.stop();
});

describe("toCycloneDx", () => {
  it("validates against the CycloneDX 1.6 schema, with purls, licenses and locations", () => {
    const doc = JSON.parse(toCycloneDx(debian)) as {
      specVersion: string;
      components: {
        purl?: string;
        type: string;
        licenses?: unknown[];
        properties?: { name: string; value: string }[];
      }[];
    };
    expect(validate(doc)).toBe(true);
    expect(doc.specVersion).toBe("1.6");
    const libs = doc.components.filter((c) => c.type === "library");
    expect(libs.map((c) => c.purl).sort()).toEqual(debian.packages.map((p) => p.purl).sort());
    expect(doc.components.find((c) => c.type === "operating-system")).toBeDefined();
    expect(libs.some((c) => (c.licenses ?? []).length > 0)).toBe(true);
    const first = libs[0]?.properties ?? [];
    expect(first.find((p) => p.name === "gitward:location:0:layer")?.value).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("stays valid for license expressions, SPDX ids and free-text names, and a schema check that fails on a broken BOM", () => {
    const inv: ImageInventory = {
      ...debian,
      packages: [
        {
          ecosystem: "apk",
          name: "musl-utils",
          version: "1.2.4-r1",
          purl: "pkg:apk/alpine/musl-utils@1.2.4-r1",
          licenses: ["MIT AND BSD-2-Clause AND GPL-2.0-or-later"],
          locations: [],
        },
        {
          ecosystem: "npm",
          name: "x",
          version: "1.0.0",
          purl: "pkg:npm/x@1.0.0",
          licenses: ["MIT", "Some License 1.0"],
          locations: [],
        },
      ],
    };
    expect(validate(JSON.parse(toCycloneDx(inv)))).toBe(true);
    const broken = JSON.parse(toCycloneDx(inv)) as { components: { type: string }[] };
    if (broken.components[0] !== undefined) broken.components[0].type = "not-a-type";
    expect(() => validate(broken)).toThrow();
  });
});

describe("gitward images sbom", () => {
  it("prints CycloneDX JSON with -o json and a table by default", async () => {
    const json = await runCli(["images", "sbom", ref, "--plain-http", "-o", "json"]);
    expect(json.code).toBe(0);
    expect(validate(JSON.parse(json.stdout))).toBe(true);
    const table = await runCli(["images", "sbom", ref, "--plain-http"]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[1]).toMatch(/^TYPE\s+NAME\s+VERSION\s+SOURCE\s+PATH$/);
    expect(table.stdout).toMatch(/\ndeb\s+libc6\s+\S+\s+glibc\s+var\/lib\/dpkg\/status\n/);
  });

  it("exits 1 with the code for an image it refuses", async () => {
    const image = await buildImage([
      alpineBase(),
      { entries: [{ path: "../escape/package.json", data: "{}" }] },
    ]);
    await pushImage(registry, "evil", "v1", image);
    const evil = await runCli(["images", "sbom", `${registry.host}/evil:v1`, "--plain-http"]);
    expect(evil.code).toBe(1);
    expect(evil.stderr).toContain("UNSAFE_PATH");
  });
});
