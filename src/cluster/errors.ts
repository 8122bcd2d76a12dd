// Failures of Kubernetes API calls as values with a closed set of codes, mapped from the HTTP status and
// the API's Status object, so the reconcile can tell "refused by RBAC" from "conflict" from "server down".

export const ClusterErrorCode = {
  /** 401: the credentials were not accepted. */
  Unauthorized: "UNAUTHORIZED",
  /** 403: RBAC (or impersonation) refused the request. */
  Forbidden: "FORBIDDEN",
  NotFound: "NOT_FOUND",
  /** 409: a conflict (stale resourceVersion, failed precondition, field-manager conflict). */
  Conflict: "CONFLICT",
  /** 400/422: the object or request is invalid. */
  Invalid: "INVALID",
  /** 429/5xx or a network failure that persisted through every retry. */
  Unavailable: "UNAVAILABLE",
  /** The API server does not serve this apiVersion/kind. */
  UnknownKind: "UNKNOWN_KIND",
  Timeout: "TIMEOUT",
} as const;
export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode];

export class ClusterError extends Error {
  override readonly name = "ClusterError";
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export function codeForStatus(status: number): ClusterErrorCode {
  if (status === 401) return ClusterErrorCode.Unauthorized;
  if (status === 403) return ClusterErrorCode.Forbidden;
  if (status === 404) return ClusterErrorCode.NotFound;
  if (status === 409) return ClusterErrorCode.Conflict;
  if (status === 400 || status === 422) return ClusterErrorCode.Invalid;
  if (status === 504) return ClusterErrorCode.Timeout;
  return ClusterErrorCode.Unavailable;
}

/** True for answers worth retrying: throttling, server errors, and no answer at all. */
export function isRetryable(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}
