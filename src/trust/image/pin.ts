// Rewrites the images of pod templates to `image@sha256:...` (containers, init and ephemeral containers of
// Pods, workloads and CronJobs), so what runs is what was verified even if a tag moves afterwards.

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return cur;
}

/** The pod specs inside a Kubernetes object (none for kinds without pods). */
export function podSpecsOf(obj: unknown): Json[] {
  if (!isRecord(obj)) return [];
  const candidates =
    obj.kind === "Pod"
      ? [at(obj, ["spec"])]
      : obj.kind === "CronJob"
        ? [at(obj, ["spec", "jobTemplate", "spec", "template", "spec"])]
        : [at(obj, ["spec", "template", "spec"])];
  return candidates.filter(isRecord);
}

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;

/** Every image named by the object's pod specs. */
export function imagesOf(obj: unknown): string[] {
  const out: string[] = [];
  for (const spec of podSpecsOf(obj)) {
    for (const list of CONTAINER_LISTS) {
      const cs = spec[list];
      if (!Array.isArray(cs)) continue;
      for (const c of cs) if (isRecord(c) && typeof c.image === "string") out.push(c.image);
    }
  }
  return out;
}

export interface PinChange {
  path: string;
  from: string;
  to: string;
}

/**
 * Returns a copy of `obj` whose pod-template images are replaced by `pinned(image)` when that is defined,
 * and the list of changes. The input is not modified.
 */
export function pinPodTemplateImages<T>(
  obj: T,
  pinned: (image: string) => string | undefined,
): { object: T; changes: PinChange[] } {
  const copy = structuredClone(obj);
  const changes: PinChange[] = [];
  const prefix =
    isRecord(copy) && copy.kind === "Pod"
      ? "spec"
      : isRecord(copy) && copy.kind === "CronJob"
        ? "spec.jobTemplate.spec.template.spec"
        : "spec.template.spec";
  for (const spec of podSpecsOf(copy)) {
    for (const list of CONTAINER_LISTS) {
      const cs = spec[list];
      if (!Array.isArray(cs)) continue;
      cs.forEach((c: unknown, i) => {
        if (!isRecord(c) || typeof c.image !== "string") return;
        const to = pinned(c.image);
        if (to === undefined || to === c.image) return;
        changes.push({ path: `${prefix}.${list}[${i}].image`, from: c.image, to });
        c.image = to;
      });
    }
  }
  return { object: copy, changes };
}

/** A `pinned` function from verification results: reference as written → `reference@digest`. */
export function pinnedFrom(
  results: readonly { ref: string; pinned?: string; ok: boolean }[],
): (image: string) => string | undefined {
  const map = new Map(results.filter((r) => r.ok && r.pinned !== undefined).map((r) => [r.ref, r.pinned]));
  return (image) => map.get(image);
}

/**
 * The manifests with their pod-template images pinned to the digests verification resolved, as the
 * reconcile applies them (and `gitward render` prints them); unchanged when the policy does not require
 * digests. One function for both, so what is shown is what is applied.
 */
export function pinVerified<M extends { readonly object: Readonly<Record<string, unknown>> }>(
  manifests: readonly M[],
  results: readonly { ref: string; pinned?: string; ok: boolean }[],
  requireDigest: boolean | undefined,
): M[] {
  if (requireDigest === false) return [...manifests];
  const pinned = pinnedFrom(results);
  return manifests.map((m) => ({ ...m, object: pinPodTemplateImages(m.object, pinned).object }));
}
