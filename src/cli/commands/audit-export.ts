// `gitward audit export [--since DURATION|TIME] [--out FILE]`: the cluster's audit trail (or a file's) as
// JSON Lines, the records unchanged, for archiving or a SIEM. An export with --since starts mid-chain:
// `gitward audit verify FILE --partial` checks it from its first record.
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { parseDuration } from "../../config/duration.js";
import { ConfigError } from "../../config/errors.js";
import { readTrail } from "../../day2/trail.js";
import { addClusterOptions, clusterClient, type ClusterFlags } from "../cluster-flags.js";

interface Flags extends ClusterFlags {
  since?: string;
  out?: string;
  auditLog?: string;
  systemNamespace: string;
}

/** --since: a duration back from now ("24h", "7d" as "168h") or a time (RFC 3339). */
export function sinceTime(value: string, now = Date.now()): number {
  const ms = parseDuration(value);
  if (ms !== undefined) return now - ms;
  const t = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(t)) return t;
  throw new ConfigError(
    `--since ${value}: give a duration (30m, 24h) or a time (2026-12-01T00:00:00Z)`,
    "gitward audit export",
  );
}

export function registerAuditExport(audit: Command): void {
  addClusterOptions(
    audit
      .command("export")
      .description(
        "Write the cluster's audit trail (or --audit-log FILE) as JSON Lines, records unchanged. With " +
          "--since only the records from then on: verify such an export with `audit verify FILE --partial`.",
      )
      .option("--since <duration|time>", "only records from this long ago (24h) or this time (RFC 3339) on")
      .option("--out <file>", "write to this file instead of stdout")
      .option("--audit-log <file>", "export this file's records instead of the cluster's")
      .option("--system-namespace <ns>", "namespace of the cluster's audit trail", "gitward-system"),
    { namespaceHelp: "(unused: the trail is in --system-namespace)" },
  ).action(async (flags: Flags) => {
    const since = flags.since === undefined ? undefined : sinceTime(flags.since);
    const cluster = flags.auditLog === undefined ? clusterClient(flags) : undefined;
    try {
      const trail = await readTrail({
        ...(flags.auditLog === undefined ? {} : { file: flags.auditLog }),
        ...(cluster === undefined ? {} : { cluster }),
        systemNamespace: flags.systemNamespace,
      });
      const lines = trail.text.split("\n").filter((l) => l !== "");
      // Records are in time order, so everything after the first one inside the window is kept.
      const from =
        since === undefined
          ? 0
          : lines.findIndex((l) => {
              const t = Date.parse((JSON.parse(l) as { time?: string }).time ?? "");
              return Number.isFinite(t) && t >= since;
            });
      const kept = from === -1 ? [] : lines.slice(from);
      const text = kept.map((l) => l + "\n").join("");
      if (flags.out === undefined) process.stdout.write(text);
      else await writeFile(flags.out, text, { mode: 0o640 });
      const note = trail.verdict.ok
        ? ""
        : ` (the trail does not verify: ${trail.verdict.firstBad?.reason ?? "BROKEN"})`;
      process.stderr.write(
        `gitward: exported ${kept.length} of ${lines.length} record(s) from the ${trail.where}${note}\n`,
      );
    } finally {
      cluster?.close();
    }
  });
}
