// Paths of the real tools tests use: kubectl and helm from .tools/bin (scripts/setup-tools.sh), the rest
// from the system PATH.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function toolPath(name: "kubectl" | "helm"): string {
  return path.join(repoRoot, ".tools", "bin", name);
}

/** The built CLI entry (npm test builds before running tests). */
export const cliEntry = path.join(repoRoot, "dist", "src", "cli", "main.js");
