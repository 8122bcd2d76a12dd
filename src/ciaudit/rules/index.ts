// Every CI rule, in the order the docs list them.
import type { CiRule } from "../types.js";
import { clusterRules } from "./cluster.js";
import { imageRules } from "./images.js";
import { permissionRules } from "./permissions.js";
import { pinningRules } from "./pinning.js";
import { runnerRules } from "./runners.js";
import { triggerRules } from "./triggers.js";

export const CI_RULES: readonly CiRule[] = [
  ...clusterRules,
  ...imageRules,
  ...triggerRules,
  ...permissionRules,
  ...pinningRules,
  ...runnerRules,
];

/** Reported for a `# gitward:ignore` without a reason or naming no known rule; it cannot be suppressed. */
export const BAD_SUPPRESSION = {
  id: "ci/bad-suppression",
  severity: "medium",
  title: "Suppression without a reason or for an unknown rule",
  fix: "Write `# gitward:ignore <rule-id> <why this is accepted>`, with a rule id from `docs/ci-audit.md`.",
} as const;
