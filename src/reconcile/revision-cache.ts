// The outcome of render and check kept across reconciles by a long-running process, so a revision
// already checked is not rendered and checked again; its key covers everything that could change the outcome.
import type { FindingsSummary } from "../audit/record.js";
import type { Manifest } from "../render/types.js";
import { hashOf } from "./compare.js";
import type { DesiredObject } from "./desired.js";
import type { AppId } from "./inventory.js";
import type { Run } from "./reconcile-run.js";

interface CachedRevision {
  readonly key: string;
  readonly manifests: readonly Manifest[];
  readonly desired: DesiredObject[];
  readonly findings: FindingsSummary;
}

/**
 * The outcome of render and check for the last passing revision of each application, so the periodic
 * no-op reconcile of an operator does not render and check the same commit again. The key covers the
 * commit, the Application and TrustPolicy specs and the sealing keys; revisions whose images are not all
 * pinned in git are never cached, since a moved tag must be noticed on every pass.
 */
export class RevisionCache {
  private readonly entries = new Map<string, CachedRevision>();

  get(app: AppId, key: string): CachedRevision | undefined {
    const e = this.entries.get(`${app.namespace}/${app.name}`);
    return e?.key === key ? e : undefined;
  }

  set(app: AppId, entry: CachedRevision): void {
    this.entries.set(`${app.namespace}/${app.name}`, entry);
  }
}

export function cacheKey(run: Run): string {
  return hashOf({
    head: run.fetched?.head,
    app: run.app.spec,
    trust: run.trust.spec,
    keys: run.env.sealingKeys?.keys.map((k) => k.fingerprint) ?? [],
  });
}
