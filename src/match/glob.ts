// Globs from outside (a signer's `paths`, `expectedRefs`, secrets-allowlist lines) translated into an RE2
// pattern and matched by re2js, in time linear in the path. Hand-written because picomatch compiles globs to
// a backtracking RegExp (`apps/*/*-*-*-*.yaml` against a 1,000-character name ran 81 s) and no kept library
// emits RE2 syntax. Paths are git paths: `*` and `?` stop at `/`, dot files match (picomatch's `dot: true`).
import { compileUntrustedRegex, PatternErrorCode, type PatternError } from "./regex.js";

export interface GlobMatcher {
  readonly glob: string;
  /** True when the whole path matches the glob. */
  matches(path: string): boolean;
}

export type CompiledGlob = { ok: true; matcher: GlobMatcher } | { ok: false; error: PatternError };

export const GLOB_LIMITS = { maxChars: 1000, maxBraceDepth: 10 } as const;

const POSIX_CLASSES = new Set([
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
]);

/** Thrown inside translate() only, turned into a PatternError by compileGlob. */
class GlobSyntax extends Error {}

/**
 * Supported: `*` (within a segment), `**` as a whole segment (any number of segments, also none), `?`,
 * `[abc]`, `[a-z]`, `[!a]`/`[^a]`, `[[:alpha:]]`, `{a,b}` (nestable) and `\` escapes. Refused, so nothing
 * is matched differently from what its author meant: `!` negation, extglobs `@(…)`, brace ranges `{1..3}`.
 */
export function compileGlob(glob: string, where: string): CompiledGlob {
  const refuse = (message: string): CompiledGlob => ({
    ok: false,
    error: { code: PatternErrorCode.InvalidGlob, where, message: `glob ${JSON.stringify(glob)}: ${message}` },
  });
  if (glob.length > GLOB_LIMITS.maxChars) return refuse(`longer than ${GLOB_LIMITS.maxChars} characters`);
  let source: string;
  try {
    source = translate(glob);
  } catch (err) {
    if (err instanceof GlobSyntax) return refuse(err.message);
    throw err;
  }
  const re = compileUntrustedRegex(source, where);
  if (!re.ok) return refuse(re.error.message);
  const { regex } = re;
  return { ok: true, matcher: { glob, matches: (path) => regex.matchesWhole(path) } };
}

/** Compiles several globs into one "any of them" matcher, or every error (each naming `where(i)`). */
export function compileGlobs(
  globs: readonly string[],
  where: (index: number) => string,
): { ok: true; matches: (path: string) => boolean } | { ok: false; errors: PatternError[] } {
  const matchers: GlobMatcher[] = [];
  const errors: PatternError[] = [];
  globs.forEach((g, i) => {
    const c = compileGlob(g, where(i));
    if (c.ok) matchers.push(c.matcher);
    else errors.push(c.error);
  });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, matches: (path) => matchers.some((m) => m.matches(path)) };
}

interface Brace {
  commas: number;
  /** Whether the brace opened at the start of a segment (each alternative starts there too). */
  atStart: boolean;
}

function translate(input: string): string {
  let g = input;
  while (g.startsWith("./")) g = g.slice(2);
  if (g === "") throw new GlobSyntax("is empty");
  if (g.startsWith("!"))
    throw new GlobSyntax("negation (a leading !) is not supported; list the paths that are meant");
  let out = "";
  let atStart = true;
  /** out.length just after the last `/` separator emitted, to fold `a/**` into "a, or below a". */
  let afterSlash = -1;
  const braces: Brace[] = [];
  let i = 0;
  while (i < g.length) {
    const c = g.charAt(i);
    const next = g.charAt(i + 1);
    if ("@+!?*".includes(c) && next === "(")
      throw new GlobSyntax(`extglobs like ${c}(…) are not supported; use {a,b} for alternatives`);
    if (c === "\\") {
      if (next === "") throw new GlobSyntax("ends with a lone \\");
      out += literal(next);
      i += 2;
      atStart = false;
      continue;
    }
    if (c === "*") {
      let j = i;
      while (g.charAt(j) === "*") j++;
      const after = g.charAt(j);
      if (after === "(") throw new GlobSyntax("extglobs like *(…) are not supported");
      const endsSegment =
        after === "" || after === "/" || (braces.length > 0 && (after === "}" || after === ","));
      if (j - i >= 2 && atStart && endsSegment) {
        if (after === "/") {
          out += "(?:[^/]*/)*";
          i = j + 1;
          atStart = true;
          continue;
        }
        // A trailing `/**` also matches the folder itself, as picomatch does ("a/**" matches "a").
        if (afterSlash === out.length) out = out.slice(0, -1) + "(?:/.*)?";
        else out += ".*";
      } else {
        // A whole segment of `*` needs one character ("a/*" does not match "a/"); inside one, none.
        out += atStart && endsSegment ? "[^/]+" : "[^/]*";
      }
      i = j;
      atStart = false;
      continue;
    }
    if (c === "?") {
      out += "[^/]";
      atStart = false;
    } else if (c === "[") {
      const cls = bracket(g, i);
      out += cls.source;
      i = cls.end;
      atStart = false;
      continue;
    } else if (c === "{") {
      if (braces.length >= GLOB_LIMITS.maxBraceDepth)
        throw new GlobSyntax(`braces nest deeper than ${GLOB_LIMITS.maxBraceDepth}`);
      braces.push({ commas: 0, atStart });
      out += "(?:";
    } else if (c === "," && braces.length > 0) {
      const top = braces[braces.length - 1] as Brace;
      top.commas++;
      out += "|";
      atStart = top.atStart;
    } else if (c === "}" && braces.length > 0) {
      const top = braces.pop() as Brace;
      if (top.commas === 0)
        throw new GlobSyntax("a brace needs a comma ({a,b}); ranges like {1..3} are not supported");
      out += ")";
      atStart = false;
    } else if (c === "(" || c === ")" || c === "|") {
      throw new GlobSyntax(
        `${c} is not glob syntax here; write {a,b} for alternatives, or escape it with \\`,
      );
    } else if (c === "/") {
      out += "/";
      afterSlash = out.length;
      atStart = true;
    } else {
      out += literal(c);
      atStart = false;
    }
    i++;
  }
  if (braces.length > 0) throw new GlobSyntax("has an unclosed {");
  return out;
}

/** Translates the bracket expression starting at `start` (a `[`); returns its RE2 class and where it ends. */
function bracket(g: string, start: number): { source: string; end: number } {
  let j = start + 1;
  let negate = false;
  if (g.charAt(j) === "!" || g.charAt(j) === "^") {
    negate = true;
    j++;
  }
  let items = "";
  let first = true;
  for (;;) {
    const c = g.charAt(j);
    if (c === "") throw new GlobSyntax("has an unclosed [; escape a literal [ with \\");
    if (c === "]" && !first) break;
    first = false;
    if (c === "[" && g.charAt(j + 1) === ":") {
      const close = g.indexOf(":]", j + 2);
      const name = close < 0 ? "" : g.slice(j + 2, close);
      if (!POSIX_CLASSES.has(name)) throw new GlobSyntax(`[:${name}:] is not a character class`);
      items += `[:${name}:]`;
      j = close + 2;
      continue;
    }
    if (c === "\\") {
      const e = g.charAt(j + 1);
      if (e === "") throw new GlobSyntax("ends with a lone \\");
      items += literal(e);
      j += 2;
      continue;
    }
    items += c === "-" ? "-" : literal(c);
    j++;
  }
  // A class never matches the separator, whatever it lists: `*` and `?` do not cross segments either.
  return { source: negate ? `[^/${items}]` : `(?:[${items}])`, end: j + 1 };
}

/** One character as an RE2 literal (ASCII punctuation escaped; RE2 accepts `\` before any of it). */
function literal(c: string): string {
  return /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(c) ? `\\${c}` : c;
}
