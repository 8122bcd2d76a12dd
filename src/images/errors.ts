// Failures of the OCI client as one error class with a closed set of codes, so the image verifier can map
// each to its verdict without reading message text. Messages name the registry, repository and reference.

export const RegistryErrorCode = {
  /** Connection refused, TLS failure, timeout. */
  UNREACHABLE: "UNREACHABLE",
  /** 401/403 after every authentication the client could offer. */
  UNAUTHORIZED: "UNAUTHORIZED",
  /** 404: no such manifest, blob or tag. */
  NOT_FOUND: "NOT_FOUND",
  /** Any other unexpected HTTP status. */
  HTTP_STATUS: "HTTP_STATUS",
  /** The response is larger than the bound for its kind. */
  TOO_LARGE: "TOO_LARGE",
  /** Content does not hash to the digest it was asked for or announced with. */
  DIGEST_MISMATCH: "DIGEST_MISMATCH",
  /** Content is not the JSON document or media type it must be. */
  MALFORMED: "MALFORMED",
  /** Plain HTTP asked for a host that is not loopback. */
  INSECURE_REFUSED: "INSECURE_REFUSED",
  /** A request, or a whole image verification, took longer than its deadline (a stalling registry). */
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
} as const;
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  readonly code: RegistryErrorCode;
  readonly status: number | undefined;

  constructor(code: RegistryErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
