// Alpine (apk-tools 3) version order, after apk-tools' src/version.c: digit{.digit}...{letter}{_suffix{N}}
// ...{~hash}{-rN}. Suffixes order _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p;
// a dotted part with a leading zero compares as a string (the Gentoo rule), other numbers as numbers.
// When one version is a prefix of the other, the longer is newer unless it continues with a pre-release.

/** Token kinds in apk's order: when two versions differ in kind, the higher kind is the older version. */
const T = {
  InitialDigit: 0,
  Digit: 1,
  Letter: 2,
  Suffix: 3,
  SuffixNo: 4,
  CommitHash: 5,
  RevisionNo: 6,
  End: 7,
  Invalid: 8,
} as const;
type Kind = (typeof T)[keyof typeof T];

/** Suffix ranks: 5 is "no suffix"; below it pre-releases, above it post-releases. */
const SUFFIX_RANK: Readonly<Record<string, number>> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const NO_SUFFIX = 5;

interface Token {
  kind: Kind;
  /** The token's text (digits, letter, suffix name or hash). */
  text: string;
  /** Digits as a number (BigInt: snapshot timestamps overflow 2^53), or the suffix rank. */
  num: bigint;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isLower = (c: string | undefined): boolean => c !== undefined && c >= "a" && c <= "z";
const isHex = (c: string | undefined): boolean => isDigit(c) || (c !== undefined && c >= "a" && c <= "f");

/** Reads the tokens of one version string one at a time, as apk compares them. */
class Tokenizer {
  private pos = 0;
  private readonly s: string;
  readonly t: Token = { kind: T.InitialDigit, text: "", num: 0n };

  constructor(s: string) {
    this.s = s;
    this.digits(T.InitialDigit);
  }

  private span(ok: (c: string | undefined) => boolean): string {
    const start = this.pos;
    while (this.pos < this.s.length && ok(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private digits(kind: Kind): void {
    const text = this.span(isDigit);
    this.t.kind = text === "" ? T.Invalid : kind;
    this.t.text = text;
    this.t.num = text === "" ? 0n : BigInt(text);
  }

  /** Moves to the next token; a token that may not follow the previous one makes the rest invalid. */
  next(): void {
    const prev = this.t.kind;
    const c = this.s[this.pos];
    if (c === undefined) {
      this.t.kind = T.End;
      return;
    }
    if (isLower(c)) {
      if (prev > T.Digit) {
        this.invalid();
        return;
      }
      this.t.kind = T.Letter;
      this.t.text = c;
      this.t.num = BigInt(c.charCodeAt(0));
      this.pos++;
    } else if (c === "." || isDigit(c)) {
      if (c === "." && prev > T.Digit) {
        this.invalid();
        return;
      }
      if (c === ".") this.pos++;
      if (prev === T.InitialDigit || prev === T.Digit) this.digits(T.Digit);
      else if (prev === T.Suffix) this.digits(T.SuffixNo);
      else this.invalid();
    } else if (c === "_") {
      if (prev > T.SuffixNo) {
        this.invalid();
        return;
      }
      this.pos++;
      const name = this.span(isLower);
      const rank = SUFFIX_RANK[name];
      if (rank === undefined) {
        this.invalid();
        return;
      }
      this.t.kind = T.Suffix;
      this.t.text = name;
      this.t.num = BigInt(rank);
    } else if (c === "~") {
      if (prev >= T.CommitHash) {
        this.invalid();
        return;
      }
      this.pos++;
      const hash = this.span(isHex);
      if (hash === "") {
        this.invalid();
        return;
      }
      this.t.kind = T.CommitHash;
      this.t.text = hash;
    } else if (c === "-") {
      if (prev >= T.RevisionNo || this.s[this.pos + 1] !== "r") {
        this.invalid();
        return;
      }
      this.pos += 2;
      this.digits(T.RevisionNo);
    } else this.invalid();
  }

  private invalid(): void {
    this.t.kind = T.Invalid;
  }
}

/** Two tokens of the same kind. */
function compareToken(a: Token, b: Token): number {
  const numeric =
    a.kind === T.InitialDigit ||
    a.kind === T.SuffixNo ||
    a.kind === T.RevisionNo ||
    a.kind === T.Letter ||
    a.kind === T.Suffix ||
    (a.kind === T.Digit && !a.text.startsWith("0") && !b.text.startsWith("0"));
  if (numeric) return a.num < b.num ? -1 : a.num > b.num ? 1 : 0;
  // Byte order, a prefix first (apk_blob_sort).
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

/** -1, 0 or 1 as `apk version -t a b` answers <, = or >. */
export function compareApk(a: string, b: string): number {
  const x = new Tokenizer(a);
  const y = new Tokenizer(b);
  while (x.t.kind === y.t.kind && x.t.kind < T.End) {
    const r = compareToken(x.t, y.t);
    if (r !== 0) return r;
    x.next();
    y.next();
  }
  if (x.t.kind === y.t.kind) return 0;
  if (x.t.kind === T.Suffix && x.t.num < NO_SUFFIX) return -1;
  if (y.t.kind === T.Suffix && y.t.num < NO_SUFFIX) return 1;
  return x.t.kind > y.t.kind ? -1 : 1;
}
