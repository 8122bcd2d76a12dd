// `gitward images pin PATH [--write | -o patch|json]`: renders PATH as `gitward check` does, resolves every
// tag-only image of the result to its digest in the registry, and prints a unified diff of the source
// files that pins them (`image:` values become `repo:tag@sha256:...`, kustomize `images:` entries get a
// `digest:`), or writes it with --write. Any image that cannot be resolved or found stops it: nothing is
// written. Exit 0 pinned (or nothing to pin), 1 an image could not be pinned, 2 usage/configuration.
import { readFile, realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import { Option, type Command } from "commander";
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { isInside } from "../../render/confine.js";
import { walk } from "../../render/files.js";
import { needsPin, planPins, type SourceFile } from "../../images/source-pin.js";
import { imagesOf } from "../../trust/image/pin.js";
import { ExitCode } from "../exit.js";
import { printJson } from "../output.js";
import { addRenderOptions, renderTarget, type RenderFlags } from "./check.js";
import { addRegistryFlags, clientFor, type RegistryFlags } from "./images.js";

type PinFlags = RenderFlags & Omit<RegistryFlags, "output"> & { write?: boolean; output: "patch" | "json" };

const YAML_FILE = /\.ya?ml$|^Kustomization$/;

/** The YAML files below the target, and those the rendered objects came from (kustomize bases). */
async function sourceFiles(root: string, rel: string, origins: readonly string[]): Promise<SourceFile[]> {
  const listed = await walk(root, path.join(root, rel), (name) => YAML_FILE.test(name));
  const real = new Set(listed.files);
  for (const o of origins) {
    const p = await realpath(path.join(root, o)).catch(() => undefined);
    if (p !== undefined && isInside(root, p) && YAML_FILE.test(path.basename(p))) real.add(p);
  }
  const out: SourceFile[] = [];
  for (const p of [...real].sort()) {
    out.push({ file: path.relative(root, p).split(path.sep).join("/"), text: await readFile(p, "utf8") });
  }
  return out;
}

async function runPin(target: string, flags: PinFlags): Promise<number> {
  const { root, rel, rendered } = await renderTarget(target, flags);
  if (!rendered.ok) {
    for (const e of rendered.errors) {
      const where = e.file === undefined ? "" : `${e.file}${e.line === undefined ? "" : `:${e.line}`}: `;
      process.stderr.write(`gitward: ${where}${e.code}: ${e.message}\n`);
    }
    return ExitCode.Findings;
  }
  const images = rendered.manifests.flatMap((m) =>
    imagesOf(m.object).map((image) => ({ image, file: m.origin.file, line: m.origin.line })),
  );
  const plan = await planPins({
    client: await clientFor(flags),
    files: await sourceFiles(
      root,
      rel,
      rendered.manifests.map((m) => m.origin.file),
    ),
    images,
  });
  if (flags.output === "json") {
    printJson({
      ok: plan.problems.length === 0,
      written: flags.write === true && plan.problems.length === 0,
      pinned: plan.edits,
      problems: plan.problems,
      alreadyPinned: [...new Set(images.map((i) => i.image).filter((i) => !needsPin(i)))],
    });
  }
  if (plan.problems.length > 0) {
    for (const p of plan.problems) {
      process.stderr.write(`gitward: ${p.file}:${p.line}: ${p.image}: ${p.code}: ${p.message}\n`);
    }
    process.stderr.write("gitward: nothing was written\n");
    return ExitCode.Findings;
  }
  if (flags.write === true) {
    for (const [file, { after }] of plan.files) await writeFile(path.join(root, file), after);
    if (flags.output !== "json") {
      for (const e of plan.edits)
        process.stdout.write(`pinned ${e.file}:${e.line} ${e.image} → ${e.digest}\n`);
      if (plan.edits.length === 0) process.stdout.write("every image is pinned by digest already\n");
    }
    return ExitCode.Ok;
  }
  if (flags.output !== "json") {
    for (const [file, { before, after }] of plan.files) {
      process.stdout.write(
        createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, {
          context: 3,
          headerOptions: FILE_HEADERS_ONLY,
        }),
      );
    }
  }
  return ExitCode.Ok;
}

export function registerImagesPin(program: Command): void {
  const images = program.commands.find((c) => c.name() === "images");
  if (images === undefined) throw new Error("registerImagesPin: register the images command first");
  const cmd = images
    .command("pin")
    .description(
      "Resolve every image tag of the objects PATH renders to (as `gitward check` renders it) to its digest " +
        "and pin it in the source: `image:` values become repo:tag@sha256:..., kustomize `images:` entries " +
        "get a digest:. Prints a unified diff, or edits the files with --write (comments and layout kept). " +
        "An image that cannot be resolved stops it with nothing written.\n" +
        "Exit 0 pinned or nothing to pin, 1 an image could not be pinned, 2 usage or configuration error.",
    )
    .argument("<path>", "folder to render (the repository root is the nearest folder with .git above it)")
    .option("--write", "edit the source files in place instead of printing a diff");
  addRenderOptions(cmd);
  addRegistryFlags(cmd)
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["patch", "json"]).default("patch"),
    )
    .action(async (target: string, flags: PinFlags) => {
      process.exitCode = await runPin(target, flags);
    });
}
