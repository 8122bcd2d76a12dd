// `npm run image:build [-- --out DIR --tag TAG --no-git]`: stages /app (package.json, dist/src, the
// production dependencies from `npm ci --omit=dev`, build-info.json), builds the OCI layout with
// scripts/image/build.ts and writes the SBOM and provenance predicate next to it for image:push.
// SOURCE_DATE_EPOCH defaults to the commit time of HEAD, so one commit builds one digest.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildImage } from "./image/build.js";
import { debianPackagesOf, GIT_BINARIES, sharedLibraries } from "./image/rootfs.js";
import { cycloneDx, npmPackagesOf, slsaProvenance } from "./image/sbom.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root =
  path.basename(path.dirname(here)) === "dist" ? path.resolve(here, "../..") : path.resolve(here, "..");

const git = (...args: string[]): string =>
  execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

const { values: flags } = parseArgs({
  options: {
    out: { type: "string", default: path.join(root, ".image") },
    tag: { type: "string" },
    "no-git": { type: "boolean", default: false },
  },
});

const started = performance.now();
const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
  name: string;
  version: string;
};
const commit = git("rev-parse", "HEAD");
const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
const epochText = process.env.SOURCE_DATE_EPOCH ?? git("log", "-1", "--format=%ct");
const epoch = Number(epochText);
if (!Number.isSafeInteger(epoch) || epoch < 0)
  throw new Error(`SOURCE_DATE_EPOCH is not a number: ${epochText}`);
const tag = flags.tag ?? pkg.version;
const out = path.resolve(flags.out);
let sourceUri: string;
try {
  sourceUri = git("config", "--get", "remote.origin.url");
} catch {
  sourceUri = "https://github.com/gitward/gitward";
}

// Stage /app in a fresh folder: only what runs, nothing from the developer's node_modules.
const stage = await mkdtemp(path.join(tmpdir(), "gitward-image-"));
try {
  const app = path.join(stage, "app");
  await mkdir(app);
  for (const f of ["package.json", "package-lock.json"]) await cp(path.join(root, f), path.join(app, f));
  execFileSync(
    "npm",
    ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
    {
      cwd: app,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  await cp(path.join(root, "dist", "src"), path.join(app, "dist", "src"), {
    recursive: true,
    filter: (f) => !f.endsWith(".map"),
  });
  const date = new Date(epoch * 1000);
  const buildInfo = { version: pkg.version, commit, dirty, date: date.toISOString(), sourceDateEpoch: epoch };
  await writeFile(path.join(app, "build-info.json"), `${JSON.stringify(buildInfo, null, 2)}\n`);

  const node = await realpath(path.join(root, "node_modules", "node", "bin", "node"));
  const nodeVersion = execFileSync(node, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
  const nodeSha256 = createHash("sha256")
    .update(await readFile(node))
    .digest("hex");
  const binaries = flags["no-git"] ? [] : GIT_BINARIES;
  const labels = {
    "org.opencontainers.image.title": pkg.name,
    "org.opencontainers.image.version": pkg.version,
    "org.opencontainers.image.revision": commit,
    "org.opencontainers.image.source": sourceUri,
    "org.opencontainers.image.licenses": "Apache-2.0",
  };
  const layout = path.join(out, "layout");
  const result = await buildImage({ out: layout, tag, epoch, app, node, binaries, labels });

  const hostFiles = [...new Set([node, ...binaries.map((b) => b.from)].flatMap(sharedLibraries))];
  const sbom = cycloneDx({
    image: { name: pkg.name, version: pkg.version },
    date,
    npm: npmPackagesOf(await readFile(path.join(app, "node_modules", ".package-lock.json"), "utf8")),
    node: { version: nodeVersion, sha256: nodeSha256 },
    debian: debianPackagesOf([...binaries.map((b) => b.from), ...hostFiles]),
  });
  const lockfileSha256 = createHash("sha256")
    .update(await readFile(path.join(root, "package-lock.json")))
    .digest("hex");
  const provenance = slsaProvenance({
    source: { uri: sourceUri, commit, dirty },
    sourceDateEpoch: epoch,
    tag,
    lockfileSha256,
    node: { version: nodeVersion, sha256: nodeSha256 },
  });
  await writeFile(path.join(out, "sbom.cdx.json"), sbom);
  await writeFile(path.join(out, "provenance.json"), `${JSON.stringify(provenance, null, 2)}\n`);
  const summary = { layout, tag, digest: result.digest, layers: result.layers, seconds: 0 };
  summary.seconds = Math.round((performance.now() - started) / 100) / 10;
  await writeFile(
    path.join(out, "build.json"),
    `${JSON.stringify({ layout, tag, digest: result.digest }, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} finally {
  await rm(stage, { recursive: true, force: true });
}
