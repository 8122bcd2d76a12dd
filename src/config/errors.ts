// A configuration or input error that a person must fix: the CLI maps it to exit code 2.
// It carries a code for callers and tests, and every problem found with its file:line:column.

export const ConfigErrorCode = {
  /** Generic configuration or usage error. */
  Config: "CONFIG",
  /** The file could not be read, or is too large. */
  Unreadable: "UNREADABLE",
  /** YAML syntax error, duplicate key, alias limit. */
  Yaml: "YAML",
  /** A value does not match the schema (type, unknown field, missing field, pattern). */
  Schema: "SCHEMA",
  /** A value matches the schema but is wrong (bad regex, unsafe path, credentials in a URL...). */
  Invalid: "INVALID",
  /** An Application names a TrustPolicy that does not exist. */
  UnknownReference: "UNKNOWN_REFERENCE",
  /** Two objects of one kind have the same name. */
  DuplicateName: "DUPLICATE_NAME",
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** One problem found in a configuration file. */
export interface ConfigProblem {
  code: ConfigErrorCode;
  /** "file:line:column" of the offending node. */
  where: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The file, object or option at fault, e.g. "trust.yaml:12:3". */
  readonly where: string | undefined;
  readonly code: ConfigErrorCode;
  /** Every problem found (the message names the first ones); empty when the error is not about a file. */
  readonly problems: readonly ConfigProblem[];

  constructor(
    message: string,
    where?: string,
    options: { code?: ConfigErrorCode; problems?: readonly ConfigProblem[] } = {},
  ) {
    super(where === undefined ? message : `${where}: ${message}`);
    this.where = where;
    this.code = options.code ?? ConfigErrorCode.Config;
    this.problems = options.problems ?? [];
  }

  /** One error for a list of problems: the first names the location, the rest follow on their own lines. */
  static fromProblems(problems: readonly [ConfigProblem, ...ConfigProblem[]]): ConfigError {
    const [first, ...rest] = problems;
    const shown = rest.slice(0, 9).map((p) => `\n  ${p.where}: ${p.message}`);
    const more = rest.length > 9 ? `\n  (and ${rest.length - 9} more)` : "";
    return new ConfigError(first.message + shown.join("") + more, first.where, {
      code: first.code,
      problems,
    });
  }
}
