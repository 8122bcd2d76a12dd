// Writes deploy/install/*.yaml (with kustomization.yaml) and the Helm chart deploy/chart/gitward from
// src/install/ (run with `npm run gen:install`); test/install/files.test.ts fails until then.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderChartFiles, renderInstallFiles } from "../src/install/files.js";

// This file runs from dist/scripts/ after the build; the repository root is two levels above it.
const here = path.dirname(fileURLToPath(import.meta.url));
const root =
  path.basename(path.dirname(here)) === "dist" ? path.resolve(here, "../..") : path.resolve(here, "..");
const { version } = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
  version: string;
};

async function writeAll(dir: string, files: Record<string, string>, clean: boolean): Promise<void> {
  if (clean) await rm(dir, { recursive: true, force: true });
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    process.stdout.write(`wrote ${path.relative(root, file)}\n`);
  }
}

await writeAll(path.join(root, "deploy", "install"), renderInstallFiles(), false);
await writeAll(path.join(root, "deploy", "chart", "gitward"), renderChartFiles(version), true);
