// The one source of gitward's configuration: TypeBox schemas of TrustPolicy and Application. The static
// types (types.ts), the validation of gitward.yaml (validate.ts) and the CRDs (crds.ts) all derive from
// these objects, so the three cannot disagree. Defaults live here too, as schema `default`s.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { GLOB_LIMITS } from "../render/glob.js";

export const API_VERSION = "gitward.dev/v1alpha1";
export const API_GROUP = "gitward.dev";
export const API_VERSION_NAME = "v1alpha1";

/** Every default of the configuration, in one place; the schemas below and the CRDs use these values. */
export const DEFAULTS = {
  interval: "1m",
  prune: false,
  drift: "alert",
  requireDigest: true,
  threshold: 1,
  allowHistoryRewrite: false,
  allowTagMove: false,
  allowRemoteBases: false,
  allowClusterScoped: false,
  allowEmpty: false,
  suspend: false,
} as const;

/**
 * A phrase for error messages ("expected a DNS-1123 label"), kept in the schema under a private key that
 * the CRD generator strips.
 */
export const EXPECTED_KEY = "x-gitward-expected";

function expected(phrase: string): Record<string, string> {
  return { [EXPECTED_KEY]: phrase };
}

/** Go-style duration: one or more number+unit pairs ("30s", "1m", "1h30m", "1.5h"). */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const COMMIT_ID = "^([0-9a-f]{40}|[0-9a-f]{64})$";
/** At least one character that is not white space: key text may not be blank. */
const NOT_BLANK = "\\S";

const Name = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: DNS_SUBDOMAIN,
  ...expected("a DNS-1123 subdomain name (lower-case letters, digits, '-' and '.')"),
});
const Namespace = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: DNS_LABEL,
  ...expected("a DNS-1123 label (lower-case letters, digits and '-', at most 63)"),
});
const KeyText = Type.String({ minLength: 1, pattern: NOT_BLANK, ...expected("a non-empty key") });
const NonEmpty = Type.String({ minLength: 1, pattern: NOT_BLANK, ...expected("a non-empty string") });
const CommitId = Type.String({
  pattern: COMMIT_ID,
  ...expected("a full commit id (40 or 64 lower-case hex digits)"),
});
const StringMap = Type.Record(Type.String(), Type.String());

function strictObject<T extends Parameters<typeof Type.Object>[0]>(properties: T, description?: string) {
  return Type.Object(properties, {
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  });
}

export const ObjectMetaSchema = strictObject({
  name: Name,
  namespace: Type.Optional(Namespace),
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
});

export const CommitSignerSchema = strictObject(
  {
    name: NonEmpty,
    ssh: Type.Optional(
      Type.Array(KeyText, {
        description: 'SSH public keys in authorized_keys form ("ssh-ed25519 AAAA... c").',
      }),
    ),
    openpgp: Type.Optional(Type.Array(KeyText, { description: "ASCII-armored OpenPGP public keys." })),
    emails: Type.Optional(
      Type.Array(NonEmpty, {
        description: "Identities (emails) that commit as this signer, for the unknown-committer audit.",
      }),
    ),
    paths: Type.Array(NonEmpty, {
      minItems: 1,
      description:
        'Globs of repository paths this signer may change (*, **, ?, [a-z], {a,b}); "**" is everything.',
    }),
  },
  "A person or team allowed to sign commits, and the paths it may change.",
);

export const CommitPolicySchema = strictObject({
  signers: Type.Array(CommitSignerSchema, { minItems: 1 }),
  message: Type.Optional(
    Type.String({ description: "Optional regular expression every commit message must match." }),
  ),
  allowHistoryRewrite: Type.Optional(
    Type.Boolean({
      default: DEFAULTS.allowHistoryRewrite,
      description: "A head that does not descend from the last applied commit is refused unless true.",
    }),
  ),
  trustedRoot: Type.Optional({
    ...CommitId,
    description: "On first run, every commit back to this one must verify (it is itself trusted).",
  }),
  expectedRefs: Type.Optional(
    Type.Array(NonEmpty, {
      description: "Ref names (globs) the repository is expected to have, for `verify repo`.",
    }),
  ),
});

export const ImageSignerSchema = strictObject({
  name: NonEmpty,
  cosign: Type.Optional({ ...KeyText, description: "PEM public key (cosign.pub)." }),
  keyless: Type.Optional(
    strictObject(
      { issuer: NonEmpty, subject: NonEmpty },
      "Keyless identity, verified against images.trustedRoot.",
    ),
  ),
});

export const AttestationRequirementSchema = strictObject({
  predicateType: NonEmpty,
  condition: Type.Optional(Type.String({ description: "Optional CEL condition over `predicate`." })),
});

export const RegistryOptionsSchema = strictObject({
  host: Type.String({
    minLength: 1,
    pattern: "^[^/\\s]+$",
    description: 'Registry host (with port), e.g. "127.0.0.1:5000".',
    ...expected("a registry host[:port] without scheme or path"),
  }),
  plainHTTP: Type.Optional(Type.Boolean({ description: "Plain HTTP, allowed for loopback hosts only." })),
  ca: Type.Optional({ ...KeyText, description: "PEM CA bundle for TLS." }),
});

const VulnSeverity = Type.Union([
  Type.Literal("low"),
  Type.Literal("medium"),
  Type.Literal("high"),
  Type.Literal("critical"),
]);

/** spec.images.vulnerabilities: the vulnerability gate of every image (src/vuln/gate.ts). */
export const VulnerabilityPolicySchema = strictObject(
  {
    failOn: Type.Optional({
      ...VulnSeverity,
      description: "Lowest severity of a finding that refuses the image (default high).",
    }),
    unknownSeverity: Type.Optional({
      ...VulnSeverity,
      description: "How an advisory without a severity counts (default high).",
    }),
    ignore: Type.Optional(
      Type.Array(
        strictObject({
          id: { ...NonEmpty, description: "Advisory id or alias (CVE-..., GHSA-..., DSA-...)." },
          reason: { ...NonEmpty, description: "Why the finding is accepted; shown in every report." },
          expires: Type.Optional(
            Type.String({
              pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}))?$",
              description: "Date (or date-time) after which the exemption stops applying.",
              ...expected("a date YYYY-MM-DD or an RFC 3339 date-time"),
            }),
          ),
        }),
      ),
    ),
    maxDbAge: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        description: 'Warn when the database was imported longer ago than this (e.g. "72h").',
        ...expected('a duration such as "72h"'),
      }),
    ),
    dbPath: Type.Optional({
      ...NonEmpty,
      description: "The database file (`gitward vulndb import`), as mounted in the operator.",
    }),
  },
  "Refuse images with known vulnerabilities, matched offline against a local OSV database.",
);

export const ImagePolicySchema = strictObject({
  registries: Type.Array(NonEmpty, { description: "Allowed registry/repository prefixes." }),
  requireDigest: Type.Optional(Type.Boolean({ default: DEFAULTS.requireDigest })),
  allowTagMove: Type.Optional(
    Type.Boolean({
      default: DEFAULTS.allowTagMove,
      description: "Allow a tag that moved for the same commit (default false: TAG_MOVED is refused).",
    }),
  ),
  signers: Type.Optional(Type.Array(ImageSignerSchema)),
  threshold: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: DEFAULTS.threshold,
      description: "How many distinct signers must have signed.",
    }),
  ),
  attestations: Type.Optional(Type.Array(AttestationRequirementSchema)),
  baseImages: Type.Optional(
    Type.Array(NonEmpty, { description: "Approved base images (name prefixes or name@digest)." }),
  ),
  trustedRoot: Type.Optional({
    ...NonEmpty,
    description: "Sigstore trusted_root.json contents, for keyless verification.",
  }),
  registryOptions: Type.Optional(Type.Array(RegistryOptionsSchema)),
  vulnerabilities: Type.Optional(VulnerabilityPolicySchema),
});

export const SeveritySchema = Type.Union([
  Type.Literal("low"),
  Type.Literal("medium"),
  Type.Literal("high"),
  Type.Literal("critical"),
]);

export const PolicyConfigSchema = strictObject({
  packs: Type.Optional(Type.Array(NonEmpty)),
  custom: Type.Optional(
    Type.Array(NonEmpty, {
      description: "Paths of ValidatingAdmissionPolicy-shaped rule files, relative to the config file.",
    }),
  ),
  failOn: Type.Optional(SeveritySchema),
});

const AdmissionModeSchema = Type.Union([Type.Literal("enforce"), Type.Literal("audit")], {
  description: "enforce: deny; audit: allow with a warning, counted in a metric.",
});

export const AdmissionExemptionSchema = strictObject(
  {
    rule: { ...NonEmpty, description: 'The rule or verdict id exempted, e.g. "pod-security/privileged".' },
    namespace: Type.Optional(Namespace),
    name: Type.Optional(Name),
    reason: Type.String({
      minLength: 3,
      pattern: NOT_BLANK,
      ...expected("a reason of 3 or more characters"),
    }),
    expires: Type.String({
      pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z)?$",
      description: "When the exemption ends (RFC 3339 UTC time or a date); an expired one exempts nothing.",
      ...expected("a UTC time such as 2027-01-31T00:00:00Z, or a date 2027-01-31"),
    }),
  },
  "An admission exemption: a rule that does not apply to these objects, why, and until when.",
);

export const AdmissionPolicySchema = strictObject(
  {
    breakGlass: Type.Optional(
      Type.Array(NonEmpty, {
        description:
          "Groups whose members may change objects gitward manages; every such change is an audit record and an Event.",
      }),
    ),
    operators: Type.Optional(
      Type.Array(NonEmpty, {
        description:
          "User names besides the Applications' deployer service accounts that apply for gitward (default the gitward service account).",
      }),
    ),
    modes: Type.Optional(
      strictObject({
        images: Type.Optional(AdmissionModeSchema),
        packs: Type.Optional(AdmissionModeSchema),
        custom: Type.Optional(AdmissionModeSchema),
        inventory: Type.Optional(AdmissionModeSchema),
      }),
    ),
    exemptions: Type.Optional(Type.Array(AdmissionExemptionSchema)),
  },
  "What the validating admission webhook (`gitward webhook`) enforces beyond the policy and images.",
);

export const TrustPolicySpecSchema = strictObject({
  commits: Type.Optional(CommitPolicySchema),
  images: Type.Optional(ImagePolicySchema),
  policy: Type.Optional(PolicyConfigSchema),
  admission: Type.Optional(AdmissionPolicySchema),
});

export const TrustPolicySchema = strictObject(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal("TrustPolicy"),
    metadata: ObjectMetaSchema,
    spec: TrustPolicySpecSchema,
  },
  "Who may change which paths of a config repository, and which images and objects are allowed.",
);

export const GitRefSchema = Type.Union(
  [strictObject({ branch: NonEmpty }), strictObject({ tag: NonEmpty }), strictObject({ commit: CommitId })],
  expected("exactly one of {branch: NAME}, {tag: NAME} or {commit: SHA}"),
);

export const ApplicationSourceSchema = strictObject({
  url: Type.String({
    minLength: 1,
    pattern: "^\\S+$",
    description: "Git URL (https://, ssh://, git://, file:// or scp-like); credentials go in secretRef.",
    ...expected("a git URL without white space"),
  }),
  ref: GitRefSchema,
  path: Type.Optional(Type.String({ description: "Folder inside the repository to render." })),
  secretRef: Type.Optional(
    strictObject(
      { name: Name },
      "Secret with git credentials (username/password, token, or identity + known_hosts).",
    ),
  ),
});

export const RenderTypeSchema = Type.Union([
  Type.Literal("directory"),
  Type.Literal("kustomize"),
  Type.Literal("helm"),
]);

export const ApplicationRenderSchema = strictObject({
  type: RenderTypeSchema,
  valuesFiles: Type.Optional(
    Type.Array(NonEmpty, { description: "helm: values files inside the repository." }),
  ),
  allowRemoteBases: Type.Optional(
    Type.Boolean({ default: DEFAULTS.allowRemoteBases, description: "kustomize: allow remote bases." }),
  ),
  releaseName: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 53,
      pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
      description:
        "helm: the release name (default the chart's name, as `gitward check` renders it without --release-name).",
      ...expected("a helm release name (lower-case letters, digits and '-', at most 53)"),
    }),
  ),
  // The limits of render/glob.ts: globs come from whoever writes the Application.
  include: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: GLOB_LIMITS.maxPatternLength }), {
      maxItems: GLOB_LIMITS.maxPatterns,
      description:
        "directory: globs of the files to read, relative to source.path (default every .yaml, .yml, .json).",
    }),
  ),
  exclude: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: GLOB_LIMITS.maxPatternLength }), {
      maxItems: GLOB_LIMITS.maxPatterns,
      description: "directory: globs of files not to read, relative to source.path; they win over include.",
    }),
  ),
  allowEmpty: Type.Optional(
    Type.Boolean({
      default: DEFAULTS.allowEmpty,
      description: "Allow a revision that renders no object (which prunes everything when prune is on).",
    }),
  ),
});

export const ApplicationDestinationSchema = strictObject({
  namespace: Namespace,
  serviceAccountName: Name,
  allowedNamespaces: Type.Optional(
    Type.Array(Namespace, {
      description: "Namespaces other than `namespace` the application may write to (default none).",
    }),
  ),
  allowClusterScoped: Type.Optional(
    Type.Boolean({ default: DEFAULTS.allowClusterScoped, description: "Allow cluster-scoped objects." }),
  ),
});

const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";

export const SecretValueSourceSchema = Type.Union(
  [
    strictObject({
      env: Type.String({ pattern: ENV_NAME, ...expected("an environment variable name") }),
    }),
    strictObject({ file: { ...NonEmpty, description: "Path of a file holding the value." } }),
    strictObject({
      secretRef: strictObject({ name: Name, key: NonEmpty }, "A key of a Secret in the sink's namespace."),
    }),
  ],
  expected("exactly one of {env: NAME}, {file: PATH} or {secretRef: {name, key}}"),
);

export const DriftModeSchema = Type.Union([Type.Literal("alert"), Type.Literal("revert")], {
  default: DEFAULTS.drift,
});

export const ApplicationSpecSchema = strictObject({
  source: ApplicationSourceSchema,
  render: ApplicationRenderSchema,
  destination: ApplicationDestinationSchema,
  trustPolicy: { ...Name, description: "Name of the TrustPolicy that gates this application." },
  interval: Type.Optional(
    Type.String({
      pattern: DURATION_PATTERN,
      default: DEFAULTS.interval,
      description: 'Go-style duration, e.g. "1m", "30s", "1h30m".',
      ...expected('a duration such as "30s", "1m" or "1h30m"'),
    }),
  ),
  prune: Type.Optional(Type.Boolean({ default: DEFAULTS.prune })),
  drift: Type.Optional(DriftModeSchema),
  suspend: Type.Optional(
    Type.Boolean({
      default: DEFAULTS.suspend,
      description:
        "Set by `gitward suspend` / `gitward resume`: while true, nothing is reconciled and no drift is corrected.",
    }),
  ),
  rollback: Type.Optional(
    strictObject(
      {
        revision: { ...CommitId, description: "The earlier applied revision to apply instead of the head." },
        branchHead: {
          ...CommitId,
          description:
            "The head the source ref named when the rollback was asked; a new commit ends the pin.",
        },
        verifyFrom: Type.Optional({
          ...CommitId,
          description:
            "The revision applied before `revision` (from the audit trail): every commit from it to `revision` is verified again.",
        }),
      },
      "Set by `gitward rollback`: pins the Application to an earlier, verified revision until the branch moves or `gitward resume`.",
    ),
  ),
  webhook: Type.Optional(
    strictObject(
      {
        secret: {
          ...SecretValueSourceSchema,
          description:
            "The git host's webhook secret (GitHub/Gitea HMAC key, GitLab token) for POST /hooks/<name>.",
        },
      },
      "Push webhooks that trigger a reconcile at once; unverified calls are refused with 401.",
    ),
  ),
});

export const ApplicationMetaSchema = strictObject({
  name: Name,
  namespace: Namespace,
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
});

export const ApplicationSchema = strictObject(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal("Application"),
    metadata: ApplicationMetaSchema,
    spec: ApplicationSpecSchema,
  },
  "A folder of a git repository that gitward keeps applied to one namespace, gated by a TrustPolicy.",
);

// Alert sinks (issue 6): where gitward sends signed alerts. The URL and the HMAC secret are never written
// in the file: they come from an environment variable, a file, or (in the cluster) a Secret.

/** The alert event kinds; src/notify/events.ts checks at compile time that it has the same list. */
export const ALERT_EVENT_KINDS = [
  "revision-applied",
  "revision-refused",
  "drift-detected",
  "drift-reverted",
  "health-degraded",
  "history-rewritten",
] as const;
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;

export const AlertSinkSpecSchema = strictObject({
  type: Type.Union([Type.Literal("webhook"), Type.Literal("slack")]),
  url: SecretValueSourceSchema,
  hmacSecret: Type.Optional(SecretValueSourceSchema),
  kinds: Type.Optional(
    Type.Array(Type.Union(ALERT_EVENT_KINDS.map((k) => Type.Literal(k))), {
      minItems: 1,
      description: "Event kinds sent to this sink (default: all).",
    }),
  ),
  minSeverity: Type.Optional(
    Type.Union(
      ALERT_SEVERITIES.map((s) => Type.Literal(s)),
      { default: "info", description: "Lowest severity sent to this sink." },
    ),
  ),
});

export const AlertSinkSchema = strictObject(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal("AlertSink"),
    metadata: ApplicationMetaSchema,
    spec: AlertSinkSpecSchema,
  },
  "Where gitward sends signed alerts (generic JSON webhook or Slack-compatible), and which ones.",
);

// Status: written by the operator, never by people; only the CRDs use these schemas for validation.

export const ConditionSchema = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")]),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: "date-time" }),
  observedGeneration: Type.Optional(Type.Integer()),
});

export const ApplicationStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer()),
    conditions: Type.Optional(Type.Array(ConditionSchema)),
    lastAttemptedRevision: Type.Optional(Type.String()),
    lastAppliedRevision: Type.Optional(Type.String()),
    lastAppliedSigner: Type.Optional(Type.String()),
    objectsApplied: Type.Optional(Type.Integer({ minimum: 0 })),
    objectsPruned: Type.Optional(Type.Integer({ minimum: 0 })),
    lastReconcileTime: Type.Optional(Type.String({ format: "date-time" })),
    lastAuditRecord: Type.Optional(Type.String()),
    driftedObjects: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Managed objects that differ from git, left as drift: alert.",
      }),
    ),
    lastDriftTime: Type.Optional(Type.String({ format: "date-time" })),
    lastRefusal: Type.Optional(
      Type.Object(
        {
          revision: Type.Optional(Type.String()),
          reason: Type.String(),
          message: Type.String(),
          details: Type.Array(Type.String(), { maxItems: 20 }),
          time: Type.String({ format: "date-time" }),
        },
        {
          description:
            "The last revision refused or failed, with the findings that decided it (at most 20, as the CLI prints them).",
        },
      ),
    ),
    suspended: Type.Optional(
      Type.Boolean({ description: "spec.suspend was in force at the last pass: nothing reconciled." }),
    ),
    pinnedRevision: Type.Optional(
      Type.String({ description: "The rollback revision in force (spec.rollback), until the branch moves." }),
    ),
    lastHandledReconcileAt: Type.Optional(
      Type.String({
        description:
          "The value of the gitward.dev/reconcile-requested-at annotation that the last pass handled.",
      }),
    ),
    images: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Image tags resolved to digests for lastAttemptedRevision ("registry/repo:tag" → "sha256:..."); a tag that resolves differently for the same commit is TAG_MOVED.',
      }),
    ),
  },
  // The reconcile issue may add fields (e.g. the inventory); the CRD keeps unknown status fields.
  { additionalProperties: true },
);

export const TrustPolicyStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer()),
    conditions: Type.Optional(Type.Array(ConditionSchema)),
  },
  { additionalProperties: true },
);

export const AlertSinkStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer()),
    conditions: Type.Optional(Type.Array(ConditionSchema)),
  },
  { additionalProperties: true },
);

export type ObjectMeta = Static<typeof ObjectMetaSchema>;
export type CommitSigner = Static<typeof CommitSignerSchema>;
export type CommitPolicy = Static<typeof CommitPolicySchema>;
export type ImageSigner = Static<typeof ImageSignerSchema>;
export type AttestationRequirement = Static<typeof AttestationRequirementSchema>;
export type RegistryOptions = Static<typeof RegistryOptionsSchema>;
export type ImagePolicy = Static<typeof ImagePolicySchema>;
export type VulnerabilityPolicy = Static<typeof VulnerabilityPolicySchema>;
export type Severity = Static<typeof SeveritySchema>;
export type PolicyConfig = Static<typeof PolicyConfigSchema>;
export type TrustPolicySpec = Static<typeof TrustPolicySpecSchema>;
export type AdmissionPolicy = Static<typeof AdmissionPolicySchema>;
export type AdmissionExemption = Static<typeof AdmissionExemptionSchema>;
export type TrustPolicy = Static<typeof TrustPolicySchema>;
export type GitRef = Static<typeof GitRefSchema>;
export type ApplicationSource = Static<typeof ApplicationSourceSchema>;
export type RenderType = Static<typeof RenderTypeSchema>;
export type ApplicationRender = Static<typeof ApplicationRenderSchema>;
export type ApplicationDestination = Static<typeof ApplicationDestinationSchema>;
export type DriftMode = Static<typeof DriftModeSchema>;
export type ApplicationSpec = Static<typeof ApplicationSpecSchema>;
export type Application = Static<typeof ApplicationSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ApplicationStatus = Static<typeof ApplicationStatusSchema>;
export type TrustPolicyStatus = Static<typeof TrustPolicyStatusSchema>;
export type SecretValueSource = Static<typeof SecretValueSourceSchema>;
export type AlertSinkSpec = Static<typeof AlertSinkSpecSchema>;
export type AlertSink = Static<typeof AlertSinkSchema>;

/** The kinds a gitward.yaml may hold, with the schema of each. */
export const KIND_SCHEMAS: Readonly<Record<"TrustPolicy" | "Application" | "AlertSink", TSchema>> = {
  TrustPolicy: TrustPolicySchema,
  Application: ApplicationSchema,
  AlertSink: AlertSinkSchema,
};
