// Turns rendered manifests into the objects gitward will apply: each placed in its namespace (the
// destination's by default), refused when it lands outside what the Application allows, SealedSecrets
// opened in memory into Secrets, and every object labelled as owned by the application. All problems are
// collected and returned together, before anything is written.
import type { Application } from "../config/types.js";
import type { KubeObject } from "../cluster/client.js";
import type { Manifest, Origin } from "../render/types.js";
import type { SealingKeyRing } from "../secrets/keys.js";
import { SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND } from "../secrets/types.js";
import { unsealSecret } from "../secrets/unseal.js";
import { hashOf } from "./compare.js";
import {
  MANAGED_BY_LABEL,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  keyOf,
  ownerLabelValue,
  type AppId,
} from "./inventory.js";

export interface DesiredObject {
  readonly object: KubeObject;
  /** Hash of what git says (for a Secret from a SealedSecret: of the sealed form, never the plaintext). */
  readonly hash: string;
  readonly origin: Origin;
  readonly namespaced: boolean;
}

export type Scope = "namespaced" | "cluster";

/** Whether a kind is namespaced; undefined when neither the cluster nor the revision's CRDs know it. */
export type ScopeLookup = (apiVersion: string, kind: string) => Promise<Scope | undefined>;

export interface PrepareOptions {
  readonly app: Application;
  readonly scopeOf: ScopeLookup;
  readonly sealingKeys?: SealingKeyRing;
}

export type PrepareProblemCode =
  "OUT_OF_SCOPE" | "CLUSTER_SCOPED" | "UNKNOWN_KIND" | "DUPLICATE_OBJECT" | "SEALED_SECRET";

export interface PrepareProblem {
  readonly code: PrepareProblemCode;
  readonly message: string;
  /** The object's file and line (absent for problems of the revision as a whole). */
  readonly origin?: Origin;
}

export type PrepareResult =
  { ok: true; objects: DesiredObject[] } | { ok: false; problems: PrepareProblem[] };

/** Where an Application may write: the fields of spec.destination the pre-apply checks read. */
export interface Destination {
  /** Objects without a namespace go here; undefined when not known (`gitward check` without --namespace). */
  readonly namespace?: string | undefined;
  readonly allowedNamespaces?: readonly string[] | undefined;
  readonly allowClusterScoped?: boolean | undefined;
}

export interface PrecheckOptions {
  readonly destination: Destination;
  readonly scopeOf: ScopeLookup;
  /**
   * Whether a kind whose scope is unknown is refused (UNKNOWN_KIND). Reconcile asks the cluster, so it
   * refuses every unknown kind; an offline check knows only the built-in kinds, so it passes custom
   * resources whose CRD is not in the revision (their scope is then not checked) and refuses only kinds
   * that a built-in group does not have.
   */
  readonly refuseUnknown?: (apiVersion: string, kind: string) => boolean;
}

/** A manifest placed: its scope and the namespace it will be written to (none when cluster-scoped). */
export interface PlacedManifest {
  readonly manifest: Manifest;
  readonly scope: Scope;
  readonly namespace: string | undefined;
}

export interface PrecheckResult {
  /** The manifests that passed, in order; those with a problem (or of an unknown, passed kind) are not here. */
  readonly placed: PlacedManifest[];
  readonly problems: PrepareProblem[];
}

function where(o: Origin): string {
  return `${o.file}:${o.line}`;
}

const isSealed = (m: Manifest): boolean =>
  m.kind === SEALED_SECRET_KIND && m.apiVersion === SEALED_SECRET_API_VERSION;

/**
 * The pre-apply checks of a revision, the same for `gitward check` and reconcile: each object's kind must
 * be known (UNKNOWN_KIND), a namespaced one must land in a namespace the destination allows
 * (OUT_OF_SCOPE), a cluster-scoped one needs allowClusterScoped (CLUSTER_SCOPED), and no two objects may be
 * the same object (DUPLICATE_OBJECT: same group, kind, namespace and name; a SealedSecret counts as the
 * Secret it becomes).
 */
export async function precheckManifests(
  manifests: readonly Manifest[],
  opts: PrecheckOptions,
): Promise<PrecheckResult> {
  const dest = opts.destination;
  const allowed = new Set([
    ...(dest.namespace === undefined ? [] : [dest.namespace]),
    ...(dest.allowedNamespaces ?? []),
  ]);
  const refuseUnknown = opts.refuseUnknown ?? (() => true);
  const placed: PlacedManifest[] = [];
  const problems: PrepareProblem[] = [];
  const seen = new Map<string, Origin>();
  for (const m of manifests) {
    const problem = (code: PrepareProblemCode, message: string): void => {
      problems.push({ code, message: `${where(m.origin)}: ${message}`, origin: m.origin });
    };
    // A SealedSecret is never applied as such (it becomes a Secret), so the cluster need not serve its CRD.
    const scope: Scope | undefined = isSealed(m) ? "namespaced" : await opts.scopeOf(m.apiVersion, m.kind);
    let namespace: string | undefined;
    if (scope === undefined) {
      if (refuseUnknown(m.apiVersion, m.kind)) {
        problem(
          "UNKNOWN_KIND",
          `${m.kind} (${m.apiVersion}) is not a known kind: the cluster does not serve it and no CRD of the revision defines it`,
        );
        continue;
      }
      namespace = m.namespace ?? dest.namespace;
    } else if (scope === "namespaced") {
      namespace = m.namespace ?? dest.namespace;
      if (namespace !== undefined && dest.namespace !== undefined && !allowed.has(namespace)) {
        problem(
          "OUT_OF_SCOPE",
          `${m.kind} ${namespace}/${m.name} is outside the application's namespace ${dest.namespace}; add ${namespace} to destination.allowedNamespaces to allow it`,
        );
        continue;
      }
    } else if (dest.allowClusterScoped !== true) {
      problem(
        "CLUSTER_SCOPED",
        `${m.kind} ${m.name} is cluster-scoped; set destination.allowClusterScoped to allow it`,
      );
      continue;
    }
    const key = keyOf({
      apiVersion: isSealed(m) ? "v1" : m.apiVersion,
      kind: isSealed(m) ? "Secret" : m.kind,
      name: m.name,
      ...(namespace === undefined ? {} : { namespace }),
    });
    const first = seen.get(key);
    if (first !== undefined) {
      problem("DUPLICATE_OBJECT", `${m.kind} ${m.name} is also defined at ${where(first)}; keep one`);
      continue;
    }
    seen.set(key, m.origin);
    if (scope !== undefined) placed.push({ manifest: m, scope, namespace });
  }
  return { placed, problems };
}

export function appIdOf(app: Application): AppId {
  return { namespace: app.metadata.namespace, name: app.metadata.name };
}

/**
 * Computed scopes by revision: the apply step asks once for every object it applies, which made a
 * revision of n objects cost n² without it. The length guards an array that grew since it was asked.
 */
const crdScopeMemo = new WeakMap<
  readonly Manifest[],
  { readonly length: number; readonly scopes: ReadonlyMap<string, Scope> }
>();

/** The scope each CustomResourceDefinition of the revision gives its kind ("group/version kind" keys). */
export function crdScopes(manifests: readonly Manifest[]): ReadonlyMap<string, Scope> {
  const memo = crdScopeMemo.get(manifests);
  if (memo?.length === manifests.length) return memo.scopes;
  const out = new Map<string, Scope>();
  for (const m of manifests) {
    if (m.kind !== "CustomResourceDefinition") continue;
    const spec = m.object["spec"] as
      | { group?: unknown; scope?: unknown; names?: { kind?: unknown }; versions?: { name?: unknown }[] }
      | undefined;
    if (typeof spec?.group !== "string" || typeof spec.names?.kind !== "string") continue;
    for (const v of spec.versions ?? []) {
      if (typeof v.name !== "string") continue;
      out.set(
        `${spec.group}/${v.name} ${spec.names.kind}`,
        spec.scope === "Cluster" ? "cluster" : "namespaced",
      );
    }
  }
  crdScopeMemo.set(manifests, { length: manifests.length, scopes: out });
  return out;
}

export async function prepareDesired(
  manifests: readonly Manifest[],
  opts: PrepareOptions,
): Promise<PrepareResult> {
  const { app } = opts;
  const owner = ownerLabelValue(appIdOf(app));
  const pre = await precheckManifests(manifests, {
    destination: app.spec.destination,
    scopeOf: opts.scopeOf,
  });
  const problems: PrepareProblem[] = [...pre.problems];
  const objects: DesiredObject[] = [];

  for (const { manifest: m, scope, namespace } of pre.placed) {
    let source: Record<string, unknown> = structuredClone(m.object);
    let hash = hashOf(source);
    const meta = { ...((source["metadata"] ?? {}) as Record<string, unknown>) };
    if (namespace === undefined) delete meta["namespace"];
    else meta["namespace"] = namespace;
    source["metadata"] = meta;

    if (isSealed(m)) {
      const sealedProblem = (message: string): void => {
        problems.push({ code: "SEALED_SECRET", message: `${where(m.origin)}: ${message}`, origin: m.origin });
      };
      if (opts.sealingKeys === undefined) {
        sealedProblem(`SealedSecret ${m.name} cannot be opened: no sealing keys are loaded`);
        continue;
      }
      const opened = unsealSecret(source, opts.sealingKeys, namespace === undefined ? {} : { namespace });
      if (!opened.ok) {
        sealedProblem(opened.message);
        continue;
      }
      // The hash stays the sealed form's: a hash of plaintext values must never be stored.
      hash = hashOf(source);
      source = structuredClone(opened.secret) as unknown as Record<string, unknown>;
    }

    const sm = (source["metadata"] ?? {}) as Record<string, unknown>;
    const labels = { ...((sm["labels"] ?? {}) as Record<string, string>) };
    labels[OWNER_LABEL] = owner;
    labels[MANAGED_BY_LABEL] = "gitward";
    const annotations = { ...((sm["annotations"] ?? {}) as Record<string, string>) };
    annotations[OWNER_ANNOTATION] = `${app.metadata.namespace}/${app.metadata.name}`;
    source["metadata"] = { ...sm, labels, annotations };
    objects.push({
      object: source as KubeObject,
      hash,
      origin: m.origin,
      namespaced: scope === "namespaced",
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, objects };
}
