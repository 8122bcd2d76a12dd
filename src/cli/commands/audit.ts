// `gitward audit verify FILE [--key PUB]... [-o json]`: checks the hash chain and the signatures of an audit
// log; `gitward audit keygen`: makes the ed25519 key pair the operator signs records with. Exit 0 when
// intact (signatures checked), 1 when broken, 2 when unreadable, 3 when the chain holds but nothing proves
// who wrote it (unsigned records, or no --key to check them with).
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { generateAuditKeyPair, readAuditKeyFile } from "../../audit/keys.js";
import { MAX_RECORD_BYTES } from "../../audit/record.js";
import { verifyAuditLog, type AuditVerifyResult } from "../../audit/verify.js";
import { ConfigError } from "../../config/errors.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";
import { registerAuditCluster } from "./webhook.js";
import { verifyAuditText } from "../../audit/verify.js";
import { readClusterTrail } from "../../audit/cluster-log.js";
import { addClusterOptions, clusterClient, type ClusterFlags } from "../cluster-flags.js";
import { registerAuditExport } from "./audit-export.js";
import { registerAuditCi } from "./audit-ci.js";
import { registerAuditAccess } from "./audit-access.js";

interface VerifyFlags extends Omit<ClusterFlags, "output"> {
  systemNamespace: string;
  partial?: boolean;
  key: string[];
  expectRecord?: string;
  maxLineBytes: string;
  output: OutputFormat;
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("inspect gitward's signed, hash-chained audit log");
  registerAuditCluster(audit);
  const verify = audit
    .command("verify")
    .description(
      "Verify an audit log: every record unchanged, in order, none removed or inserted, and signed by " +
        "one of the --key public keys under the key id it names. Read line by line, each line capped.\n" +
        "Exit 0 intact, 1 broken (names the first bad record), 2 file or key unreadable, 3 unsigned or " +
        "unchecked (the chain holds, but without signatures checked anyone who can write the file could " +
        "have rewritten it).",
    )
    .argument("[file]", "audit log or export (JSON Lines); without it, the cluster's audit trail")
    .option("--system-namespace <ns>", "namespace of the cluster's audit trail", "gitward-system")
    .option("--partial", "the file is an export (--since): check the chain from its first record")
    .option(
      "--key <pub>",
      "ed25519 public key (PEM) that signed the records; repeat for the keys before a rotation",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--expect-record <id>",
      "a record id kept elsewhere (an Application's status.lastAuditRecord) that the log must still hold",
    )
    .option("--max-line-bytes <n>", "longest line read; a longer one is refused", String(MAX_RECORD_BYTES))
    .addOption(outputOption());
  addClusterOptions(verify, { namespaceHelp: "(unused: the trail is in --system-namespace)" }).action(
    async (file: string | undefined, flags: VerifyFlags) => {
      const maxLineBytes = Number(flags.maxLineBytes);
      if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 2) {
        throw new ConfigError("give a whole number of bytes, at least 2", "--max-line-bytes");
      }
      const publicKeys = await Promise.all(flags.key.map((k) => readAuditKeyFile(k, "public")));
      const options = {
        publicKeys,
        maxLineBytes,
        ...(flags.partial === true ? { partial: true } : {}),
        ...(flags.expectRecord === undefined ? {} : { expectedRecordId: flags.expectRecord }),
      };
      let result: AuditVerifyResult;
      let where: string;
      if (file === undefined) {
        const cluster = clusterClient(flags);
        try {
          const trail = await readClusterTrail(cluster, { namespace: flags.systemNamespace });
          where = `cluster audit trail (${flags.systemNamespace}, ${trail.chunks} chunk(s))`;
          result = verifyAuditText(trail.text, options);
        } finally {
          cluster.close();
        }
      } else {
        where = file;
        try {
          result = await verifyAuditLog(file, options);
        } catch (err) {
          throw new ConfigError(`cannot read the audit log: ${errorCode(err)}`, file);
        }
      }
      if (flags.output === "json") printJson({ file: where, ...result });
      else process.stdout.write(formatText(where, result));
      process.exitCode =
        result.status === "intact"
          ? ExitCode.Ok
          : result.status === "broken"
            ? ExitCode.Findings
            : ExitCode.Unproven;
    },
  );
  registerAuditExport(audit);
  registerAuditCi(audit);
  registerAuditAccess(audit);

  audit
    .command("keygen")
    .description(
      "Make the ed25519 key pair that `gitward run --audit-key` signs audit records with: writes " +
        "<dir>/audit.key (private, mode 0600) and <dir>/audit.pub, and prints the key id. Refuses to " +
        "overwrite. Put the private key in the Secret the operator mounts (deploy/install/deployment.yaml); " +
        "keep the public key, and every earlier one, where `audit verify --key` can read them.",
    )
    .requiredOption("--out-dir <dir>", "folder to write audit.key and audit.pub into")
    .addOption(outputOption())
    .action(async (flags: { outDir: string; output: OutputFormat }) => {
      const pair = generateAuditKeyPair();
      const privateFile = path.join(flags.outDir, "audit.key");
      const publicFile = path.join(flags.outDir, "audit.pub");
      await writeNew(privateFile, pair.privatePem, 0o600);
      await writeNew(publicFile, pair.publicPem, 0o644);
      if (flags.output === "json") {
        printJson({ keyId: pair.keyId, privateKey: privateFile, publicKey: publicFile });
        return;
      }
      process.stdout.write(
        `audit key ${pair.keyId}: private ${privateFile}, public ${publicFile}\n` +
          `install it: kubectl -n gitward-system create secret generic gitward-audit-key ` +
          `--from-file=audit.key=${privateFile}\n`,
      );
    });
}

/** Creates `file` exclusively (O_EXCL): an existing key is never overwritten. */
async function writeNew(file: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    throw new ConfigError(
      errorCode(err) === "EEXIST" ? "exists already: move it away first" : `cannot write: ${errorCode(err)}`,
      file,
    );
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

const STATUS_TEXT: Record<Exclude<AuditVerifyResult["status"], "broken">, string> = {
  intact: "intact",
  unsigned:
    "UNSIGNED (hash chain holds, but no record is signed: anyone who can write the file could have " +
    "rewritten it; sign with `gitward run --audit-key`)",
  unchecked: "UNCHECKED (hash chain holds, signatures not checked: give --key)",
};

function formatText(file: string, r: AuditVerifyResult): string {
  if (r.status !== "broken") {
    return (
      `${file}: ${STATUS_TEXT[r.status]}, ${r.records} record(s), ${r.signed} signed; ` +
      `head seq ${r.head.seq} ${r.head.hash}\n`
    );
  }
  const bad = r.firstBad;
  const where =
    bad === undefined ? "" : `line ${bad.line}${bad.seq === undefined ? "" : ` (seq ${bad.seq})`}`;
  return (
    `${file}: BROKEN at ${where}: ${bad?.reason ?? "UNKNOWN"}: ${bad?.message ?? ""}\n` +
    `${r.records} record(s) verified before it; last good seq ${r.head.seq} ${r.head.hash}\n`
  );
}
