// `gitward vulndb import DIR|ZIP --db FILE`: builds the local vulnerability database from an OSV export
// (a folder of OSV JSON records, or OSV.dev's all.zip / per-ecosystem zip). The file is what the operator
// mounts and what `images scan --db` reads; nothing at scan time needs the network.
import type { Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import { importOsv } from "../../vuln/db.js";
import { VulnError } from "../../vuln/errors.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

/** A VulnError is the user's to fix: exit 2 with its message. */
export async function asConfigError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof VulnError) throw new ConfigError(`[${err.code}] ${err.message}`);
    throw err;
  }
}

export function registerVulndb(program: Command): void {
  const vulndb = program.command("vulndb").description("the local vulnerability database (OSV records)");
  vulndb
    .command("import")
    .description(
      "import an OSV export (folder of records or a zip) into one database file; withdrawn advisories are " +
        "dropped and records gitward cannot use are counted. Refresh it by importing a newer export.",
    )
    .argument("<input>", "folder of OSV JSON records, or a zip of them (e.g. OSV.dev's all.zip)")
    .requiredOption("--db <file>", "database file to write (replaced whole)")
    .addOption(outputOption())
    .action(async (input: string, opts: { db: string; output: OutputFormat }) => {
      const meta = await asConfigError(() => importOsv({ input, db: opts.db }));
      if (opts.output === "json") printJson(meta);
      else {
        const c = meta.counts;
        const skipped = Object.entries(c.skipped)
          .map(([k, v]) => `${v} ${k}`)
          .join(", ");
        process.stdout.write(
          `imported ${c.records} advisory record(s) from ${c.files} file(s) into ${opts.db} ` +
            `(${c.packages} package(s); ${c.withdrawn} withdrawn${skipped === "" ? "" : `; skipped: ${skipped}`})\n` +
            `format ${meta.format} v${meta.version}, imported at ${meta.importedAt}\n`,
        );
      }
      process.exitCode = ExitCode.Ok;
    });
}
