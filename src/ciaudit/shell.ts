// Reading shell commands out of CI scripts: split into lines, find a command's sub-command after its
// flags. Scripts are attacker-influenced text; everything here is a single left-to-right pass or a regex
// without nested quantifiers, so the cost stays linear in the script's length.

export interface ScriptLine {
  readonly text: string;
}

/** The script's logical lines: continuation backslashes joined, comments and blank lines dropped. */
export function scriptLines(text: string): string[] {
  const out: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " ";
      continue;
    }
    current += line;
    const t = current.trim();
    if (t !== "" && !t.startsWith("#")) out.push(t);
    current = "";
  }
  if (current.trim() !== "") out.push(current.trim());
  return out;
}

/** Splits a command line into words on white space, `;`, `&&`, `||` and `|` (quotes kept as written). */
export function words(line: string): string[] {
  return line.split(/[\s;|&()]+/).filter((w) => w !== "");
}

/**
 * The sub-commands that follow `tool` on a line (`kubectl -n prod apply -f x` gives ["apply", "-f"...]
 * with flags skipped). Flags in `valueFlags` take the next word as their value.
 */
export function subcommands(line: string, tool: string, valueFlags: ReadonlySet<string>): string[][] {
  // Most lines do not name the tool at all: skip splitting them (rules ask for several tools per line).
  if (!line.includes(tool)) return [];
  const ws = words(line);
  const out: string[][] = [];
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i] ?? "";
    if (w !== tool && !w.endsWith("/" + tool)) continue;
    const rest: string[] = [];
    for (let j = i + 1; j < ws.length && rest.length < 3; j++) {
      const v = ws[j] ?? "";
      if (v.startsWith("-")) {
        if (!v.includes("=") && valueFlags.has(v)) j++;
        continue;
      }
      rest.push(v);
    }
    out.push(rest);
  }
  return out;
}

export type QuoteState = "none" | "single" | "double";

/**
 * Where `$NAME` / `${NAME}` of a variable in `names` appear on a line and whether each is quoted. One pass
 * that tracks quotes and backslashes as POSIX sh does for a single line.
 */
export function variableUses(
  line: string,
  names: ReadonlySet<string>,
): { name: string; index: number; quote: QuoteState }[] {
  const out: { name: string; index: number; quote: QuoteState }[] = [];
  let quote: QuoteState = "none";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && quote !== "single") {
      i++;
      continue;
    }
    if (c === "'" && quote !== "double") quote = quote === "single" ? "none" : "single";
    else if (c === '"' && quote !== "single") quote = quote === "double" ? "none" : "double";
    else if (c === "$") {
      let j = i + 1;
      const braced = line[j] === "{";
      if (braced) j++;
      const start = j;
      while (j < line.length && /[A-Za-z0-9_]/.test(line[j] ?? "")) j++;
      const name = line.slice(start, j);
      if (names.has(name)) out.push({ name, index: i, quote });
    }
  }
  return out;
}
