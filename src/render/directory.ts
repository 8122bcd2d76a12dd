// The `directory` renderer: every *.yaml, *.yml and *.json file below a folder of the repository,
// multi-document files included, each object keeping its file and line; `select` narrows the files by
// their path below the folder (spec.render.include / exclude).
import path from "node:path";
import { parseManifests } from "./parse.js";
import { readConfined, walk } from "./files.js";
import { relToRoot } from "./confine.js";
import {
  RenderErrorCode,
  renderError,
  type Manifest,
  type RenderError,
  type RenderLimits,
  type RenderResult,
} from "./types.js";

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Renders the folder `dir` (a real path inside the real repository root `root`). */
export async function renderDirectory(
  root: string,
  dir: string,
  limits: RenderLimits,
  select: (relPath: string) => boolean = () => true,
): Promise<RenderResult> {
  const walked = await walk(root, dir, (name) => MANIFEST_FILE.test(name));
  const { errors } = walked;
  const files = walked.files.filter((f) => select(path.relative(dir, f).split(path.sep).join("/")));
  const all: RenderError[] = [...errors];
  const manifests: Manifest[] = [];
  for (const file of files) {
    const read = await readConfined(root, file, limits.maxFileBytes);
    if (!read.ok) {
      all.push(read.error);
      continue;
    }
    const parsed = parseManifests(read.text, relToRoot(root, file), limits);
    all.push(...parsed.errors);
    manifests.push(...parsed.manifests);
    if (manifests.length > limits.maxObjects) {
      all.push(
        renderError(
          RenderErrorCode.TooManyDocuments,
          `the revision renders more than ${limits.maxObjects} objects; split the application`,
        ),
      );
      break;
    }
  }
  return all.length > 0 ? { ok: false, errors: all } : { ok: true, manifests };
}
