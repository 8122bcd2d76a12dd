// A configuration or input error that a person must fix: the CLI maps it to exit code 2.

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The file, object or option at fault, e.g. "trust.yaml:12:3". */
  readonly where: string | undefined;

  constructor(message: string, where?: string) {
    super(where === undefined ? message : `${where}: ${message}`);
    this.where = where;
  }
}
