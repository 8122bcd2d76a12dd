// `gitward history APP [-n NS] [--audit-log FILE] [-o table|json|yaml]` (as `argocd app history`): the
// revisions an Application applied, refused or rolled back to, who signed them (signer and key) and why
// one was refused, from the audit trail (the cluster's, or a file), its chain checked first.
import type { Command } from "commander";
import { readAuditKeyFile } from "../../audit/keys.js";
import { readTrail, recordsOf, trustedRecords } from "../../day2/trail.js";
import {
  addClusterOptions,
  clusterClient,
  formatTable,
  namespaceOf,
  printStructured,
  type ClusterFlags,
} from "../cluster-flags.js";
import { addTrailOptions } from "./rollback.js";

interface Flags extends ClusterFlags {
  auditLog?: string;
  systemNamespace: string;
  key: string[];
  partial?: boolean;
}

export interface HistoryRow {
  readonly seq: number;
  readonly time: string;
  readonly result: string;
  readonly revision: string;
  readonly signers: readonly { name: string; key?: string }[];
  readonly reason?: string;
  readonly findings: readonly string[];
  readonly applied: number;
  readonly pruned: number;
  readonly actor: string;
  readonly auditRecord: string;
}

export function registerHistory(program: Command): void {
  addTrailOptions(
    addClusterOptions(
      program
        .command("history")
        .description(
          "Show an Application's revisions as the audit trail has them: applied, refused (with the " +
            "verdict code), rolled back, drift; who signed (signer and key) and the actor. The trail's " +
            "hash chain (and, with --key, its signatures) is checked first; a broken trail is refused.",
        )
        .argument("<app>", "Application name")
        .option(
          "--key <pub>",
          "ed25519 public key that must have signed every record (repeat for earlier keys)",
          (v: string, prev: string[]) => [...prev, v],
          [] as string[],
        )
        .option("--partial", "the file is an export (--since): check the chain from its first record"),
      { output: true },
    ),
  ).action(async (name: string, flags: Flags) => {
    const ns = namespaceOf(flags) ?? "";
    const publicKeys = await Promise.all(flags.key.map((k) => readAuditKeyFile(k, "public")));
    const cluster = flags.auditLog === undefined ? clusterClient(flags) : undefined;
    try {
      const trail = await readTrail({
        ...(flags.auditLog === undefined ? {} : { file: flags.auditLog }),
        ...(cluster === undefined ? {} : { cluster }),
        systemNamespace: flags.systemNamespace,
        ...(flags.partial === true ? { partial: true } : {}),
        ...(publicKeys.length === 0 ? {} : { publicKeys }),
      });
      const rows: HistoryRow[] = recordsOf(trustedRecords(trail), ns, name).map((r) => ({
        seq: r.seq,
        time: r.time,
        result: r.result,
        revision: r.revision,
        signers: r.signers.map((s) => ({ name: s.name, ...(s.key === undefined ? {} : { key: s.key }) })),
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        findings: r.findings.codes,
        applied: r.applied.length,
        pruned: r.pruned.length,
        actor: r.actor.name,
        auditRecord: r.id,
      }));
      if (flags.output === "json" || flags.output === "yaml") {
        printStructured(
          { application: { namespace: ns, name }, source: trail.where, history: rows },
          flags.output,
        );
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`no audit records for Application ${ns}/${name} in the ${trail.where}\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          ["SEQ", "TIME", "RESULT", "REVISION", "SIGNED BY", "REASON", "OBJECTS"],
          rows.map((r) => [
            String(r.seq),
            r.time.replace(/\.\d+Z$/, "Z"),
            r.result,
            r.revision.slice(0, 12),
            r.signers.map((s) => `${s.name}${s.key === undefined ? "" : ` (${s.key})`}`).join(", ") || "-",
            r.reason ?? (r.findings.length > 0 && r.result === "refused" ? r.findings.join(",") : "-"),
            `${r.applied} applied, ${r.pruned} pruned`,
          ]),
        ),
      );
    } finally {
      cluster?.close();
    }
  });
}
