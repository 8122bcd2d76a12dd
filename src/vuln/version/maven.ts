// Maven version order (maven-artifact's ComparableVersion, as the POM reference's "Version Order
// Specification" describes it): items split at "." and "-" and at digit/letter transitions; "-" and a
// transition open a sub-list; numbers compare as numbers; qualifiers alpha < beta < milestone < rc <
// snapshot < "" (ga, final, release) < sp < any other (alphabetically); trailing "null" items are dropped.
type Item =
  | { readonly k: "int"; readonly v: string }
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "list"; readonly v: Item[] };

const QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const ALIASES: Readonly<Record<string, string>> = { ga: "", final: "", release: "", cr: "rc" };
const SHORT: Readonly<Record<string, string>> = { a: "alpha", b: "beta", m: "milestone" };

function qualifier(v: string): string {
  const i = QUALIFIERS.indexOf(v);
  // Unknown qualifiers sort after all known ones, among themselves alphabetically.
  return i < 0 ? `${QUALIFIERS.length}-${v}` : String(i);
}

function stringItem(v: string, followedByDigit: boolean): Item {
  const expanded = followedByDigit ? (SHORT[v] ?? v) : v;
  return { k: "str", v: ALIASES[expanded] ?? expanded };
}

function isNull(i: Item): boolean {
  if (i.k === "int") return /^0+$/u.test(i.v);
  if (i.k === "str") return i.v === "";
  return i.v.length === 0;
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i] as Item;
    if (isNull(item)) list.splice(i, 1);
    else if (item.k !== "list") break;
  }
}

export function parseMaven(text: string): Item {
  const version = text.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  let isDigit = false;
  let start = 0;
  const item = (end: number, followedByDigit = false): Item => {
    const s = version.slice(start, end);
    return isDigit ? { k: "int", v: s.replace(/^0+(?=.)/u, "") } : stringItem(s, followedByDigit);
  };
  const open = (): void => {
    const sub: Item[] = [];
    list.push({ k: "list", v: sub });
    list = sub;
    stack.push(sub);
  };
  for (let i = 0; i < version.length; i++) {
    const c = version[i] as string;
    if (c === "." || c === "-") {
      list.push(i === start ? { k: "int", v: "0" } : item(i));
      start = i + 1;
      if (c === "-") open();
    } else if (c >= "0" && c <= "9") {
      if (!isDigit && i > start) {
        list.push(item(i, true));
        start = i;
        open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(item(i));
        start = i;
        open();
      }
      isDigit = false;
    }
  }
  if (version.length > start) list.push(item(version.length));
  for (let l = stack.pop(); l !== undefined; l = stack.pop()) normalize(l);
  return { k: "list", v: root };
}

function compareItem(a: Item, b: Item | undefined): number {
  switch (a.k) {
    case "int":
      if (b === undefined) return isNull(a) ? 0 : 1;
      if (b.k !== "int") return 1;
      if (a.v.length !== b.v.length) return a.v.length < b.v.length ? -1 : 1;
      return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
    case "str": {
      if (b !== undefined && b.k !== "str") return -1;
      const x = qualifier(a.v);
      const y = qualifier(b === undefined ? "" : b.v);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case "list": {
      if (b === undefined) {
        for (const i of a.v) {
          const r = compareItem(i, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      if (b.k === "int") return -1;
      if (b.k === "str") return 1;
      for (let i = 0; i < Math.max(a.v.length, b.v.length); i++) {
        const l = a.v[i];
        const r = b.v[i];
        const d = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (d !== 0) return d;
      }
      return 0;
    }
  }
}

export function compareMaven(a: string, b: string): number {
  return compareItem(parseMaven(a), parseMaven(b));
}
