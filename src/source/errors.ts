// Failures of the source stage as values with a closed set of codes, so the reconcile, the CLI and tests
// match on the code. Messages never contain a credential: URLs are shown with their userinfo removed.

export const SourceErrorCode = {
  /** The URL is not one gitward fetches from (unknown scheme, option-like, plain text to a remote host). */
  BAD_URL: "BAD_URL",
  /** The URL carries a user name and password or token: they belong in a secret. */
  CREDENTIALS_IN_URL: "CREDENTIALS_IN_URL",
  /** An ssh URL without known_hosts: gitward never trusts a host key on first use. */
  MISSING_KNOWN_HOSTS: "MISSING_KNOWN_HOSTS",
  /** The server's host key does not match known_hosts. */
  HOST_KEY_MISMATCH: "HOST_KEY_MISMATCH",
  /** The server refused the credentials (or asked for some and none were given). */
  AUTH_FAILED: "AUTH_FAILED",
  /** The ref (branch, tag or commit) is not in the repository. */
  REF_NOT_FOUND: "REF_NOT_FOUND",
  /** The ref name is not a valid git ref name. */
  BAD_REF: "BAD_REF",
  /** git's object checks (fsck) refused the repository's content: a hostile or corrupt object. */
  FSCK_FAILED: "FSCK_FAILED",
  /** The revision is over a size limit (a file, all files together, the number of files). */
  TOO_LARGE: "TOO_LARGE",
  /** git could not fetch for another reason (network, repository missing); the message says which. */
  FETCH_FAILED: "FETCH_FAILED",
} as const;
export type SourceErrorCode = (typeof SourceErrorCode)[keyof typeof SourceErrorCode];

/**
 * Codes that mean "the repository's content is refused" rather than "gitward was set up wrong": the
 * revision is refused like an untrusted one (CLI exit 1), not reported as a usage error.
 */
export const CONTENT_REFUSED_CODES: ReadonlySet<SourceErrorCode> = new Set<SourceErrorCode>([
  SourceErrorCode.FSCK_FAILED,
  SourceErrorCode.TOO_LARGE,
]);

export class SourceError extends Error {
  override readonly name = "SourceError";
  constructor(
    readonly code: SourceErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
