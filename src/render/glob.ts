// Path globs for the directory renderer's include/exclude lists (spec.render.include / exclude, check's
// --include / --exclude). The patterns come from a repository or an Application, so they are bounded here
// and matched by the one linear-time glob engine of src/match (RE2 via re2js, ADR 0012): no backtracking
// RegExp is ever built from them.
import { compileGlobs as compileUntrustedGlobs } from "../match/glob.js";

export const GLOB_LIMITS = { maxPatterns: 64, maxPatternLength: 256 } as const;

export type GlobMatcher = (relPath: string) => boolean;

export type GlobResult = { ok: true; match: GlobMatcher } | { ok: false; message: string };

/**
 * One matcher for a list of globs over slash-separated paths: "*", "?", "[a-z]" and "{a,b}" within a
 * segment, "**" for any number of segments, "\" to escape. As with the TrustPolicy's path globs, "*.yaml"
 * matches files of the top folder only ("**\/*.yaml" at any depth). Dot files match like any other.
 */
export function compileGlobs(patterns: readonly string[]): GlobResult {
  if (patterns.length > GLOB_LIMITS.maxPatterns) {
    return { ok: false, message: `more than ${GLOB_LIMITS.maxPatterns} globs` };
  }
  for (const p of patterns) {
    if (p === "" || p.length > GLOB_LIMITS.maxPatternLength) {
      return {
        ok: false,
        message: `glob "${p.slice(0, 40)}" is empty or longer than ${GLOB_LIMITS.maxPatternLength} characters`,
      };
    }
  }
  const compiled = compileUntrustedGlobs(patterns, (i) => `glob ${i + 1}`);
  if (!compiled.ok) return { ok: false, message: compiled.errors.map((e) => e.message).join("; ") };
  return { ok: true, match: compiled.matches };
}
