// Exemptions: only by the annotation `gitward.dev/exempt: "<rule-id>: <reason>"` on the object itself (one
// per line for several rules). A reason is required; every exemption honoured is listed in the report, and
// a malformed one is a finding of its own, so an exemption can never be silent.
import type { Manifest } from "../render/types.js";
import { field, show } from "./types.js";

export const EXEMPT_ANNOTATION = "gitward.dev/exempt";

export interface ParsedExemption {
  readonly ruleId: string;
  readonly reason: string;
}

export interface ExemptionParse {
  readonly exemptions: ParsedExemption[];
  /** Lines that are not "<rule-id>: <reason>" with a non-empty reason. */
  readonly invalid: string[];
}

export function parseExemptions(m: Manifest): ExemptionParse {
  const value = field(m.object, "metadata", "annotations", EXEMPT_ANNOTATION);
  const exemptions: ParsedExemption[] = [];
  const invalid: string[] = [];
  if (value === undefined) return { exemptions, invalid };
  if (typeof value !== "string") return { exemptions, invalid: [show(value)] };
  for (const raw of value.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const m2 = /^([a-z0-9][a-z0-9./_-]*)\s*:\s*(.*)$/i.exec(line);
    const ruleId = m2?.[1];
    const reason = m2?.[2]?.trim();
    // Wildcards would let one annotation switch off a whole pack; every rule is named on its own.
    if (ruleId === undefined || reason === undefined || reason.length < 3 || ruleId.includes("*"))
      invalid.push(line);
    else exemptions.push({ ruleId, reason });
  }
  return { exemptions, invalid };
}
