// `gitward images verify|sign|attest`: verify images against a TrustPolicy's `spec.images`, and sign or
// attest them in cosign's formats. Registry credentials come from a docker config file and the key's
// passphrase from COSIGN_PASSWORD; neither is ever taken from the command line.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { loadTrustPolicy } from "../../config/load.js";
import { parseDockerConfig, type CredentialStore } from "../../images/auth.js";
import { RegistryClient, type RegistryHostOptions } from "../../images/client.js";
import { RegistryError } from "../../images/errors.js";
import { SbomCache } from "../../sbom/cache.js";
import { toCycloneDx } from "../../sbom/cyclonedx.js";
import { SbomError } from "../../sbom/errors.js";
import { catalogImage } from "../../sbom/image.js";
import type { ImageInventory } from "../../sbom/types.js";
import { readCosignPrivateKey } from "../../trust/image/cosign-key.js";
import { attestImage, signImage, type SignFormat, type SignResult } from "../../trust/image/sign.js";
import { verifyImages, type ImageResult } from "../../trust/image/verify.js";
import { ExitCode } from "../exit.js";
import { registerImagesScan } from "./images-scan.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

export interface RegistryFlags {
  plainHttp?: boolean;
  dockerConfig?: string;
  ca?: string;
  output: OutputFormat;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch {
    throw new ConfigError(`cannot read ${what} file`, file);
  }
}

/** The docker config: --docker-config, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json if present. */
export async function credentials(flag: string | undefined): Promise<CredentialStore> {
  const explicit =
    flag ??
    (process.env.DOCKER_CONFIG === undefined
      ? undefined
      : path.join(process.env.DOCKER_CONFIG, "config.json"));
  const file = explicit ?? path.join(homedir(), ".docker", "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    if (explicit !== undefined) throw new ConfigError("cannot read docker config file", file);
    return new Map();
  }
  const parsed = parseDockerConfig(text);
  if (!parsed.ok) throw new ConfigError(`docker config: ${parsed.reason}`, file);
  return parsed.store;
}

/** --plain-http, --docker-config and --ca: the registry flags of every command that talks to a registry. */
export function addRegistryFlags(cmd: Command): Command {
  return cmd
    .option("--plain-http", "talk plain HTTP to loopback registries (refused for any other host)")
    .option(
      "--docker-config <file>",
      "docker config JSON with registry credentials (default ~/.docker/config.json)",
    )
    .option("--ca <file>", "PEM CA bundle trusted for registry TLS");
}

function addRegistryOptions(cmd: Command): Command {
  return addRegistryFlags(cmd).addOption(outputOption());
}

export async function clientFor(
  flags: Omit<RegistryFlags, "output">,
  hosts: RegistryHostOptions[] = [],
): Promise<RegistryClient> {
  const ca = flags.ca === undefined ? undefined : await readText(flags.ca, "CA");
  return new RegistryClient({
    credentials: await credentials(flags.dockerConfig),
    plainHTTP: flags.plainHttp === true,
    hosts,
    ...(ca === undefined ? {} : { defaultCa: ca }),
  });
}

function printResult(r: ImageResult): void {
  const mark = r.ok ? "ok  " : "FAIL";
  process.stdout.write(
    `${mark} ${r.ref}${r.digest === undefined ? "" : ` ${r.digest}`}${r.code === undefined ? "" : ` ${r.code}`}${r.cached ? " (cached)" : ""}\n`,
  );
  for (const c of r.checks) {
    process.stdout.write(
      `       ${c.verdict.padEnd(4)} ${c.name.padEnd(12)} ${c.code === undefined ? "" : `${c.code}: `}${c.message}\n`,
    );
  }
}

async function runVerify(
  images: string[],
  opts: RegistryFlags & { trust: string; recorded?: string },
): Promise<void> {
  const trust = await loadTrustPolicy(opts.trust);
  const policy = trust.spec.images;
  if (policy === undefined) throw new ConfigError("the TrustPolicy has no spec.images section", opts.trust);
  let recorded: Record<string, string> | undefined;
  if (opts.recorded !== undefined) {
    try {
      recorded = JSON.parse(await readText(opts.recorded, "recorded digests")) as Record<string, string>;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        'recorded digests file is not JSON ({"registry/repo:tag": "sha256:..."})',
        opts.recorded,
      );
    }
  }
  const client = await clientFor(opts, policy.registryOptions ?? []);
  const out = await verifyImages({ images, policy, client, ...(recorded === undefined ? {} : { recorded }) });
  if (out.policyErrors !== undefined) throw new ConfigError(out.policyErrors.join("; "), opts.trust);
  if (opts.output === "json") printJson({ ok: out.ok, results: out.results, resolved: out.resolved });
  else out.results.forEach(printResult);
  process.exitCode = out.ok ? ExitCode.Ok : ExitCode.Findings;
}

async function privateKey(file: string): Promise<import("node:crypto").KeyObject> {
  const text = await readText(file, "cosign key");
  const key = await readCosignPrivateKey(text, process.env.COSIGN_PASSWORD ?? "");
  if (!key.ok) throw new ConfigError(`${key.reason} (the passphrase is read from COSIGN_PASSWORD)`, file);
  return key.key;
}

function parseFormat(value: string): SignFormat {
  if (value !== "bundle" && value !== "legacy")
    throw new ConfigError(`--format must be bundle or legacy, not ${value}`);
  return value;
}

function printSigned(r: SignResult, output: OutputFormat): void {
  if (output === "json") printJson({ image: r.image, digest: r.digest, format: r.format, stored: r.stored });
  else process.stdout.write(`signed ${r.image} ${r.digest} (${r.format}: ${r.stored})\n`);
}

/** Registry failures while signing are the user's to fix (credentials, reachability): exit 2 with the reason. */
async function signing(run: () => Promise<SignResult>, output: OutputFormat): Promise<void> {
  try {
    printSigned(await run(), output);
  } catch (err) {
    if (err instanceof RegistryError) throw new ConfigError(`${err.code}: ${err.message}`);
    throw err;
  }
}

/** One line per package: ecosystem, name, version, source package, where it was found. */
function printTable(inv: ImageInventory): void {
  const os =
    inv.os === undefined ? "unknown OS" : (inv.os.prettyName ?? `${inv.os.id} ${inv.os.versionId ?? ""}`);
  process.stdout.write(`${inv.reference} ${inv.digest} (${os}, ${inv.packages.length} packages)\n`);
  const rows = inv.packages.map((p) => [
    p.ecosystem,
    p.name,
    p.version,
    p.source === undefined || p.source.name === p.name ? "" : p.source.name,
    p.locations[0]?.path ?? "",
  ]);
  const head = ["TYPE", "NAME", "VERSION", "SOURCE", "PATH"];
  const widths = head.map((h, i) =>
    Math.min(48, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))),
  );
  for (const r of [head, ...rows])
    process.stdout.write(
      `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}\n`,
    );
}

function parsePlatform(value: string): { os: string; architecture: string } {
  const m = /^([a-z0-9]+)\/([a-z0-9]+)$/.exec(value);
  if (m?.[1] === undefined || m[2] === undefined)
    throw new ConfigError(`--platform must be os/arch (linux/amd64), not ${value}`);
  return { os: m[1], architecture: m[2] };
}

async function runSbom(
  image: string,
  opts: Omit<RegistryFlags, "output"> & { output: string; platform: string; cache?: string },
): Promise<void> {
  const client = await clientFor(opts);
  const cache = opts.cache === undefined ? undefined : new SbomCache({ dir: opts.cache });
  let inv: ImageInventory;
  try {
    inv = await catalogImage(image, {
      client,
      platform: parsePlatform(opts.platform),
      ...(cache === undefined ? {} : { cache }),
    });
  } catch (err) {
    // The image itself is refused (a bomb, an unsafe path, a loop): exit 1 with the code, as a finding.
    if (!(err instanceof SbomError)) throw err;
    process.stderr.write(`gitward: ${image}: ${err.code}: ${err.message}\n`);
    process.exitCode = ExitCode.Findings;
    return;
  }
  if (opts.output === "json") process.stdout.write(`${toCycloneDx(inv)}\n`);
  else printTable(inv);
  process.exitCode = ExitCode.Ok;
}

export function registerImages(program: Command): void {
  const images = program
    .command("images")
    .description("verify, sign and attest container images (cosign formats), and list their packages");

  addRegistryOptions(
    images
      .command("verify")
      .description(
        "verify images against a TrustPolicy's spec.images: allowed registry, digest, signatures from the " +
          "threshold of signers, attestations, base image. Exit 1 if any image fails.",
      )
      .argument("<image...>", "image references (registry/repository:tag or @sha256:...)")
      .requiredOption("--trust <file>", "TrustPolicy YAML file")
      .option(
        "--recorded <file>",
        "JSON of tag → digest recorded earlier; a tag that moved is refused (TAG_MOVED)",
      ),
  ).action(async (list: string[], opts: RegistryFlags & { trust: string; recorded?: string }) => {
    await runVerify(list, opts);
  });

  addRegistryFlags(
    images
      .command("sbom")
      .description(
        "list the packages inside an image (OS packages, npm, Python, Go, Java) read from its layers in the " +
          "registry; -o json prints CycloneDX 1.6. Exit 1 when the image is refused (bombs, unsafe paths).",
      )
      .argument("<image>", "image reference (registry/repository:tag or @sha256:...)")
      .addOption(
        new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
      )
      .option("--platform <os/arch>", "platform to pick from an index", "linux/amd64")
      .option("--cache <dir>", "folder caching inventories by manifest digest"),
  ).action(
    async (
      image: string,
      opts: Omit<RegistryFlags, "output"> & { output: string; platform: string; cache?: string },
    ) => {
      await runSbom(image, opts);
    },
  );

  addRegistryOptions(
    images
      .command("sign")
      .description("sign an image's digest with a cosign key (passphrase from COSIGN_PASSWORD)")
      .argument("<image>", "image reference")
      .requiredOption("--key <file>", "cosign.key (ENCRYPTED SIGSTORE PRIVATE KEY)")
      .addOption(
        new Option("--format <format>", "bundle (cosign v3) or legacy (.sig tag)").default("bundle"),
      ),
  ).action(async (image: string, opts: RegistryFlags & { key: string; format: string }) => {
    const format = parseFormat(opts.format);
    const key = await privateKey(opts.key);
    const client = await clientFor(opts);
    await signing(() => signImage({ client, image, key, format }), opts.output);
  });

  addRegistryOptions(
    images
      .command("attest")
      .description("attach a signed in-toto attestation (predicate from a JSON file) to an image")
      .argument("<image>", "image reference")
      .requiredOption("--key <file>", "cosign.key (ENCRYPTED SIGSTORE PRIVATE KEY)")
      .requiredOption("--predicate <file>", "JSON file holding the predicate")
      .requiredOption("--type <uri>", "predicate type, e.g. https://slsa.dev/provenance/v1")
      .addOption(
        new Option("--format <format>", "bundle (cosign v3) or legacy (.att tag)").default("bundle"),
      ),
  ).action(
    async (
      image: string,
      opts: RegistryFlags & { key: string; predicate: string; type: string; format: string },
    ) => {
      const format = parseFormat(opts.format);
      let predicate: unknown;
      try {
        predicate = JSON.parse(await readText(opts.predicate, "predicate"));
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError("predicate is not JSON", opts.predicate);
      }
      const key = await privateKey(opts.key);
      const client = await clientFor(opts);
      await signing(
        () => attestImage({ client, image, key, format, predicateType: opts.type, predicate }),
        opts.output,
      );
    },
  );

  registerImagesScan(images);
}
