// `gitward audit verify FILE [--key PUB] [-o json]`: checks the hash chain (and signatures) of an audit
// log. Exit 0 when intact, 1 when a record was changed, removed, inserted or reordered, 2 when unreadable.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadAuditPublicKey } from "../../audit/keys.js";
import { verifyAuditLog, type AuditVerifyResult } from "../../audit/verify.js";
import { ConfigError } from "../../config/errors.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

interface VerifyFlags {
  key?: string;
  expectRecord?: string;
  output: OutputFormat;
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("inspect gitward's hash-chained audit log");
  audit
    .command("verify")
    .description(
      "Verify an audit log: every record unchanged, in order, none removed or inserted, and signed by " +
        "--key when given. Exit 0 intact, 1 broken (names the first bad record), 2 file or key unreadable.",
    )
    .argument("<file>", "audit log (JSON Lines)")
    .option("--key <pub>", "ed25519 public key (PEM) that must have signed every record")
    .option(
      "--expect-record <id>",
      "a record id kept elsewhere (an Application's status.lastAuditRecord) that the log must still hold",
    )
    .addOption(outputOption())
    .action(async (file: string, flags: VerifyFlags) => {
      const publicKey = flags.key === undefined ? undefined : await readKey(flags.key);
      let result: AuditVerifyResult;
      try {
        result = await verifyAuditLog(file, {
          ...(publicKey === undefined ? {} : { publicKey }),
          ...(flags.expectRecord === undefined ? {} : { expectedRecordId: flags.expectRecord }),
        });
      } catch (err) {
        throw new ConfigError(`cannot read the audit log: ${errorCode(err)}`, file);
      }
      if (flags.output === "json") printJson({ file, ...result });
      else process.stdout.write(formatText(file, result));
      process.exitCode = result.ok ? ExitCode.Ok : ExitCode.Findings;
    });
}

async function readKey(path: string) {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the public key: ${errorCode(err)}`, path);
  }
  try {
    return loadAuditPublicKey(pem);
  } catch (err) {
    throw new ConfigError(
      `not an ed25519 public key in PEM form (${err instanceof Error ? err.message : String(err)})`,
      path,
    );
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

function formatText(file: string, r: AuditVerifyResult): string {
  if (r.ok) return `${file}: intact, ${r.records} record(s); head seq ${r.head.seq} ${r.head.hash}\n`;
  const bad = r.firstBad;
  const where =
    bad === undefined ? "" : `line ${bad.line}${bad.seq === undefined ? "" : ` (seq ${bad.seq})`}`;
  return (
    `${file}: BROKEN at ${where}: ${bad?.reason ?? "UNKNOWN"}: ${bad?.message ?? ""}\n` +
    `${r.records} record(s) verified before it; last good seq ${r.head.seq} ${r.head.hash}\n`
  );
}
