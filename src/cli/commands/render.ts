// `gitward render PATH|APP [-o yaml|json]`: prints the objects a reconcile would apply. For an Application
// (a file, or a name with --config) it runs the reconcile itself up to the plan, writing nothing, and prints
// the objects the apply step would send: pinned, namespaced, labelled, SealedSecrets opened (their values
// redacted). For a folder it renders as `gitward check` does and pins images as the reconcile does when
// --trust requires digests. Exit 0 printed, 1 refused or not renderable, 2 usage or configuration error.
import { existsSync, statSync } from "node:fs";
import { Option, type Command } from "commander";
import { stringify } from "yaml";
import { loadTrustPolicy } from "../../config/load.js";
import type { KubeObject } from "../../cluster/client.js";
import { redactSecret } from "../../reconcile/preview.js";
import { pinVerified } from "../../trust/image/pin.js";
import { ExitCode } from "../exit.js";
import { printJson } from "../output.js";
import { addRenderOptions, renderTarget, verifyRevisionImages, type RenderFlags } from "./check.js";
import { addAppOptions, dryRunApps, type AppFlags } from "./diff.js";
import { addRegistryFlags, type RegistryFlags } from "./images.js";

type RenderOutput = "yaml" | "json";
type Flags = RenderFlags &
  AppFlags &
  Omit<RegistryFlags, "output"> & { trust?: string; output: RenderOutput };

function print(objects: readonly Record<string, unknown>[], output: RenderOutput): void {
  // Secret values never leave the process, whichever form is printed.
  const shown = objects.map((o) => redactSecret(o));
  if (output === "json") printJson({ apiVersion: "v1", kind: "List", items: shown });
  else process.stdout.write(shown.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(""));
}

/** An Application: the reconcile's own desired objects, from a dry run. */
async function renderApp(arg: string | undefined, flags: Flags): Promise<number> {
  const objects: KubeObject[] = [];
  const reports = await dryRunApps(arg, flags, (_cluster, _app, preview) => {
    objects.push(...preview.desired.map((d) => d.object));
    return Promise.resolve();
  });
  for (const r of reports.filter((x) => x.result === "refused" || x.result === "failed")) {
    process.stderr.write(`gitward: ${r.application.name}: ${r.reason ?? "REFUSED"}: ${r.message}\n`);
    for (const d of r.details) process.stderr.write(`gitward:   ${d}\n`);
    return ExitCode.Findings;
  }
  print(objects, flags.output);
  return ExitCode.Ok;
}

/** A folder: rendered as check renders it, images pinned as the reconcile pins them. */
async function renderPath(target: string, flags: Flags): Promise<number> {
  const { rendered } = await renderTarget(target, flags);
  if (!rendered.ok) {
    for (const e of rendered.errors) {
      const where = e.file === undefined ? "" : `${e.file}${e.line === undefined ? "" : `:${e.line}`}: `;
      process.stderr.write(`gitward: ${where}${e.code}: ${e.message}\n`);
    }
    return ExitCode.Findings;
  }
  let manifests = rendered.manifests;
  const policy = flags.trust === undefined ? undefined : (await loadTrustPolicy(flags.trust)).spec.images;
  if (policy !== undefined) {
    const results = await verifyRevisionImages(manifests, policy, flags);
    const bad = results.filter((r) => !r.ok);
    for (const r of bad) process.stderr.write(`gitward: ${r.ref}: ${r.code ?? "REFUSED"}\n`);
    if (bad.length > 0) return ExitCode.Findings;
    manifests = pinVerified(manifests, results, policy.requireDigest);
  }
  print(
    manifests.map((m) => m.object),
    flags.output,
  );
  return ExitCode.Ok;
}

export function registerRender(program: Command): void {
  const cmd = program
    .command("render")
    .description(
      "Print the objects a reconcile would apply. APP (an Application file, or --app FILE, or an " +
        "Application's name with --config): the reconcile runs up to its plan, writing nothing, and its " +
        "objects are printed as the apply would send them. PATH: rendered as `gitward check` renders " +
        "it, images pinned as the reconcile pins them when --trust requires digests. Secret values are " +
        "redacted.\nExit 0 printed, 1 refused or not renderable, 2 usage or configuration error.",
    )
    .argument("[target]", "folder to render, Application file, or Application name (with --config)");
  addRenderOptions(cmd);
  addAppOptions(cmd);
  addRegistryFlags(cmd)
    .option("--trust <file>", "TrustPolicy file (PATH): pin images as its spec.images requires")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .action(async (target: string | undefined, flags: Flags) => {
      const isApp =
        flags.app !== undefined ||
        target === undefined ||
        (flags.config !== undefined && !existsSync(target)) ||
        (existsSync(target) && statSync(target).isFile());
      process.exitCode = isApp ? await renderApp(target, flags) : await renderPath(target, flags);
    });
}
