// The one error class of src/vuln, with a closed set of codes that the CLI maps to exit 2 (usage or
// configuration: nothing was scanned) and that tests match on.
export const VulnErrorCode = {
  /** The import input (directory or zip) cannot be read, or holds something unsafe (zip-slip, symlink). */
  INPUT_INVALID: "INPUT_INVALID",
  /** The import input or the database is larger than the bounds allow. */
  TOO_LARGE: "TOO_LARGE",
  /** The database file is missing, not gitward's format, or of a version this gitward cannot read. */
  DB_INVALID: "DB_INVALID",
  /** An SBOM or inventory file given to `images scan --sbom` cannot be read. */
  SBOM_INVALID: "SBOM_INVALID",
} as const;
export type VulnErrorCode = (typeof VulnErrorCode)[keyof typeof VulnErrorCode];

export class VulnError extends Error {
  readonly code: VulnErrorCode;
  /** The file the error is about. */
  readonly file: string | undefined;
  constructor(code: VulnErrorCode, message: string, file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
    this.name = "VulnError";
    this.code = code;
    this.file = file;
  }
}
