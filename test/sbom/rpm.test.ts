// The RPM cataloger on an rpmdb.sqlite written by Debian's real rpm (4.18): two packages built with
// rpmbuild (one with an epoch, a subpackage with its source rpm) installed with `rpm -i --justdb`, read
// back from an image layer and compared with `rpm -qa`; a file that is no sqlite database is refused.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, SbomErrorCode } from "../../src/sbom/errors.js";
import { catalogView } from "../../src/sbom/image.js";
import { buildView } from "../../src/sbom/layers.js";
import { makeTempDir, removeDir, run } from "../support/git-exec.js";
import { buildLayer, type BuiltLayer } from "../support/oci-image.js";

let dir: string;
let rpmdb: Buffer;

const SPEC = `Name: gitward-demo
Version: 1.2.3
Release: 4.el9
Epoch: 1
Summary: demo
License: MIT
BuildArch: noarch
%description
demo
%package -n gitward-demo-libs
Summary: libs
License: Apache-2.0
%description -n gitward-demo-libs
libs
%files
%files -n gitward-demo-libs
`;

beforeAll(async () => {
  dir = await makeTempDir("rpmdb");
  await mkdir(path.join(dir, "top", "SPECS"), { recursive: true });
  await mkdir(path.join(dir, "db"));
  await writeFile(path.join(dir, "top", "SPECS", "demo.spec"), SPEC);
  await run("rpm", ["--initdb", "--dbpath", path.join(dir, "db")]);
  await run("rpmbuild", [
    "--define",
    `_topdir ${path.join(dir, "top")}`,
    "-bb",
    path.join(dir, "top", "SPECS", "demo.spec"),
  ]);
  const rpms = ["gitward-demo-1.2.3-4.el9.noarch.rpm", "gitward-demo-libs-1.2.3-4.el9.noarch.rpm"].map((f) =>
    path.join(dir, "top", "RPMS", "noarch", f),
  );
  await run("rpm", ["-i", "--dbpath", path.join(dir, "db"), "--nodeps", "--justdb", "--noscripts", ...rpms]);
  rpmdb = await readFile(path.join(dir, "db", "rpmdb.sqlite"));
});
afterAll(async () => {
  await removeDir(dir);
});

async function catalog(layer: BuiltLayer): Promise<ReturnType<typeof catalogView>> {
  const src = {
    digest: layer.digest,
    mediaType: layer.mediaType,
    size: layer.bytes.length,
    open: () => Promise.resolve(Readable.from([layer.bytes])),
  };
  return catalogView(await buildView([src], DEFAULT_LIMITS), DEFAULT_LIMITS);
}

describe("RPM cataloger", () => {
  it("lists what rpm -qa lists, with epoch, source rpm, license and the distro qualifier", async () => {
    const layer = await buildLayer({
      entries: [
        { path: "etc/os-release", data: 'ID="rocky"\nVERSION_ID="9.3"\n' },
        { path: "var/lib/rpm/rpmdb.sqlite", data: rpmdb },
      ],
    });
    const { packages } = await catalog(layer);
    const { stdout } = await run("rpm", [
      "-qa",
      "--dbpath",
      path.join(dir, "db"),
      "--qf",
      "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{SOURCERPM} %{LICENSE}\\n",
    ]);
    const expected = stdout.trim().split("\n").sort();
    const got = packages
      .map(
        (p) =>
          `${p.name} ${p.version.includes(":") ? p.version : `0:${p.version}`} ${p.source?.name}-${p.source?.version}.src.rpm ${p.licenses?.[0]}`,
      )
      .sort();
    expect(got).toEqual(expected);
    expect(packages.find((p) => p.name === "gitward-demo-libs")?.purl).toBe(
      "pkg:rpm/rocky/gitward-demo-libs@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=1",
    );
  });

  it("refuses an rpmdb.sqlite that is not a database", async () => {
    const layer = await buildLayer({
      entries: [{ path: "var/lib/rpm/rpmdb.sqlite", data: "not sqlite at all" }],
    });
    await expect(catalog(layer)).rejects.toMatchObject({ code: SbomErrorCode.MALFORMED });
  });
});
