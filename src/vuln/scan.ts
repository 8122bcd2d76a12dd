// Scans one image: its inventory (from catalogImage, or any inventory function a caller injects) matched
// against the local database and evaluated by the gate. Results are cached by image digest + database
// version, so the operator re-checks an unchanged image against an unchanged database for free.
import type { VulnerabilityPolicy, Severity } from "../config/types.js";
import type { ImageInventory } from "../sbom/types.js";
import type { VulnDb } from "./db.js";
import { evaluateGate, type GateVerdict } from "./gate.js";
import { matchInventory, type MatchResult } from "./match.js";

/** The packages of an image: catalogImage bound to a registry client, or a test's own. */
export type InventoryOf = (reference: string) => Promise<ImageInventory>;

export interface ImageScan {
  readonly reference: string;
  readonly digest: string;
  readonly os?: ImageInventory["os"];
  readonly packages: number;
  readonly verdict: GateVerdict;
  readonly cached: boolean;
}

/** Match results by digest + database version; the gate is evaluated afresh (policy and time change). */
export class ScanCache {
  private readonly entries = new Map<
    string,
    { inv: Pick<ImageInventory, "os" | "digest">; n: number; m: MatchResult }
  >();
  private readonly max: number;
  constructor(max = 1000) {
    this.max = max;
  }
  get(
    digest: string,
    db: string,
  ): { inv: Pick<ImageInventory, "os" | "digest">; n: number; m: MatchResult } | undefined {
    return this.entries.get(`${digest} ${db}`);
  }
  set(
    digest: string,
    db: string,
    v: { inv: Pick<ImageInventory, "os" | "digest">; n: number; m: MatchResult },
  ): void {
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(`${digest} ${db}`, v);
  }
}

export interface ScanOptions {
  readonly db: VulnDb;
  readonly policy?: VulnerabilityPolicy;
  readonly inventoryOf: InventoryOf;
  readonly now?: Date;
  readonly failOn?: Severity;
  readonly cache?: ScanCache;
  /** The image's digest when already known (verified by image trust): a cache hit needs no registry call. */
  readonly digest?: string;
}

/** Scans an inventory already in hand (the `--sbom` path and the cached path both end here). */
export function scanInventory(
  inv: Pick<ImageInventory, "reference" | "digest" | "os" | "packages">,
  opts: Omit<ScanOptions, "inventoryOf" | "cache" | "digest">,
  cached = false,
  match: MatchResult = matchInventory(inv, opts.db),
): ImageScan {
  const verdict = evaluateGate(match.findings, opts.policy, opts.db, {
    now: opts.now ?? new Date(),
    ...(opts.failOn === undefined ? {} : { failOn: opts.failOn }),
    matchWarnings: match.warnings,
  });
  return {
    reference: inv.reference,
    digest: inv.digest,
    ...(inv.os === undefined ? {} : { os: inv.os }),
    packages: inv.packages.length,
    verdict,
    cached,
  };
}

export async function scanImage(reference: string, opts: ScanOptions): Promise<ImageScan> {
  const hit = opts.digest === undefined ? undefined : opts.cache?.get(opts.digest, opts.db.digest);
  if (hit !== undefined) {
    const inv = {
      reference,
      digest: hit.inv.digest,
      ...(hit.inv.os === undefined ? {} : { os: hit.inv.os }),
    };
    return { ...scanInventory({ ...inv, packages: [] }, opts, true, hit.m), packages: hit.n };
  }
  const inv = await opts.inventoryOf(reference);
  const m = matchInventory(inv, opts.db);
  opts.cache?.set(inv.digest, opts.db.digest, {
    inv: { digest: inv.digest, ...(inv.os === undefined ? {} : { os: inv.os }) },
    n: inv.packages.length,
    m,
  });
  return scanInventory(inv, opts, false, m);
}
