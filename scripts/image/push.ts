// Pushes a built OCI layout with skopeo, checks the registry holds the very digest that was built, then
// signs it and attaches the SBOM and the provenance with gitward's own `images sign|attest` (Debian's
// skopeo cannot make sigstore signatures). The cosign key's passphrase comes from COSIGN_PASSWORD.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const SBOM_PREDICATE = "https://cyclonedx.org/bom";
export const PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1";

export interface PushOptions {
  /** The folder image:build wrote (build.json, layout/, sbom.cdx.json, provenance.json). */
  built: string;
  /** registry/repository[:tag] to push to. */
  ref: string;
  key: string;
  /** The built CLI (dist/src/cli/main.js) that signs and attests. */
  cli: string;
  plainHttp?: boolean;
  dockerConfig?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PushResult {
  image: string;
  digest: string;
}

export async function pushImage(o: PushOptions): Promise<PushResult> {
  const build = JSON.parse(await readFile(path.join(o.built, "build.json"), "utf8")) as {
    layout: string;
    tag: string;
    digest: string;
  };
  const scratch = await mkdtemp(path.join(tmpdir(), "gitward-push-"));
  try {
    const digestFile = path.join(scratch, "digest");
    await run("skopeo", [
      "copy",
      "--quiet",
      ...(o.plainHttp === true ? ["--dest-tls-verify=false"] : []),
      ...(o.dockerConfig === undefined ? [] : ["--dest-authfile", o.dockerConfig]),
      "--digestfile",
      digestFile,
      `oci:${path.join(o.built, "layout")}:${build.tag}`,
      `docker://${o.ref}`,
    ]);
    const pushed = (await readFile(digestFile, "utf8")).trim();
    if (pushed !== build.digest) {
      throw new Error(
        `the registry holds ${pushed}, not the built ${build.digest}: skopeo rewrote the manifest`,
      );
    }
    const repo = o.ref.replace(/(@sha256:[0-9a-f]+|:[^/:]+)$/, "");
    const image = `${repo}@${build.digest}`;
    const common = [
      "--key",
      o.key,
      ...(o.plainHttp === true ? ["--plain-http"] : []),
      ...(o.dockerConfig === undefined ? [] : ["--docker-config", o.dockerConfig]),
    ];
    const gitward = (args: string[]) =>
      run(process.execPath, [o.cli, ...args], { env: o.env ?? process.env });
    await gitward(["images", "sign", image, ...common]);
    for (const [type, file] of [
      [SBOM_PREDICATE, "sbom.cdx.json"],
      [PROVENANCE_PREDICATE, "provenance.json"],
    ] as const) {
      await gitward([
        "images",
        "attest",
        image,
        ...common,
        "--type",
        type,
        "--predicate",
        path.join(o.built, file),
      ]);
    }
    return { image, digest: build.digest };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
