// The vulnerability gate as `gitward check --trust` and the reconcile's check step run it: every image
// of a revision scanned against the database the policy names (or the one given), with one verdict per
// image. Reused by both so the CLI and the operator refuse exactly the same images.
import { stat } from "node:fs/promises";
import type { Severity, VulnerabilityPolicy } from "../config/types.js";
import { VulnError, VulnErrorCode } from "./errors.js";
import { loadDb, type VulnDb } from "./db.js";
import { scanImage, type ImageScan, type InventoryOf, type ScanCache } from "./scan.js";

export interface RevisionScanOptions {
  readonly policy: VulnerabilityPolicy;
  /** The image references, each with its verified digest when known (skips the registry on a cache hit). */
  readonly images: readonly { readonly ref: string; readonly digest?: string | undefined }[];
  readonly inventoryOf: InventoryOf;
  /** A database already loaded, else policy.dbPath (or dbPath) is loaded. */
  readonly db?: VulnDb;
  readonly dbPath?: string;
  readonly cache?: ScanCache;
  readonly now?: Date;
  readonly failOn?: Severity;
}

export interface RevisionScan {
  readonly passed: boolean;
  readonly scans: readonly ImageScan[];
}

/** Loads a database once per path and file version (the operator re-reads it when the file changes). */
const loaded = new Map<string, { mtimeMs: number; db: VulnDb }>();

export async function dbFor(path: string): Promise<VulnDb> {
  const st = await stat(path).catch(() => undefined);
  const hit = loaded.get(path);
  if (st !== undefined && hit?.mtimeMs === st.mtimeMs) return hit.db;
  const db = await loadDb(path);
  if (st !== undefined) loaded.set(path, { mtimeMs: st.mtimeMs, db });
  return db;
}

/** Scans every image; a missing database is an error (the gate fails closed), never a pass. */
export async function scanRevisionImages(opts: RevisionScanOptions): Promise<RevisionScan> {
  const path = opts.dbPath ?? opts.policy.dbPath;
  if (opts.db === undefined && path === undefined)
    throw new VulnError(
      VulnErrorCode.DB_INVALID,
      "spec.images.vulnerabilities needs a database: set dbPath (or --db)",
    );
  const db = opts.db ?? (await dbFor(path as string));
  const scans: ImageScan[] = [];
  for (const image of opts.images) {
    scans.push(
      await scanImage(image.ref, {
        db,
        policy: opts.policy,
        inventoryOf: opts.inventoryOf,
        ...(opts.now === undefined ? {} : { now: opts.now }),
        ...(opts.failOn === undefined ? {} : { failOn: opts.failOn }),
        ...(opts.cache === undefined ? {} : { cache: opts.cache }),
        ...(image.digest === undefined ? {} : { digest: image.digest }),
      }),
    );
  }
  return { passed: scans.every((s) => s.verdict.passed), scans };
}
