// The render pipeline `gitward check` and reconcile share, so that what check passes is exactly what
// reconcile applies: the same render settings (from an Application or from check's flags), the same tool
// lookup (resolveTools) and the same pre-apply checks (precheckManifests), offline or against a cluster.
import type { Application } from "../config/types.js";
import type { ClusterClient } from "../cluster/client.js";
import { builtInScope } from "../cluster/core-kinds.js";
import { ClusterError, ClusterErrorCode } from "../cluster/errors.js";
import { render, type RenderOptions, type RenderType } from "../render/render.js";
import { resolveTools, type RenderTools } from "../render/tool.js";
import type { Manifest, RenderLimits, RenderResult } from "../render/types.js";
import {
  crdScopes,
  precheckManifests,
  type PrecheckOptions,
  type PrecheckResult,
  type Destination,
  type Scope,
  type ScopeLookup,
} from "./desired.js";

/** How a revision is rendered: spec.render of an Application, or the same settings from check's flags. */
export interface RenderSettings {
  readonly type: RenderType;
  /** Folder inside the repository ("." for its root). */
  readonly path: string;
  readonly valuesFiles?: readonly string[] | undefined;
  readonly allowRemoteBases?: boolean | undefined;
  /** helm: default the chart's name (DEFAULT_RELEASE_NAME in render/helm.ts). */
  readonly releaseName?: string | undefined;
  readonly include?: readonly string[] | undefined;
  readonly exclude?: readonly string[] | undefined;
  readonly allowEmpty?: boolean | undefined;
}

/** The render settings of an Application (its source path and spec.render). */
export function renderSettingsOf(app: Application): RenderSettings {
  const r = app.spec.render;
  return {
    type: r.type,
    path: app.spec.source.path ?? ".",
    valuesFiles: r.valuesFiles,
    allowRemoteBases: r.allowRemoteBases,
    releaseName: r.releaseName,
    include: r.include,
    exclude: r.exclude,
    allowEmpty: r.allowEmpty,
  };
}

export interface RenderRevisionOptions {
  /** The checkout (or working copy) of the repository: nothing outside it is read. */
  readonly repoRoot: string;
  readonly settings: RenderSettings;
  /** The destination namespace (helm --namespace). */
  readonly namespace?: string | undefined;
  /** The binaries; default resolveTools() (flags none, then $GITWARD_KUBECTL/$GITWARD_HELM, .tools/bin, PATH). */
  readonly tools?: RenderTools | undefined;
  readonly limits?: Partial<RenderLimits> | undefined;
}

/** Renders a revision as both check and reconcile do. */
export async function renderRevision(opts: RenderRevisionOptions): Promise<RenderResult> {
  const s = opts.settings;
  // exactOptionalPropertyTypes: a setting left undefined is left out, not passed as undefined.
  const given = Object.fromEntries(
    Object.entries({
      valuesFiles: s.valuesFiles,
      allowRemoteBases: s.allowRemoteBases,
      releaseName: s.releaseName,
      include: s.include,
      exclude: s.exclude,
      allowEmpty: s.allowEmpty,
    }).filter(([, v]) => v !== undefined),
  ) as Partial<RenderOptions>;
  return render({
    ...given,
    repoRoot: opts.repoRoot,
    path: s.path,
    type: s.type,
    ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    tools: opts.tools ?? resolveTools(),
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
  });
}

/** Scopes from the cluster's discovery, then from the revision's own CRDs; unknown to both: undefined. */
export function clusterScopes(cluster: ClusterClient, manifests: readonly Manifest[]): ScopeLookup {
  const crds = crdScopes(manifests);
  return async (apiVersion, kind): Promise<Scope | undefined> => {
    try {
      return (await cluster.resource(apiVersion, kind)).namespaced ? "namespaced" : "cluster";
    } catch (err) {
      if (err instanceof ClusterError && err.code === ClusterErrorCode.UnknownKind) {
        return crds.get(`${apiVersion} ${kind}`);
      }
      throw err;
    }
  };
}

/**
 * Without a cluster: the built-in kinds and the revision's CRDs. A kind of a built-in group that
 * Kubernetes does not have is refused (UNKNOWN_KIND); other custom resources pass unchecked for scope.
 */
export function offlineScopes(
  manifests: readonly Manifest[],
): Pick<PrecheckOptions, "scopeOf" | "refuseUnknown"> {
  const crds = crdScopes(manifests);
  return {
    scopeOf: (apiVersion, kind) => {
      const known = crds.get(`${apiVersion} ${kind}`);
      if (known !== undefined) return Promise.resolve(known);
      const builtIn = builtInScope(apiVersion, kind);
      return Promise.resolve(builtIn === "unknown" ? undefined : builtIn);
    },
    refuseUnknown: (apiVersion, kind) =>
      !crds.has(`${apiVersion} ${kind}`) && builtInScope(apiVersion, kind) === "unknown",
  };
}

/**
 * The pre-apply checks for `gitward check`: against the cluster's discovery when one is given (as
 * reconcile does), else offline. Reconcile runs the same precheckManifests inside prepareDesired.
 */
export async function precheckRevision(
  manifests: readonly Manifest[],
  destination: Destination,
  cluster?: ClusterClient,
): Promise<PrecheckResult> {
  const scopes =
    cluster === undefined ? offlineScopes(manifests) : { scopeOf: clusterScopes(cluster, manifests) };
  return precheckManifests(manifests, { destination, ...scopes });
}
