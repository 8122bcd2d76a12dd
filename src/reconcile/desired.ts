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

export interface PrepareOptions {
  readonly app: Application;
  /** Whether a kind is namespaced; undefined when the cluster (and the revision's CRDs) do not know it. */
  readonly scopeOf: (apiVersion: string, kind: string) => Promise<Scope | undefined>;
  readonly sealingKeys?: SealingKeyRing;
}

export interface PrepareProblem {
  readonly code: "OUT_OF_SCOPE" | "CLUSTER_SCOPED" | "UNKNOWN_KIND" | "DUPLICATE_OBJECT" | "SEALED_SECRET";
  readonly message: string;
}

export type PrepareResult =
  { ok: true; objects: DesiredObject[] } | { ok: false; problems: PrepareProblem[] };

function where(o: Origin): string {
  return `${o.file}:${o.line}`;
}

export function appIdOf(app: Application): AppId {
  return { namespace: app.metadata.namespace, name: app.metadata.name };
}

/** The scope each CustomResourceDefinition of the revision gives its kind ("group/version kind" keys). */
export function crdScopes(manifests: readonly Manifest[]): Map<string, Scope> {
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
  return out;
}

export async function prepareDesired(
  manifests: readonly Manifest[],
  opts: PrepareOptions,
): Promise<PrepareResult> {
  const { app } = opts;
  const dest = app.spec.destination;
  const allowed = new Set([dest.namespace, ...(dest.allowedNamespaces ?? [])]);
  const owner = ownerLabelValue(appIdOf(app));
  const problems: PrepareProblem[] = [];
  const objects: DesiredObject[] = [];
  const seen = new Map<string, Origin>();

  for (const m of manifests) {
    let source: Record<string, unknown> = structuredClone(m.object);
    let hash = hashOf(source);
    // A SealedSecret is never applied as such (it becomes a Secret), so the cluster need not serve its CRD.
    const scope: Scope | undefined =
      m.kind === SEALED_SECRET_KIND && m.apiVersion === SEALED_SECRET_API_VERSION
        ? "namespaced"
        : await opts.scopeOf(m.apiVersion, m.kind);
    if (scope === undefined) {
      problems.push({
        code: "UNKNOWN_KIND",
        message: `${where(m.origin)}: the cluster does not serve ${m.kind} (${m.apiVersion}) and the revision has no CRD for it`,
      });
      continue;
    }
    const meta = { ...((source["metadata"] ?? {}) as Record<string, unknown>) };
    let namespace: string | undefined;
    if (scope === "namespaced") {
      namespace = m.namespace ?? dest.namespace;
      if (!allowed.has(namespace)) {
        problems.push({
          code: "OUT_OF_SCOPE",
          message: `${where(m.origin)}: ${m.kind} ${namespace}/${m.name} is outside the application's namespace ${dest.namespace}; add ${namespace} to destination.allowedNamespaces to allow it`,
        });
        continue;
      }
      meta["namespace"] = namespace;
    } else {
      if (dest.allowClusterScoped !== true) {
        problems.push({
          code: "CLUSTER_SCOPED",
          message: `${where(m.origin)}: ${m.kind} ${m.name} is cluster-scoped; set destination.allowClusterScoped to allow it`,
        });
        continue;
      }
      delete meta["namespace"];
    }
    source["metadata"] = meta;

    if (m.kind === SEALED_SECRET_KIND && m.apiVersion === SEALED_SECRET_API_VERSION) {
      if (opts.sealingKeys === undefined) {
        problems.push({
          code: "SEALED_SECRET",
          message: `${where(m.origin)}: SealedSecret ${m.name} cannot be opened: no sealing keys are loaded`,
        });
        continue;
      }
      const opened = unsealSecret(source, opts.sealingKeys, namespace === undefined ? {} : { namespace });
      if (!opened.ok) {
        problems.push({ code: "SEALED_SECRET", message: `${where(m.origin)}: ${opened.message}` });
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
    const object = source as KubeObject;

    const key = keyOf({
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name,
      ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    });
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        code: "DUPLICATE_OBJECT",
        message: `${where(m.origin)}: ${m.kind} ${m.name} is also defined at ${where(first)}; keep one`,
      });
      continue;
    }
    seen.set(key, m.origin);
    objects.push({ object, hash, origin: m.origin, namespaced: scope === "namespaced" });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, objects };
}
