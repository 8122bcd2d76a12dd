// The configuration contract of gitward (ARCHITECTURE.md "Config shape"): TrustPolicy and Application.
// The types are derived from the schemas in schema.ts (one source for types, validation and CRDs); this
// file re-exports them under the agreed names so every domain imports its section from here.

export { ALERT_EVENT_KINDS, ALERT_SEVERITIES, API_VERSION, DEFAULTS } from "./schema.js";
export type {
  AdmissionExemption,
  AdmissionPolicy,
  AlertSink,
  AlertSinkSpec,
  Application,
  ApplicationDestination,
  ApplicationRender,
  ApplicationSource,
  ApplicationSpec,
  ApplicationStatus,
  AttestationRequirement,
  CommitPolicy,
  CommitSigner,
  Condition,
  DriftMode,
  GitRef,
  ImagePolicy,
  ImageSigner,
  ObjectMeta,
  PolicyConfig,
  RegistryOptions,
  RenderType,
  SecretValueSource,
  Severity,
  TrustPolicy,
  TrustPolicySpec,
  TrustPolicyStatus,
  VulnerabilityPolicy,
} from "./schema.js";
