// RPM version order: rpmvercmp over [epoch:]version[-release]. Runs of digits compare as numbers and beat
// runs of letters; other characters only separate; `~` sorts before anything (even the end) and `^`
// after the end but before any further segment (rpm >= 4.15).
import { compareDigits } from "./dpkg.js";

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));
const isSeparator = (c: string | undefined): boolean =>
  c !== undefined && !isDigit(c) && !isAlpha(c) && c !== "~" && c !== "^";

/** rpmvercmp of one version or release string. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (isSeparator(a[i])) i++;
    while (isSeparator(b[j])) j++;
    const ca = a[i];
    const cb = b[j];
    if (ca === "~" || cb === "~") {
      if (ca !== "~") return 1;
      if (cb !== "~") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === "^" || cb === "^") {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== "^") return 1;
      if (cb !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (ca === undefined || cb === undefined) break;
    const numeric = isDigit(ca);
    const take = numeric ? isDigit : isAlpha;
    const si = i;
    while (take(a[i])) i++;
    const sj = j;
    while (take(b[j])) j++;
    const x = a.slice(si, i);
    const y = b.slice(sj, j);
    // A numeric segment against an alphabetic one: the numeric one is newer.
    if (y === "") return numeric ? 1 : -1;
    const d = numeric ? compareDigits(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (d !== 0) return d;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i < a.length ? 1 : -1;
}

/** Splits [epoch:]version[-release]; a missing epoch is 0. */
function parseEvr(text: string): { epoch: string; version: string; release: string | undefined } {
  const colon = text.indexOf(":");
  const epoch = colon > 0 && /^[0-9]+$/u.test(text.slice(0, colon)) ? text.slice(0, colon) : "0";
  const rest = colon > 0 ? text.slice(colon + 1) : text;
  const dash = rest.lastIndexOf("-");
  return dash < 0
    ? { epoch, version: rest, release: undefined }
    : { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

/** EVR order; a side without release compares equal on release (as rpm's rpmVersionCompare does). */
export function compareRpm(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  const e = compareDigits(x.epoch, y.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  if (x.release === undefined || y.release === undefined) return 0;
  return rpmvercmp(x.release, y.release);
}
