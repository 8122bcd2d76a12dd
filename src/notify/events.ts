// The events gitward alerts on (ARCHITECTURE.md "record"; issue "Alerts"): a closed set of kinds, each with
// typed fields only, so no caller can put secret material into an alert. The schema is checked at run
// time too, because events are built from cluster and git data that the compiler cannot vouch for.
import { Type, type Static } from "@sinclair/typebox";
import { Code, Count, firstProblem, Ident, Revision, UtcTime } from "../config/fields.js";
import { ALERT_EVENT_KINDS, ALERT_SEVERITIES } from "../config/schema.js";

export const EventKind = {
  RevisionApplied: "revision-applied",
  RevisionRefused: "revision-refused",
  DriftDetected: "drift-detected",
  DriftReverted: "drift-reverted",
  HealthDegraded: "health-degraded",
  HistoryRewritten: "history-rewritten",
} as const satisfies Record<string, (typeof ALERT_EVENT_KINDS)[number]>;
/** The kinds an AlertSink may filter on (config/schema.ts holds the one list). */
export type EventKind = (typeof ALERT_EVENT_KINDS)[number];
export const EVENT_KINDS: readonly EventKind[] = ALERT_EVENT_KINDS;

export const SEVERITIES = ALERT_SEVERITIES;
export type Severity = (typeof SEVERITIES)[number];

/** Severity of each kind unless the caller says otherwise. */
export const DEFAULT_SEVERITY: Readonly<Record<EventKind, Severity>> = {
  "revision-applied": "info",
  "revision-refused": "critical",
  "drift-detected": "warning",
  "drift-reverted": "warning",
  "health-degraded": "warning",
  "history-rewritten": "critical",
};

const SeveritySchema = Type.Union(SEVERITIES.map((s) => Type.Literal(s)));

const ObjectRef = Type.Object(
  {
    apiVersion: Ident(),
    kind: Ident(),
    namespace: Type.Optional(Ident(63)),
    name: Ident(),
  },
  { additionalProperties: false },
);

const base = {
  severity: SeveritySchema,
  time: UtcTime,
  application: Type.Object({ namespace: Ident(63), name: Ident() }, { additionalProperties: false }),
  /** Id of the audit record that tells the whole story. */
  auditRecord: Type.Optional(Ident(64)),
};

const strict = { additionalProperties: false } as const;

export const GitwardEventSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal(EventKind.RevisionApplied),
      ...base,
      revision: Revision,
      signer: Type.Optional(Ident()),
      objectsApplied: Count,
      objectsPruned: Count,
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal(EventKind.RevisionRefused),
      ...base,
      revision: Revision,
      /** The verdict code: UNSIGNED, UNKNOWN_SIGNER, NOT_AUTHORIZED_FOR_PATH, POLICY, IMAGE_UNSIGNED... */
      code: Code,
      stage: Type.Union(
        ["source", "verify", "render", "check", "plan", "apply", "prune", "health"].map((s) =>
          Type.Literal(s),
        ),
      ),
      findings: Type.Optional(Count),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Union([Type.Literal(EventKind.DriftDetected), Type.Literal(EventKind.DriftReverted)]),
      ...base,
      object: ObjectRef,
      /** Field paths that changed, never their values. */
      fields: Type.Array(Ident(512), { maxItems: 50 }),
      /** The field manager that changed it (from managedFields), or "deleted". */
      manager: Ident(),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal(EventKind.HealthDegraded),
      ...base,
      object: ObjectRef,
      reason: Code,
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal(EventKind.HistoryRewritten),
      ...base,
      /** The last applied commit, which the new head does not descend from. */
      previous: Revision,
      current: Revision,
    },
    strict,
  ),
]);

export type GitwardEvent = Static<typeof GitwardEventSchema>;

/** The first problem of an event as "path: message", or undefined when it is well-formed. */
export function eventProblem(event: unknown): string | undefined {
  return firstProblem(GitwardEventSchema, event);
}

function objectName(o: { kind: string; namespace?: string; name: string }): string {
  return `${o.kind} ${o.namespace === undefined ? "" : `${o.namespace}/`}${o.name}`;
}

/** One line for people (Slack text, logs), built only from the event's typed fields. */
export function summarize(event: GitwardEvent): string {
  const app = `${event.application.namespace}/${event.application.name}`;
  switch (event.kind) {
    case "revision-applied":
      return (
        `${app}: applied ${event.revision.slice(0, 12)}` +
        (event.signer === undefined ? "" : ` signed by ${event.signer}`) +
        ` (${event.objectsApplied} applied, ${event.objectsPruned} pruned)`
      );
    case "revision-refused":
      return `${app}: refused ${event.revision.slice(0, 12)} at ${event.stage}: ${event.code}`;
    case "drift-detected":
    case "drift-reverted": {
      const verb = event.kind === "drift-detected" ? "drift detected on" : "drift reverted on";
      const fields = event.fields.length === 0 ? "" : ` (${event.fields.slice(0, 5).join(", ")})`;
      return `${app}: ${verb} ${objectName(event.object)} by ${event.manager}${fields}`;
    }
    case "health-degraded":
      return `${app}: ${objectName(event.object)} is not healthy: ${event.reason}`;
    case "history-rewritten":
      return (
        `${app}: history rewritten: ${event.current.slice(0, 12)} does not descend from the applied ` +
        event.previous.slice(0, 12)
      );
  }
}
