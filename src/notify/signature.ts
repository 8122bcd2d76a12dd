// HMAC-SHA256 signatures of outgoing alert bodies, and their verification for receivers.
// Scheme (docs/adr/0005-config-and-audit.md): X-Gitward-Timestamp is the Unix time in seconds;
// X-Gitward-Signature is "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)). The MAC covers the
// timestamp, so a receiver that rejects old timestamps (default 5 minutes) rejects replays.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Gitward-Signature";
export const TIMESTAMP_HEADER = "X-Gitward-Timestamp";
export const DELIVERY_HEADER = "X-Gitward-Delivery";
export const EVENT_HEADER = "X-Gitward-Event";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signBody(secret: string, timestamp: number, body: string): string {
  // An empty key makes a MAC anyone can compute: refuse to sign with one, as the verifier refuses it.
  if (secret === "") throw new TypeError("refusing to sign an alert with an empty secret");
  return "sha256=" + createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex");
}

/**
 * Compares two strings in time that does not depend on where they differ; inputs of different lengths
 * are hashed first so that the comparison itself is always of equal-length buffers.
 */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ab = Buffer.isBuffer(a) ? a : Buffer.from(a, "utf8");
  const bb = Buffer.isBuffer(b) ? b : Buffer.from(b, "utf8");
  if (ab.length !== bb.length) {
    // Still spend a comparison so that a length mismatch does not return measurably faster.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export type SignatureVerdict =
  | { ok: true }
  | {
      ok: false;
      /** NO_SECRET: the receiver has an empty secret, which anyone could sign with: always refused. */
      reason: "NO_SECRET" | "MISSING" | "MALFORMED" | "STALE" | "MISMATCH";
    };

/** Verifies a received alert: signature over timestamp and body, timestamp within the tolerance. */
export function verifyBodySignature(options: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  /** Seconds since the epoch, injectable for tests. */
  nowSeconds?: number;
  toleranceSeconds?: number;
}): SignatureVerdict {
  const { secret, body, timestamp, signature } = options;
  // Like the git webhook verifiers: an HMAC under the empty key proves nothing about the sender.
  if (secret === "") return { ok: false, reason: "NO_SECRET" };
  if (timestamp === undefined || signature === undefined) return { ok: false, reason: "MISSING" };
  if (!/^[0-9]{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: "MALFORMED" };
  }
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { ok: false, reason: "STALE" };
  }
  const expected = signBody(secret, Number(timestamp), body);
  return constantTimeEqual(expected, signature) ? { ok: true } : { ok: false, reason: "MISMATCH" };
}
