// Exit codes that scripts can rely on, the same for every command.
export const ExitCode = {
  /** Everything checked out. */
  Ok: 0,
  /** The command ran and found problems (untrusted commits, policy findings, a broken audit chain...). */
  Findings: 1,
  /** Usage or configuration error: nothing was checked. */
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
