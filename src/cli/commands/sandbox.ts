// `gitward sandbox`: runs the local Kubernetes API server until SIGINT/SIGTERM, writes a kubeconfig for
// it (mode 0600; the admin token is never printed) and says how to use it with kubectl.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../../config/errors.js";
import type { Readiness } from "../../sandbox/api.js";
import { startSandbox, type SandboxOptions } from "../../sandbox/server.js";
import { outputOption, printJson, type OutputFormat } from "../output.js";
import { parsePort } from "../port.js";

interface SandboxCliOptions {
  port: string;
  host: string;
  dataDir?: string;
  writeKubeconfig?: string;
  readinessDelay: string;
  output: OutputFormat;
}

function parseReadiness(value: string): Readiness {
  if (value === "never") return "never";
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`--readiness-delay ${value}: give milliseconds (0 or more) or "never"`);
  }
  return { delayMs: n };
}

export function registerSandbox(program: Command): void {
  program
    .command("sandbox")
    .description(
      "Run a local Kubernetes API server (objects only, no nodes) for trying gitward and for tests. " +
        "kubectl and client libraries work against it unchanged; it runs until interrupted.",
    )
    .option("--port <n>", "port to listen on (0: any free port)", "6443")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "keep objects (and the admin token and certificate) here across restarts")
    .option(
      "--write-kubeconfig <file>",
      "write the admin kubeconfig here (default: <data-dir>/kubeconfig or a temp file)",
    )
    .option("--readiness-delay <ms>", 'when workloads report ready, in ms, or "never"', "1000")
    .addOption(outputOption())
    .action(async (opts: SandboxCliOptions) => {
      const options: SandboxOptions = {
        port: parsePort(opts.port, "--port", "gitward sandbox"),
        host: opts.host,
        readiness: parseReadiness(opts.readinessDelay),
      };
      if (opts.dataDir !== undefined) options.dataDir = path.resolve(opts.dataDir);
      const sandbox = await startSandbox(options);
      const kubeconfig =
        opts.writeKubeconfig !== undefined
          ? path.resolve(opts.writeKubeconfig)
          : opts.dataDir !== undefined
            ? path.resolve(opts.dataDir, "kubeconfig")
            : path.join(await mkdtemp(path.join(tmpdir(), "gitward-sandbox-")), "kubeconfig");
      await sandbox.writeKubeconfig(kubeconfig);
      if (opts.output === "json")
        printJson({ url: sandbox.url, kubeconfig, dataDir: options.dataDir ?? null });
      else {
        process.stdout.write(
          [
            `gitward sandbox: Kubernetes API at ${sandbox.url}`,
            `kubeconfig (admin, mode 0600): ${kubeconfig}`,
            "",
            "Use it with kubectl:",
            `  export KUBECONFIG=${kubeconfig}`,
            "  kubectl get namespaces",
            "  kubectl apply --server-side -f <dir>",
            "",
            options.dataDir === undefined
              ? "Objects live in memory only (use --data-dir to keep them). Ctrl-C stops."
              : `Objects are kept in ${options.dataDir}. Ctrl-C stops.`,
            "",
          ].join("\n"),
        );
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void sandbox.stop().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
