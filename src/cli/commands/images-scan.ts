// `gitward images scan IMAGE... --db FILE`: the packages of each image (catalogImage, from the registry,
// or --sbom FILE: a CycloneDX SBOM or gitward inventory) matched offline against the local database and
// judged by the TrustPolicy's spec.images.vulnerabilities (with --trust) or the defaults. Exit codes as
// `check`: 0 nothing at or above --fail-on (default high), 1 findings, 2 usage or configuration error.
import { Option, type Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { loadTrustPolicy } from "../../config/load.js";
import type { Severity, VulnerabilityPolicy } from "../../config/types.js";
import { RegistryError } from "../../images/errors.js";
import { catalogImage } from "../../sbom/image.js";
import { readInventoryFile } from "../../vuln/inventory-file.js";
import { dbFor } from "../../vuln/policy-scan.js";
import { formatScanText, scanJson, scanSarif } from "../../vuln/report.js";
import { scanImage, scanInventory, type ImageScan } from "../../vuln/scan.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";
import { addRegistryFlags, clientFor } from "./images.js";
import { asConfigError } from "./vulndb.js";

interface ScanFlags {
  db?: string;
  sbom?: string;
  trust?: string;
  failOn?: Severity;
  maxDbAge?: string;
  plainHttp?: boolean;
  dockerConfig?: string;
  ca?: string;
  output: OutputFormat;
}

export function printScans(scans: readonly ImageScan[], output: OutputFormat): void {
  if (output === "json") printJson(scanJson(scans));
  else if (output === "sarif") printJson(scanSarif(scans));
  else for (const s of scans) process.stdout.write(formatScanText(s));
}

async function runScan(images: string[], flags: ScanFlags): Promise<number> {
  const trust = flags.trust === undefined ? undefined : await loadTrustPolicy(flags.trust);
  const fromPolicy = trust?.spec.images?.vulnerabilities;
  const policy: VulnerabilityPolicy = {
    ...fromPolicy,
    ...(flags.maxDbAge === undefined ? {} : { maxDbAge: flags.maxDbAge }),
  };
  const dbPath = flags.db ?? policy.dbPath;
  if (dbPath === undefined) throw new ConfigError("give --db FILE (or a TrustPolicy with dbPath)");
  if ((images.length === 0) === (flags.sbom === undefined))
    throw new ConfigError("give either image references or --sbom FILE");
  const db = await asConfigError(() => dbFor(dbPath));
  const now = new Date();
  const common = { db, policy, now, ...(flags.failOn === undefined ? {} : { failOn: flags.failOn }) };
  const scans: ImageScan[] = [];
  if (flags.sbom !== undefined) {
    const file = flags.sbom;
    const inv = await asConfigError(() => readInventoryFile(file));
    scans.push(scanInventory(inv, common));
  } else {
    const client = await clientFor(flags, trust?.spec.images?.registryOptions ?? []);
    for (const ref of images) {
      try {
        scans.push(await scanImage(ref, { ...common, inventoryOf: (r) => catalogImage(r, { client }) }));
      } catch (err) {
        if (err instanceof RegistryError) throw new ConfigError(`${err.code}: ${err.message}`, ref);
        throw err;
      }
    }
  }
  printScans(scans, flags.output);
  return scans.every((s) => s.verdict.passed) ? ExitCode.Ok : ExitCode.Findings;
}

/** Adds `scan` to the `images` command. */
export function registerImagesScan(images: Command): void {
  addRegistryFlags(
    images
      .command("scan")
      .description(
        "scan images for known vulnerabilities against a local OSV database (`gitward vulndb import`), " +
          "offline. Exit 0 nothing at or above --fail-on, 1 findings, 2 usage or configuration error.",
      )
      .argument("[image...]", "image references (registry/repository:tag or @sha256:...)")
      .option("--db <file>", "vulnerability database file (default: the TrustPolicy's dbPath)")
      .option("--sbom <file>", "scan a CycloneDX JSON SBOM or a gitward inventory JSON instead of an image")
      .option(
        "--trust <file>",
        "TrustPolicy whose spec.images.vulnerabilities applies (failOn, ignore, maxDbAge)",
      )
      .addOption(
        new Option(
          "--fail-on <severity>",
          "lowest severity that fails (default: the policy's, else high)",
        ).choices(["low", "medium", "high", "critical"]),
      )
      .option("--max-db-age <duration>", 'warn when the database is older than this (e.g. "72h")'),
  )
    .addOption(outputOption(["text", "json", "sarif"]))
    .action(async (list: string[], flags: ScanFlags) => {
      process.exitCode = await runScan(list, flags);
    });
}
