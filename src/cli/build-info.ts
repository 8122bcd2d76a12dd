// What this gitward is: version, git commit and build date. The image build writes them into one file,
// build-info.json at the package root (scripts/build-image.ts, date from SOURCE_DATE_EPOCH); in a
// checkout the file is absent, and the version comes from package.json and the commit from git, read
// defensively (a missing git or a tarball without .git gives "unknown", never an error).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface BuildInfo {
  version: string;
  commit: string;
  /** Working tree had uncommitted changes when built (checkout: now). */
  dirty: boolean;
  /** ISO date of SOURCE_DATE_EPOCH for an image build; undefined for a checkout. */
  date?: string;
  node: string;
  platform: string;
}

/** The package root: dist/src/cli/ → three levels up (also when run from src/ by tests: two). */
function packageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.basename(path.resolve(here, "../..")) === "dist" ? "../../.." : "../..";
  return path.resolve(here, up);
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function gitOf(root: string, args: string[]): string | undefined {
  try {
    return execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 2000,
    }).trim();
  } catch {
    return undefined;
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached !== undefined) return cached;
  const root = packageRoot();
  const file = readJson(path.join(root, "build-info.json"));
  const pkg = readJson(path.join(root, "package.json"));
  const base = { node: process.version, platform: `${process.platform}/${process.arch}` };
  const version = str(file?.["version"]) ?? str(pkg?.["version"]) ?? "unknown";
  if (file !== undefined) {
    const date = str(file["date"]);
    cached = {
      version,
      commit: str(file["commit"]) ?? "unknown",
      dirty: file["dirty"] === true,
      ...(date === undefined ? {} : { date }),
      ...base,
    };
  } else {
    const commit = gitOf(root, ["rev-parse", "HEAD"]);
    const status =
      commit === undefined ? undefined : gitOf(root, ["status", "--porcelain", "--untracked-files=no"]);
    cached = { version, commit: commit ?? "unknown", dirty: status !== undefined && status !== "", ...base };
  }
  return cached;
}

/** One line for `--version`: "0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-03T14:31:14Z, node v24.21.0)". */
export function versionLine(info: BuildInfo = buildInfo()): string {
  const commit =
    info.commit === "unknown"
      ? "commit unknown"
      : `commit ${info.commit.slice(0, 12)}${info.dirty ? "+dirty" : ""}`;
  const built = info.date === undefined ? "not a release build" : `built ${info.date}`;
  return `${info.version} (${commit}, ${built}, node ${info.node})`;
}
