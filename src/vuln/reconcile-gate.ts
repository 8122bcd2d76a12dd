// The vulnerability gate in the reconcile's check step: after image trust has verified the revision's
// images, each verified digest is scanned (cached by digest + database version across reconciles) and a
// revision with an image that breaks spec.images.vulnerabilities is refused like any other gate failure.
// A missing or unreadable database refuses too: the gate fails closed.
import type { ImagePolicy } from "../config/types.js";
import type { RegistryClient } from "../images/client.js";
import { catalogImage } from "../sbom/image.js";
import type { ImageResult } from "../trust/image/verify.js";
import { dbFor, scanRevisionImages } from "./policy-scan.js";
import { describe } from "./report.js";
import { ScanCache, type InventoryOf } from "./scan.js";
import type { VulnDb } from "./db.js";

/** What the reconcile environment may hand the gate (tests inject the inventory function). */
export interface VulnGateEnv {
  readonly inventoryOf?: InventoryOf;
  readonly cache?: ScanCache;
  readonly db?: VulnDb;
}

/** Shared by every reconcile of a long-running operator process. */
const PROCESS_CACHE = new ScanCache();

export interface GateRefusal {
  readonly reason: "VULNERABLE_IMAGE" | "VULNERABILITY_DB_UNAVAILABLE" | "IMAGE_SCAN_FAILED";
  readonly message: string;
  readonly details: readonly string[];
  /** Advisory rule ids ("vuln/CVE-...") of the blocking findings, for the audit record's codes. */
  readonly codes: readonly string[];
  readonly blocking: number;
}

/** The digest reference of a verified image (scanned by digest so a moving tag cannot swap it). */
function pinnedRef(r: ImageResult): string {
  if (r.pinned !== undefined) return r.pinned;
  if (r.digest === undefined || r.ref.includes("@")) return r.ref;
  return `${r.ref}@${r.digest}`;
}

/** undefined when the policy has no vulnerability gate or every image passes it. */
export async function vulnerabilityRefusal(opts: {
  readonly policy: ImagePolicy;
  readonly verified: readonly ImageResult[];
  readonly client: RegistryClient;
  readonly env?: VulnGateEnv | undefined;
  readonly revision: string;
  readonly now?: Date | undefined;
}): Promise<GateRefusal | undefined> {
  const policy = opts.policy.vulnerabilities;
  if (policy === undefined) return undefined;
  let db = opts.env?.db;
  if (db === undefined) {
    if (policy.dbPath === undefined)
      return {
        reason: "VULNERABILITY_DB_UNAVAILABLE",
        message: `revision ${opts.revision} cannot be checked for vulnerabilities: spec.images.vulnerabilities has no dbPath`,
        details: [],
        codes: [],
        blocking: 0,
      };
    try {
      db = await dbFor(policy.dbPath);
    } catch (err) {
      return {
        reason: "VULNERABILITY_DB_UNAVAILABLE",
        message: `revision ${opts.revision} cannot be checked for vulnerabilities: ${err instanceof Error ? err.message : String(err)}`,
        details: [],
        codes: [],
        blocking: 0,
      };
    }
  }
  const inventoryOf: InventoryOf =
    opts.env?.inventoryOf ?? ((ref) => catalogImage(ref, { client: opts.client }));
  let scan;
  try {
    scan = await scanRevisionImages({
      policy,
      db,
      images: opts.verified.map((r) => ({ ref: pinnedRef(r), digest: r.digest })),
      inventoryOf,
      cache: opts.env?.cache ?? PROCESS_CACHE,
      ...(opts.now === undefined ? {} : { now: opts.now }),
    });
  } catch (err) {
    return {
      reason: "IMAGE_SCAN_FAILED",
      message: `revision ${opts.revision}: an image could not be scanned: ${err instanceof Error ? err.message : String(err)}`,
      details: [],
      codes: [],
      blocking: 0,
    };
  }
  if (scan.passed) return undefined;
  const details: string[] = [];
  const codes = new Set<string>();
  let blocking = 0;
  for (const s of scan.scans) {
    const v = s.verdict;
    details.push(
      `${s.reference}: database ${v.db.version.slice(0, 19)} imported ${v.db.importedAt} (${v.db.ageHours} h old)`,
    );
    for (const w of v.warnings) details.push(`${s.reference}: warning: ${w}`);
    for (const f of v.findings.filter((x) => x.blocking)) {
      blocking++;
      codes.add(`vuln/${f.id}`);
      details.push(`${s.reference}: ${f.counted} ${describe(f)}`);
    }
  }
  const first = scan.scans.flatMap((s) =>
    s.verdict.findings.filter((f) => f.blocking).map((f) => ({ s, f })),
  )[0];
  return {
    reason: "VULNERABLE_IMAGE",
    message:
      `revision ${opts.revision} uses an image with ${blocking} known vulnerability(ies) at or above ${scan.scans[0]?.verdict.failOn ?? "high"}` +
      (first === undefined
        ? ""
        : `: ${first.s.reference}: ${first.f.package.name} ${first.f.package.version} ${first.f.id}`),
    details,
    codes: [...codes],
    blocking,
  };
}
