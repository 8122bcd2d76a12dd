// Path globs for the directory renderer's include/exclude lists (spec.render.include / exclude, check's
// --include / --exclude). The patterns come from a repository or an Application, so they are bounded in
// number and length, and matched through this one function so the matcher can be swapped in one place.
import picomatch from "picomatch";

export const GLOB_LIMITS = { maxPatterns: 64, maxPatternLength: 256 } as const;

export type GlobMatcher = (relPath: string) => boolean;

export type GlobResult = { ok: true; match: GlobMatcher } | { ok: false; message: string };

/**
 * One matcher for a list of globs ("**" crosses folders, "*" does not; dot files match): true when any
 * pattern matches the slash-separated path. TODO(regex-scanner): compileGlobs still builds picomatch's
 * JavaScript RegExp; swap it for the linear-time glob matcher module when it lands. Until then brace
 * expansion and extglobs, the sources of nested quantifiers and pattern blow-up, are switched off.
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
  if (patterns.length === 0) return { ok: true, match: () => false };
  const match = picomatch([...patterns], { dot: true, nobrace: true, noextglob: true });
  return { ok: true, match: (relPath) => match(relPath) };
}
