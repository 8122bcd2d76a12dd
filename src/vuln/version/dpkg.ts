// Debian version order, as deb-version(7) defines it: [epoch:]upstream[-revision]; the epoch compares as a
// number, then upstream and revision each by alternating non-digit runs (character by character, `~`
// before everything, even the end; letters before non-letters) and digit runs (as numbers).

/** The three parts of a Debian version; a missing epoch is 0 and a missing revision is "". */
export interface DebVersion {
  readonly epoch: string;
  readonly upstream: string;
  readonly revision: string;
}

export function parseDebVersion(text: string): DebVersion {
  const v = text.trim();
  const colon = v.indexOf(":");
  // dpkg refuses a non-numeric epoch; here it weighs as 0 so that one bad record cannot stop a scan.
  const epoch = colon >= 0 && /^[0-9]+$/u.test(v.slice(0, colon)) ? v.slice(0, colon) : "0";
  const rest = colon >= 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash < 0
    ? { epoch, upstream: rest, revision: "" }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isLetter = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");

/** The weight of one character in a non-digit run; the end of the run (and a digit) weighs 0. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === "~") return -1;
  const code = c.charCodeAt(0);
  return isLetter(c) ? code : code + 256;
}

/** Compares two digit runs as numbers of any length (leading zeros do not count). */
export function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/u, "");
  const y = b.replace(/^0+/u, "");
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** One of upstream or revision, by deb-version(7)'s alternating runs. */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run.
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const wa = weight(a[i]);
      const wb = weight(b[j]);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    // Digit run.
    const si = i;
    while (isDigit(a[i])) i++;
    const sj = j;
    while (isDigit(b[j])) j++;
    const d = compareDigits(a.slice(si, i), b.slice(sj, j));
    if (d !== 0) return d;
  }
  return 0;
}

/** -1, 0 or 1 as `dpkg --compare-versions a lt|eq|gt b` would answer. */
export function compareDeb(a: string, b: string): number {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  return (
    compareDigits(x.epoch, y.epoch) ||
    compareFragment(x.upstream, y.upstream) ||
    compareFragment(x.revision, y.revision)
  );
}
