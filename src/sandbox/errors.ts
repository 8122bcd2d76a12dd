// Kubernetes `Status` failures: every request that fails ends in one ApiError, which the server turns into
// a Status body with the reason and code the real API server would use, so clients react the same way.

export interface StatusCause {
  type?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details !== undefined) status["details"] = this.details;
    return status;
  }
}

/** The `group` and `kind` fields of Status details: kind is the plural resource, as the API server says. */
export interface What {
  group: string;
  resource: string;
  name?: string;
}

function describe(what: What): string {
  return what.group === "" ? what.resource : `${what.resource}.${what.group}`;
}

function detailsOf(what: What, extra: Partial<StatusDetails> = {}): StatusDetails {
  const d: StatusDetails = { group: what.group, kind: what.resource, ...extra };
  if (what.name !== undefined) d.name = what.name;
  return d;
}

export const errors = {
  badRequest: (message: string): ApiError => new ApiError(400, "BadRequest", message),
  unauthorized: (): ApiError => new ApiError(401, "Unauthorized", "Unauthorized"),
  forbidden: (user: string, verb: string, what: What, namespace: string | undefined, why = ""): ApiError => {
    const scope =
      namespace === undefined ? "at the cluster scope" : `in the namespace ${JSON.stringify(namespace)}`;
    const name = what.name === undefined ? "" : ` ${JSON.stringify(what.name)}`;
    const msg = `${what.resource}${name} is forbidden: User ${JSON.stringify(user)} cannot ${verb} resource ${JSON.stringify(what.resource)} in API group ${JSON.stringify(what.group)} ${scope}${why}`;
    return new ApiError(403, "Forbidden", msg, detailsOf(what));
  },
  forbiddenMessage: (message: string, what?: What): ApiError =>
    new ApiError(403, "Forbidden", message, what === undefined ? undefined : detailsOf(what)),
  notFound: (what: What): ApiError =>
    new ApiError(
      404,
      "NotFound",
      `${describe(what)}${what.name === undefined ? "" : ` ${JSON.stringify(what.name)}`} not found`,
      detailsOf(what),
    ),
  notFoundPath: (): ApiError =>
    new ApiError(404, "NotFound", "the server could not find the requested resource"),
  methodNotAllowed: (method: string): ApiError =>
    new ApiError(
      405,
      "MethodNotAllowed",
      `the server does not allow this method on the requested resource (${method})`,
    ),
  notAcceptable: (accept: string): ApiError =>
    new ApiError(406, "NotAcceptable", `only application/json is served, not ${JSON.stringify(accept)}`),
  alreadyExists: (what: What): ApiError =>
    new ApiError(
      409,
      "AlreadyExists",
      `${describe(what)} ${JSON.stringify(what.name)} already exists`,
      detailsOf(what),
    ),
  conflict: (what: What, message: string, causes?: StatusCause[]): ApiError =>
    new ApiError(409, "Conflict", message, detailsOf(what, causes === undefined ? {} : { causes })),
  gone: (message: string): ApiError => new ApiError(410, "Expired", message),
  tooLarge: (limit: number): ApiError =>
    new ApiError(413, "RequestEntityTooLarge", `the request body is larger than the limit of ${limit} bytes`),
  unsupportedMediaType: (type: string): ApiError =>
    new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(type)})`,
    ),
  invalid: (kind: string, what: What, causes: StatusCause[]): ApiError => {
    const list = causes
      .map((c) => (c.field === undefined ? c.message : `${c.field}: ${c.message}`))
      .join(", ");
    return new ApiError(
      422,
      "Invalid",
      `${kind}${what.name === undefined ? "" : ` ${JSON.stringify(what.name)}`} is invalid: ${list}`,
      { ...detailsOf(what), kind, causes },
    );
  },
  tooManyRequests: (): ApiError =>
    new ApiError(
      429,
      "TooManyRequests",
      "the server has received too many requests and has asked us to try again later (injected fault)",
      { retryAfterSeconds: 1 },
    ),
  internal: (message: string): ApiError => new ApiError(500, "InternalError", message),
};
