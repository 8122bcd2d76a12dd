// The shapes of a CI audit: the parsed CI files a rule reads, the rules themselves and the findings they
// return. Every finding names its file (relative to the audited root), a 1-based line and column, and a rule.
import type { Document, LineCounter } from "yaml";
import type { Severity } from "../config/types.js";
import type { RenderErrorCode } from "../render/types.js";

/** What a CI file is, which decides how its jobs and steps are read. */
export type CiFileKind = "github-workflow" | "github-action" | "gitlab-ci";

export interface CiFile {
  readonly kind: CiFileKind;
  /** Path relative to the audited root, with forward slashes. */
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface CiFinding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly remediation: string;
}

/** A finding a rule reports, before the file, the fix and the default severity are filled in. */
export interface RawFinding {
  readonly at: Position;
  readonly message: string;
  /** Overrides the rule's severity when one case is worse than the usual one. */
  readonly severity?: Severity;
}

export interface CiRule {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  /** One paragraph: what the rule finds and why an attacker cares. */
  readonly explanation: string;
  readonly fix: string;
  /** Which peers' rules this one covers (zizmor, OpenSSF Scorecard, poutine), for the docs. */
  readonly peers: readonly string[];
  readonly kinds: readonly CiFileKind[];
  check(file: CiFile): RawFinding[];
}

/** A finding that `# gitward:ignore rule-id reason` suppressed. */
export interface Suppressed {
  readonly ruleId: string;
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

/** A CI file that could not be read or parsed: the audit cannot vouch for it. */
export interface CiAuditError {
  /** The render codes, so `check`'s reporter prints them: SYNTAX, FILE_TOO_LARGE, OUTSIDE_REPO, NOT_FOUND... */
  readonly code: RenderErrorCode;
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

export interface CiAuditResult {
  readonly schemaVersion: 1;
  readonly root: string;
  readonly files: readonly { file: string; kind: CiFileKind }[];
  readonly findings: readonly CiFinding[];
  readonly suppressed: readonly Suppressed[];
  readonly errors: readonly CiAuditError[];
}
