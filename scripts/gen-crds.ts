// Writes deploy/crds/*.yaml from the configuration schemas (src/config/crds.ts).
// Run with `npm run gen:crds` after changing src/config/schema.ts; test/config/crds.test.ts fails until then.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderCrdFiles } from "../src/config/crds.js";

// This file runs from dist/scripts/ after the build; the repository root is two levels above it.
const here = path.dirname(fileURLToPath(import.meta.url));
const root =
  path.basename(path.dirname(here)) === "dist" ? path.resolve(here, "../..") : path.resolve(here, "..");
const dir = path.join(root, "deploy", "crds");
await mkdir(dir, { recursive: true });
for (const [name, text] of Object.entries(renderCrdFiles())) {
  await writeFile(path.join(dir, name), text);
  process.stdout.write(`wrote ${path.relative(root, path.join(dir, name))}\n`);
}
