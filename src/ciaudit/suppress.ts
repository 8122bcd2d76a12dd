// Inline suppressions: `# gitward:ignore <rule-id> <reason>` at the end of the offending line, or alone on
// the line above it. The reason is required: a suppression without one, or naming a rule that does not
// exist, suppresses nothing and is itself reported, so an audit cannot be silenced by accident.
import type { CiFile } from "./types.js";

export const MARKER = "gitward:ignore";

export interface Suppression {
  readonly ruleId: string;
  readonly reason: string;
  /** The line whose findings it covers. */
  readonly line: number;
  /** The line the comment is written on. */
  readonly at: number;
  readonly column: number;
}

export interface BadSuppression {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export function readSuppressions(
  file: CiFile,
  knownRules: ReadonlySet<string>,
): { suppressions: Suppression[]; bad: BadSuppression[] } {
  const suppressions: Suppression[] = [];
  const bad: BadSuppression[] = [];
  if (!file.text.includes(MARKER)) return { suppressions, bad };
  const lines = file.text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? "";
    const at = text.indexOf(MARKER);
    if (at < 0) continue;
    const hash = text.lastIndexOf("#", at);
    if (hash < 0 || text.slice(hash + 1, at).trim() !== "") continue;
    const words = text
      .slice(at + MARKER.length)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== "");
    const [ruleId, ...reasonWords] = words;
    const reason = reasonWords.join(" ");
    const column = hash + 1;
    if (ruleId === undefined || !knownRules.has(ruleId)) {
      bad.push({
        line: i + 1,
        column,
        message: `${MARKER} names ${ruleId === undefined ? "no rule" : `an unknown rule "${ruleId}"`}; it suppresses nothing`,
      });
      continue;
    }
    if (reason === "") {
      bad.push({
        line: i + 1,
        column,
        message: `${MARKER} ${ruleId} gives no reason; write why the finding is accepted after the rule id`,
      });
      continue;
    }
    // A comment alone on its line covers the next line that is not a comment; a trailing one, its own line.
    const alone = text.slice(0, hash).trim() === "";
    let target = i + 1;
    if (alone) {
      let j = i + 1;
      while (j < lines.length && /^\s*(#.*)?$/.test(lines[j] ?? "")) j++;
      target = j + 1;
    }
    suppressions.push({ ruleId, reason, line: target, at: i + 1, column });
  }
  return { suppressions, bad };
}
