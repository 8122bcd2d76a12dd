// `gitward audit access PATH [--config FILE...] [-o text|json]`: the delivery access pattern (full,
// deployment-repo, code-only) of the CI files under PATH, judged against gitward's configuration, with
// the credential table and its evidence. Exit 0 code-only, 1 a worse pattern (or unreadable CI files),
// 2 usage or configuration error.
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { auditAccess, formatAccess } from "../../ciaudit/access.js";
import { loadConfig, type ConfigSet } from "../../config/load.js";
import { ConfigError } from "../../config/errors.js";
import { ExitCode } from "../exit.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";

/** Several config files (gitward.yaml, or TrustPolicy/Application CRDs as files) read as one set. */
async function loadAll(files: readonly string[]): Promise<ConfigSet | undefined> {
  if (files.length === 0) return undefined;
  const out: ConfigSet = { trustPolicies: [], applications: [], alertSinks: [] };
  for (const f of files) {
    const set = await loadConfig(f);
    out.trustPolicies.push(...set.trustPolicies);
    out.applications.push(...set.applications);
    out.alertSinks.push(...set.alertSinks);
  }
  return out;
}

export function registerAuditAccess(audit: Command): void {
  audit
    .command("access")
    .description(
      "Classify the delivery access pattern of a repository's CI (full: CI can reach the cluster; " +
        "deployment-repo: CI writes the config repository; code-only: CI builds and pushes, the operator pulls), " +
        "list who holds registry push, config-repo write and cluster write, with file:line evidence, and the " +
        "next step toward code-only. Docs: docs/ci-audit.md.\n" +
        "Exit 0 code-only, 1 a worse pattern or an unreadable CI file, 2 usage or configuration error.",
    )
    .argument("<path>", "repository, folder of workflow files, or one file")
    .option(
      "-c, --config <file...>",
      "gitward.yaml or TrustPolicy/Application files: names the config repositories and the signers",
      [],
    )
    .addOption(outputOption(["text", "json"]))
    .action(async (target: string, flags: { config: string[]; output: OutputFormat }) => {
      try {
        await stat(target);
      } catch {
        throw new ConfigError("no such file or folder", target);
      }
      const config = await loadAll(flags.config);
      const report = await auditAccess(target, config);
      if (flags.output === "json") printJson({ ...report, root: target });
      else process.stdout.write(formatAccess(report));
      process.exitCode = report.pattern === "code-only" && report.complete ? ExitCode.Ok : ExitCode.Findings;
    });
}
