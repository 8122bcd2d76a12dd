// Path globs for the directory renderer's include/exclude lists (spec.render.include / exclude, check's
// --include / --exclude). The patterns come from a repository or an Application, so they are bounded and
// matched without backtracking: no RegExp is built (a picomatch RegExp for "a*a*a*...b" runs for minutes
// on a long name), each segment is matched in O(pattern × name) and "**" by a table over the segments.
// TODO(regex-scanner): compileGlobs is the one entry point; swap its body for the shared linear glob
// matcher module when it lands, keeping these limits and this syntax.

export const GLOB_LIMITS = { maxPatterns: 64, maxPatternLength: 256 } as const;

export type GlobMatcher = (relPath: string) => boolean;

export type GlobResult = { ok: true; match: GlobMatcher } | { ok: false; message: string };

/** One character position of a segment pattern: "*" (any run), or a test for a single character. */
type Token = { star: true } | { star: false; test: (c: string) => boolean };

/** A path segment pattern; "**" (globstar) matches any number of whole segments. */
type Segment = "**" | readonly Token[];

/** "[abc]", "[a-z]", "[!x]" starting at `i` (just after "["): the test and the index after "]". */
function parseClass(p: string, i: number): { test: (c: string) => boolean; next: number } | undefined {
  let j = i;
  const negate = p[j] === "!" || p[j] === "^";
  if (negate) j++;
  const ranges: [string, string][] = [];
  let first = true;
  while (j < p.length && (p[j] !== "]" || first)) {
    first = false;
    const lo = p[j] as string;
    if (p[j + 1] === "-" && j + 2 < p.length && p[j + 2] !== "]") {
      ranges.push([lo, p[j + 2] as string]);
      j += 3;
    } else {
      ranges.push([lo, lo]);
      j++;
    }
  }
  if (j >= p.length) return undefined;
  const test = (c: string): boolean => ranges.some(([a, b]) => c >= a && c <= b) !== negate;
  return { test, next: j + 1 };
}

function parseSegment(s: string): Segment | { error: string } {
  if (s === "**") return "**";
  const tokens: Token[] = [];
  for (let i = 0; i < s.length;) {
    const c = s[i] as string;
    if (c === "*") {
      // "a**b" inside a segment is the same as "a*b"; consecutive stars collapse.
      if (tokens.at(-1)?.star !== true) tokens.push({ star: true });
      i++;
    } else if (c === "?") {
      tokens.push({ star: false, test: () => true });
      i++;
    } else if (c === "[") {
      const cls = parseClass(s, i + 1);
      if (cls === undefined) return { error: `unclosed "[" in "${s}"` };
      tokens.push({ star: false, test: cls.test });
      i = cls.next;
    } else {
      const lit = c === "\\" && i + 1 < s.length ? (s[i + 1] as string) : c;
      tokens.push({ star: false, test: (x) => x === lit });
      i += c === "\\" && i + 1 < s.length ? 2 : 1;
    }
  }
  return tokens;
}

/** Wildcard match of one segment: greedy with one backtrack point, O(tokens × name), never exponential. */
function matchSegment(tokens: readonly Token[], name: string): boolean {
  let t = 0;
  let n = 0;
  let starT = -1;
  let starN = 0;
  while (n < name.length) {
    const tok = tokens[t];
    if (tok !== undefined && !tok.star && tok.test(name[n] as string)) {
      t++;
      n++;
    } else if (tok?.star === true) {
      starT = t++;
      starN = n;
    } else if (starT >= 0) {
      t = starT + 1;
      n = ++starN;
    } else {
      return false;
    }
  }
  while (tokens[t]?.star === true) t++;
  return t === tokens.length;
}

/** Segments against segments; reach[j] is whether the pattern so far can end right before name segment j. */
function matchPath(pattern: readonly Segment[], names: readonly string[]): boolean {
  let reach: boolean[] = names.map((_, j) => j === 0);
  reach.push(names.length === 0);
  for (const seg of pattern) {
    const next: boolean[] = new Array<boolean>(names.length + 1).fill(false);
    if (seg === "**") {
      let any = false;
      for (let j = 0; j <= names.length; j++) {
        any ||= reach[j] === true;
        next[j] = any;
      }
    } else {
      for (let j = 0; j < names.length; j++) {
        if (reach[j] === true && matchSegment(seg, names[j] as string)) next[j + 1] = true;
      }
    }
    reach = next;
  }
  return reach[names.length] === true;
}

/**
 * One matcher for a list of globs over slash-separated paths: "*", "?" and "[a-z]" within a segment,
 * "**" for any number of segments, "\" to escape. As with the TrustPolicy's path globs, "*.yaml" matches
 * files of the top folder only ("**\/*.yaml" at any depth). Dot files match like any other.
 */
export function compileGlobs(patterns: readonly string[]): GlobResult {
  if (patterns.length > GLOB_LIMITS.maxPatterns) {
    return { ok: false, message: `more than ${GLOB_LIMITS.maxPatterns} globs` };
  }
  const compiled: Segment[][] = [];
  for (const p of patterns) {
    if (p === "" || p.length > GLOB_LIMITS.maxPatternLength) {
      return {
        ok: false,
        message: `glob "${p.slice(0, 40)}" is empty or longer than ${GLOB_LIMITS.maxPatternLength} characters`,
      };
    }
    const parts = p.split("/").filter((s) => s !== "" && s !== ".");
    const segments: Segment[] = [];
    for (const part of parts) {
      const seg = parseSegment(part);
      if (seg !== "**" && "error" in seg)
        return { ok: false, message: `glob "${p.slice(0, 40)}": ${seg.error}` };
      if (seg === "**" && segments.at(-1) === "**") continue;
      segments.push(seg);
    }
    compiled.push(segments);
  }
  return {
    ok: true,
    match: (relPath) => {
      const names = relPath.split("/").filter((s) => s !== "");
      return compiled.some((c) => matchPath(c, names));
    },
  };
}
