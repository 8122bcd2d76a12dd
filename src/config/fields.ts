// Field schemas shared by everything gitward writes about itself (audit records, alert events): strings
// that are identifiers, codes, revisions or digests, never prose, so no field can carry a secret value.
import { Type, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** A name: short, printable, no control characters. */
export const Ident = (maxLength = 253) =>
  Type.String({ minLength: 1, maxLength, pattern: "^[^\\u0000-\\u001f\\u007f]+$" });
/** Machine-readable reason or finding code: UNSIGNED, POLICY_FAILED, pod-security/run-as-root... */
export const Code = Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9_./:-]*$" });
export const Digest = Type.String({ pattern: "^sha256:[0-9a-f]{64}$" });
/** A full commit id (SHA-1 or SHA-256 repositories). */
export const Revision = Type.String({ pattern: "^([0-9a-f]{40}|[0-9a-f]{64})$" });
/** ISO 8601 time in UTC, as Date.toISOString() writes it. */
export const UtcTime = Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$" });
export const Count = Type.Integer({ minimum: 0 });

/** The first schema problem of a value as "path: message", or undefined when it is well-formed. */
export function firstProblem(schema: TSchema, value: unknown): string | undefined {
  const first = Value.Errors(schema, value).First();
  return first === undefined ? undefined : `${first.path || "/"}: ${first.message}`;
}
