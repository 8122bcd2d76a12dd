// npm lockfiles as a cataloger source. The fixtures are real lockfiles of one small project
// (fixtures/lockfiles/project.package.json: three dependencies, an optional macOS-only one, a dev one)
// written by the package managers themselves: npm 11.19.1 (lockfileVersion 1, 2 and 3), Yarn 1.22.22,
// Yarn 4.5.3 (Berry), pnpm 7.33.7 (lockfile 5.4), pnpm 8.15.9 (6.0) and pnpm 9.15.0 (9.0). gitward's own
// package-lock.json is checked against what npm really installed in node_modules.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  catalogPackageLock,
  catalogPnpmLock,
  catalogYarnLock,
  lockfileCataloger,
} from "../../src/sbom/catalog/npm-lock.js";
import { DEFAULT_LIMITS } from "../../src/sbom/errors.js";
import { catalogView } from "../../src/sbom/image.js";
import type { ViewItem } from "../../src/sbom/layers.js";
import { wantFile } from "../../src/sbom/select.js";
import type { Package } from "../../src/sbom/types.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`fixtures/lockfiles/${name}`, import.meta.url));
const loc = { layer: "sha256:11", path: "app/lock" };
const ids = (ps: readonly Package[]): string[] => ps.map((p) => `${p.name}@${p.version}`).sort();

/** What production needs on Linux: the dependencies and what they pull in; not minimist (dev) nor fsevents. */
const PRODUCTION = [
  "@types/ms@0.7.34",
  "ansi-styles@4.3.0",
  "chalk@4.1.2",
  "color-convert@2.0.1",
  "color-name@1.1.4",
  "debug@4.3.4",
  "has-flag@4.0.0",
  "ms@2.1.2",
  "supports-color@7.2.0",
];

describe("npm lockfiles", () => {
  it("reads package-lock.json v2 and v3 without dev dependencies or packages for another OS", () => {
    expect(ids(catalogPackageLock(fixture("package-lock.v3.json"), loc))).toEqual(PRODUCTION);
    expect(ids(catalogPackageLock(fixture("package-lock.v2.json"), loc))).toEqual(PRODUCTION);
    const chalk = catalogPackageLock(fixture("package-lock.v3.json"), loc).find((p) => p.name === "chalk");
    expect(chalk).toMatchObject({ purl: "pkg:npm/chalk@4.1.2", licenses: ["MIT"], locations: [loc] });
    const types = catalogPackageLock(fixture("package-lock.v3.json"), loc).find(
      (p) => p.name === "@types/ms",
    );
    expect(types?.purl).toBe("pkg:npm/%40types/ms@0.7.34");
  });

  it("reads lockfileVersion 1, which records no OS: the optional fsevents is kept, the dev one is not", () => {
    expect(ids(catalogPackageLock(fixture("package-lock.v1.json"), loc))).toEqual(
      [...PRODUCTION, "fsevents@2.3.3"].sort(),
    );
  });

  it("reads pnpm-lock.yaml 5.4 and 6.0 (dev flags) and 9.0 (reachability from the importers' non-dev dependencies)", () => {
    expect(ids(catalogPnpmLock(fixture("pnpm-lock.v5.yaml"), loc))).toEqual(PRODUCTION);
    expect(ids(catalogPnpmLock(fixture("pnpm-lock.v6.yaml"), loc))).toEqual(PRODUCTION);
    expect(ids(catalogPnpmLock(fixture("pnpm-lock.v9.yaml"), loc))).toEqual(PRODUCTION);
  });

  it("reads yarn.lock v1 and Berry, which do not mark dev dependencies", () => {
    // Yarn 1 records neither dev nor OS: everything it resolved.
    expect(ids(catalogYarnLock(fixture("yarn.v1.lock"), loc))).toEqual(
      [...PRODUCTION, "fsevents@2.3.3", "minimist@1.2.8"].sort(),
    );
    // Berry: `conditions: os=darwin` drops fsevents (and its patch: twin); the workspace itself is no package.
    const berry = ids(catalogYarnLock(fixture("yarn.berry.lock"), loc));
    for (const p of [...PRODUCTION, "minimist@1.2.8"]) expect(berry).toContain(p);
    expect(berry.filter((p) => p.startsWith("fsevents@") || p.startsWith("lock-fixture@"))).toEqual([]);
    expect(new Set(berry).size).toBe(berry.length);
  });

  it("agrees with what npm installed from gitward's own package-lock.json", () => {
    const repo = new URL("../../", import.meta.url);
    const lock = readFileSync(new URL("package-lock.json", repo));
    const found = catalogPackageLock(lock, loc);
    const manifest = JSON.parse(readFileSync(new URL("package.json", repo), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const installed = (name: string): string =>
      (
        JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, repo), "utf8")) as {
          version: string;
        }
      ).version;
    for (const name of Object.keys(manifest.dependencies))
      expect(found.find((p) => p.name === name)?.version, name).toBe(installed(name));
    // Development-only tools are not in an image built with --omit=dev.
    for (const name of ["typescript", "vitest", "eslint", "prettier"])
      if (name in manifest.devDependencies)
        expect(
          found.some((p) => p.name === name),
          name,
        ).toBe(false);
  });

  it("takes lockfiles where a project keeps them, not a dependency's own inside node_modules", () => {
    expect(lockfileCataloger("app/package-lock.json")).toBe(catalogPackageLock);
    expect(lockfileCataloger("app/npm-shrinkwrap.json")).toBe(catalogPackageLock);
    expect(lockfileCataloger("app/node_modules/.package-lock.json")).toBe(catalogPackageLock);
    expect(lockfileCataloger("node_modules/.package-lock.json")).toBe(catalogPackageLock);
    expect(lockfileCataloger("srv/yarn.lock")).toBe(catalogYarnLock);
    expect(lockfileCataloger("pnpm-lock.yaml")).toBe(catalogPnpmLock);
    expect(lockfileCataloger("app/node_modules/uri-js/yarn.lock")).toBeUndefined();
    expect(lockfileCataloger("app/node_modules/x/package-lock.json")).toBeUndefined();
    expect(lockfileCataloger("app/.package-lock.json")).toBeUndefined();
    expect(wantFile("app/yarn.lock", 0o644, 3000)).toBe("bytes");
    expect(wantFile("app/node_modules/uri-js/yarn.lock", 0o644, 3000)).toBeUndefined();
  });

  it("merges a locked package with the installed one into one package with both locations", () => {
    const installed = Buffer.from(JSON.stringify({ name: "debug", version: "4.3.4", license: "MIT" }));
    const view = new Map<string, ViewItem>([
      ["app/package-lock.json", { kind: "bytes", layer: "sha256:aa", data: fixture("package-lock.v3.json") }],
      ["app/node_modules/debug/package.json", { kind: "bytes", layer: "sha256:bb", data: installed }],
    ]);
    const { packages } = catalogView(view, DEFAULT_LIMITS);
    expect(ids(packages)).toEqual(PRODUCTION);
    expect(packages.find((p) => p.name === "debug")?.locations).toEqual([
      { layer: "sha256:aa", path: "app/package-lock.json" },
      { layer: "sha256:bb", path: "app/node_modules/debug/package.json" },
    ]);
  });

  it("skips what does not fit the format instead of guessing", () => {
    expect(catalogPackageLock(Buffer.from("{not json"), loc)).toEqual([]);
    expect(catalogPackageLock(Buffer.from("[1,2]"), loc)).toEqual([]);
    const odd = {
      lockfileVersion: 3,
      packages: {
        "": { name: "root", version: "1.0.0" },
        "packages/ws": { name: "ws-own", version: "1.0.0" },
        "node_modules/ws-own": { resolved: "packages/ws", link: true },
        "node_modules/gitdep": { version: "github:a/b#abc" },
        "node_modules/ok": { version: "1.0.0" },
        "node_modules/nope": "not an object",
      },
    };
    expect(ids(catalogPackageLock(Buffer.from(JSON.stringify(odd)), loc))).toEqual(["ok@1.0.0"]);
    // YAML aliases have no place in a lockfile; a file with them is not read.
    const bomb = "lockfileVersion: '6.0'\na: &a [1, 2]\nb: [*a, *a]\npackages:\n  /x@1.0.0: {dev: false}\n";
    expect(catalogPnpmLock(Buffer.from(bomb), loc)).toEqual([]);
    expect(catalogYarnLock(Buffer.from("__metadata:\n  version: [\n"), loc)).toEqual([]);
  });
});
