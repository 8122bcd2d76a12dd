// The one way gitward runs a regular expression that comes from outside (a repository file, a TrustPolicy,
// an option): compiled by re2js, an RE2 engine whose matching time is linear in the input, never by the
// backtracking JavaScript RegExp. Patterns RE2 cannot run (backreferences, lookaround) are refused.
import { RE2JS, RE2JSException } from "re2js";

export const PatternErrorCode = {
  /** Not a regular expression at all (unbalanced parenthesis, bad repeat...). */
  InvalidRegex: "INVALID_REGEX",
  /** Valid JavaScript, but needs a backtracking engine (backreference, lookahead/lookbehind). */
  UnsupportedRegex: "UNSUPPORTED_REGEX",
  /** Longer or bigger once compiled than we run for one rule. */
  RegexTooLarge: "REGEX_TOO_LARGE",
  /** A glob gitward does not understand (negation, extglob, brace range, unclosed bracket...). */
  InvalidGlob: "INVALID_GLOB",
} as const;
export type PatternErrorCode = (typeof PatternErrorCode)[keyof typeof PatternErrorCode];

/** Why a pattern was refused; `where` names the file and line (or object field) it came from. */
export interface PatternError {
  readonly code: PatternErrorCode;
  readonly where: string;
  readonly message: string;
}

/** A compiled pattern from outside; `test` searches anywhere in the text, like RegExp.prototype.test. */
export interface UntrustedRegex {
  readonly source: string;
  test(text: string): boolean;
  /** True when the whole text matches (for globs compiled to RE2). */
  matchesWhole(text: string): boolean;
}

export type CompiledRegex = { ok: true; regex: UntrustedRegex } | { ok: false; error: PatternError };

/** Bounds that keep one pattern's per-character cost small: RE2 is linear in text × program size. */
export const REGEX_LIMITS = { maxPatternChars: 1000, maxProgramSize: 20_000 } as const;

/**
 * Compiles `pattern` (RE2 syntax, which is JavaScript's without backreferences and lookaround) for use on
 * text from outside. Never throws: a refused pattern comes back as a coded error naming `where`.
 */
export function compileUntrustedRegex(pattern: string, where: string): CompiledRegex {
  const refuse = (code: PatternErrorCode, message: string): CompiledRegex => ({
    ok: false,
    error: { code, where, message },
  });
  if (pattern.length > REGEX_LIMITS.maxPatternChars) {
    return refuse(
      PatternErrorCode.RegexTooLarge,
      `is a regular expression of ${pattern.length} characters, more than ${REGEX_LIMITS.maxPatternChars}`,
    );
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const why = err instanceof RE2JSException ? err.message : String(err);
    // Compiling (not running) a JavaScript RegExp is safe: it tells "valid but needs backtracking" apart
    // from "not a regular expression", so the message can say what to change.
    if (compilesAsJavaScript(pattern)) {
      return refuse(
        PatternErrorCode.UnsupportedRegex,
        `is a regular expression that needs a backtracking engine (${why}); gitward runs RE2, which has no ` +
          `backreferences (\\1), lookahead or lookbehind ((?=, (?!, (?<=, (?<!) and no \\u escapes ` +
          `(write \\x{41}): rewrite it without them`,
      );
    }
    return refuse(PatternErrorCode.InvalidRegex, `is not a valid regular expression (RE2 syntax): ${why}`);
  }
  if (re.programSize() > REGEX_LIMITS.maxProgramSize) {
    return refuse(
      PatternErrorCode.RegexTooLarge,
      `is a regular expression that compiles to ${re.programSize()} instructions, more than ` +
        `${REGEX_LIMITS.maxProgramSize}; use smaller repeat counts`,
    );
  }
  return {
    ok: true,
    regex: {
      source: pattern,
      test: (text) => re.test(text),
      matchesWhole: (text) => re.testExact(text),
    },
  };
}

function compilesAsJavaScript(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}
