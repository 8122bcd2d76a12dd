// Go build info read from a streamed binary: helm's real build info whatever the chunk size (the magic may
// straddle two chunks), nothing from a non-ELF file that carries the magic, and the module-info framing.
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GoBuildInfoScanner, parseModInfo } from "../../src/sbom/goscan.js";
import { goBinary } from "../support/sbom-fixtures.js";

function scan(bytes: Buffer, chunk: number): ReturnType<GoBuildInfoScanner["result"]> {
  const s = new GoBuildInfoScanner();
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  return s.result();
}

describe("GoBuildInfoScanner", () => {
  it("finds helm's build info for any chunking, including a magic split across chunks", async () => {
    const helm = await readFile(goBinary("helm").hostFile ?? "");
    const at = helm.indexOf(Buffer.from("\xff Go buildinf:", "latin1"));
    expect(at % 16).toBe(0);
    const whole = scan(helm, helm.length);
    expect(whole?.goVersion).toMatch(/^go1\.\d+/);
    expect(whole?.main?.path).toBe("helm.sh/helm/v4");
    expect(whole?.deps.length).toBeGreaterThan(50);
    // A chunk boundary 5 bytes into the magic, and odd small chunks around it.
    const split = new GoBuildInfoScanner();
    split.push(helm.subarray(0, at + 5));
    split.push(helm.subarray(at + 5));
    expect(split.result()).toEqual(whole);
    expect(scan(helm.subarray(0, at + 70_000), 4093)).toEqual(scan(helm.subarray(0, at + 70_000), 1 << 20));
  });

  it("reads the pointer format of Go before 1.18 (esbuild 0.14.0, go1.17.2), for any chunking", async () => {
    const esbuild = gunzipSync(
      await readFile(new URL("fixtures/esbuild-0.14.0-go1.17-sparse.gz", import.meta.url)),
    );
    const at = esbuild.indexOf(Buffer.from("\xff Go buildinf:", "latin1"));
    expect(esbuild[at + 15]! & 0x2).toBe(0); // not the inline format
    const expected = {
      goVersion: "go1.17.2",
      path: "github.com/evanw/esbuild/cmd/esbuild",
      main: { path: "github.com/evanw/esbuild", version: "(devel)" },
      deps: [{ path: "golang.org/x/sys", version: "v0.0.0-20210908233432-aa78b53d3365" }],
    };
    for (const chunk of [esbuild.length, 1 << 16, 4093, 16])
      expect(scan(esbuild, chunk), String(chunk)).toEqual(expected);
    // The version's bytes lie before the header: a binary whose .rodata was never seen gives nothing.
    const noRodata = Buffer.from(esbuild);
    noRodata.fill(0, 65536, at);
    expect(scan(noRodata, 1 << 16)).toBeUndefined();
    // A pointer outside every ELF segment is not followed.
    const wild = Buffer.from(esbuild);
    wild.writeBigUInt64LE(0xffff_ffff_0000n, at + 16);
    expect(scan(wild, 1 << 16)).toBeUndefined();
  });

  it("ignores files that are not ELF, and a magic that is not 16-byte aligned", () => {
    const magic = Buffer.from("\xff Go buildinf:\x08\x02", "latin1");
    const notElf = Buffer.concat([Buffer.from("#!/bin/sh\n"), Buffer.alloc(6), magic, Buffer.alloc(64)]);
    expect(scan(notElf, 1024)).toBeUndefined();
    const unaligned = Buffer.concat([
      Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
      Buffer.alloc(5),
      magic,
      Buffer.alloc(64),
    ]);
    expect(scan(unaligned, 1024)).toBeUndefined();
  });

  it("parses module lines and replacements inside the 16-byte sentinels", () => {
    const body =
      "path\texample.com/cmd\nmod\texample.com\t(devel)\t\ndep\tgolang.org/x/net\tv0.1.0\th1:x\n=>\tgolang.org/x/net\tv0.2.0\th1:y\n";
    const info = parseModInfo("go1.22.5", `${"0".repeat(16)}${body}${"1".repeat(16)}`);
    expect(info).toEqual({
      goVersion: "go1.22.5",
      path: "example.com/cmd",
      main: { path: "example.com", version: "(devel)" },
      deps: [
        {
          path: "golang.org/x/net",
          version: "v0.1.0",
          replacedBy: { path: "golang.org/x/net", version: "v0.2.0" },
        },
      ],
    });
  });
});
