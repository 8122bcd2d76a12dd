// Exit codes that scripts can rely on, the same for every command.
export const ExitCode = {
  /** Everything checked out. */
  Ok: 0,
  /** The command ran and found problems (untrusted commits, policy findings, a broken audit chain...). */
  Findings: 1,
  /** Usage or configuration error: nothing was checked. */
  Usage: 2,
  /**
   * The command ran, found nothing wrong, but cannot vouch for the result: `audit verify` of a log whose
   * records are unsigned or were checked without --key (anyone who can write the file can recompute a
   * hash chain), and `diff` of a revision that reconcile would refuse (1 already means "differences",
   * as with kubectl diff).
   */
  Unproven: 3,
  /**
   * An internal error: something gitward did not expect (a bug, or the environment failing under it, such
   * as stdout closed). 70 is EX_SOFTWARE of sysexits.h, so it cannot be taken for a verdict.
   */
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The codes as --help lists them. */
export const EXIT_CODES_HELP =
  "Exit codes: 0 ok, 1 the check found problems (diff: differences), 2 usage or configuration error, " +
  "3 not proven (audit verify: unsigned log or no --key; diff: the revision would be refused), " +
  "70 internal error (unexpected; run again with --debug for the details and report it).";
