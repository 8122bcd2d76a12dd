// Exit codes that scripts can rely on, the same for every command.
export const ExitCode = {
  /** Everything checked out. */
  Ok: 0,
  /** The command ran and found problems (untrusted commits, policy findings, a broken audit chain...). */
  Findings: 1,
  /** Usage or configuration error: nothing was checked. */
  Usage: 2,
  /**
   * An internal error: something gitward did not expect (a bug, or the environment failing under it, such
   * as stdout closed). 70 is EX_SOFTWARE of sysexits.h, so it cannot be taken for a verdict.
   */
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The codes as --help lists them. */
export const EXIT_CODES_HELP =
  "Exit codes: 0 ok, 1 the check found problems, 2 usage or configuration error, " +
  "70 internal error (unexpected; run again with --debug for the details and report it).";
