// `gitward demo`: the narrated walk-through on embedded defaults (no cluster needed); exit 0 when every
// step behaved as gitward promises, 1 otherwise.
import type { Command } from "commander";
import { runDemo } from "../../demo/demo.js";
import { ExitCode } from "../exit.js";
import { parsePort } from "../port.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run gitward's main job on embedded defaults, without a cluster: a local API server and git " +
        "server, a signed config repository, then a signed change applied, an unsigned and a " +
        "policy-breaking change refused, a removed object pruned, and the audit log verified.\n" +
        "Exit 0 when every step behaved as expected, 1 otherwise.",
    )
    .option("--keep", "keep the demo's work folder (repository, audit log) for inspection")
    .option(
      "--dashboard [port]",
      "at the end, leave the read-only dashboard running on 127.0.0.1 (default port 8080) until Ctrl-C",
    )
    .action(async (flags: { keep?: boolean; dashboard?: string | boolean }) => {
      const port =
        typeof flags.dashboard === "string"
          ? parsePort(flags.dashboard, "--dashboard", "gitward demo")
          : 8080;
      const until = (): Promise<void> =>
        new Promise((resolve) => {
          process.once("SIGINT", () => {
            resolve();
          });
          process.once("SIGTERM", () => {
            resolve();
          });
        });
      const ok = await runDemo({
        keep: flags.keep === true,
        ...(flags.dashboard === undefined ? {} : { dashboard: { port, until } }),
      });
      process.exitCode = ok ? ExitCode.Ok : ExitCode.Findings;
    });
}
