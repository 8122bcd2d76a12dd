// Where a finding points: the line of the offending field when the rule names its path and the object's
// source positions are known (objects parsed from a repository file, and kustomize output where the base
// file's value is the rendered one; render/positions.ts), else the object's own origin (helm: the
// template, line 1).
import { lineOfField } from "../render/positions.js";
import type { Origin } from "../render/types.js";
import type { Hit } from "./types.js";

const NO_ORIGIN: Origin = { file: "(revision)", line: 1 };

export function originOf(hit: Hit): Origin {
  const m = hit.manifest;
  if (m === undefined) return hit.origin ?? NO_ORIGIN;
  if (hit.path === undefined) return m.origin;
  const line = lineOfField(m.object, m.origin.file, hit.path);
  return line === undefined ? m.origin : { file: m.origin.file, line };
}
