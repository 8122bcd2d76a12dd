// Verifies push webhooks from git hosts before a reconcile is triggered by them: GitHub
// (X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body), Gitea (X-Gitea-Signature: hex
// HMAC-SHA256 of the raw body) and GitLab (X-Gitlab-Token: the shared secret itself). Pure functions over
// headers and the raw body bytes; every comparison is constant-time. The payload is attacker-controlled
// until verified, and is parsed only after the signature checks out, and then defensively.
import { createHash, createHmac } from "node:crypto";
import { constantTimeEqual } from "./signature.js";

export type GitProvider = "github" | "gitlab" | "gitea";

/** Header names in lower case, as node:http gives them. */
export type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

export type GitWebhookVerdict =
  | {
      ok: true;
      provider: GitProvider;
      /** "push", "tag_push", "ping"... as the host names it. */
      event: string;
      /** The pushed ref ("refs/heads/main") and new commit, when the payload is a push. */
      ref?: string;
      after?: string;
      /**
       * The host's id of this delivery, the same when it resends it (GitHub X-GitHub-Delivery, GitLab
       * Idempotency-Key or else X-Gitlab-Event-UUID, Gitea X-Gitea-Delivery), for dropping repeats. Not
       * covered by the signature (GitHub and Gitea sign the body only): it names a delivery, it proves nothing.
       */
      delivery?: string;
    }
  | {
      ok: false;
      /** UNKNOWN_PROVIDER: no provider's headers; MISSING_SIGNATURE; BAD_SIGNATURE; BAD_PAYLOAD; TOO_LARGE. */
      reason: "UNKNOWN_PROVIDER" | "MISSING_SIGNATURE" | "BAD_SIGNATURE" | "BAD_PAYLOAD" | "TOO_LARGE";
      provider?: GitProvider;
    };

export const MAX_WEBHOOK_BYTES = 1024 * 1024;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (Array.isArray(value)) return value.length === 1 ? (value[0] as string) : undefined;
  return typeof value === "string" ? value : undefined;
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, raw body). */
export function verifyGitHubSignature(body: Buffer, signature: string | undefined, secret: string): boolean {
  if (signature === undefined || secret === "") return false;
  return constantTimeEqual("sha256=" + hmacHex(secret, body), signature.trim().toLowerCase());
}

/** Gitea: X-Gitea-Signature = hex HMAC-SHA256(secret, raw body). */
export function verifyGiteaSignature(body: Buffer, signature: string | undefined, secret: string): boolean {
  if (signature === undefined || secret === "") return false;
  return constantTimeEqual(hmacHex(secret, body), signature.trim().toLowerCase());
}

/**
 * GitLab: X-Gitlab-Token is the secret itself. Both sides are hashed before the comparison so that
 * neither the content nor the length of the secret leaks through timing.
 */
export function verifyGitLabToken(token: string | undefined, secret: string): boolean {
  if (token === undefined || secret === "") return false;
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return constantTimeEqual(digest(token), digest(secret));
}

/** Where each host puts its delivery id, best first. */
const DELIVERY_HEADERS: Readonly<Record<GitProvider, readonly string[]>> = {
  github: ["x-github-delivery"],
  // Idempotency-Key (GitLab 17.4+) stays the same across retries; X-Gitlab-Event-UUID names the event.
  // X-Gitlab-Webhook-UUID is not per delivery, so it is not used.
  gitlab: ["idempotency-key", "x-gitlab-event-uuid"],
  gitea: ["x-gitea-delivery", "x-gogs-delivery", "x-github-delivery"],
};

/** A delivery id as hosts send them (UUIDs, GUIDs): anything else is ignored rather than trusted. */
const DELIVERY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function deliveryId(headers: Headers, provider: GitProvider): string | undefined {
  for (const name of DELIVERY_HEADERS[provider]) {
    const value = header(headers, name)?.trim();
    if (value !== undefined && DELIVERY_PATTERN.test(value)) return value;
  }
  return undefined;
}

/** Which host sent the request. Gitea also sends X-GitHub-Event for compatibility, so it is checked first. */
export function detectProvider(headers: Headers): GitProvider | undefined {
  if (header(headers, "x-gitea-event") !== undefined) return "gitea";
  if (header(headers, "x-gitlab-event") !== undefined) return "gitlab";
  if (header(headers, "x-github-event") !== undefined) return "github";
  return undefined;
}

/** Verifies a git host's webhook request and extracts the pushed ref and commit. */
export function verifyGitWebhook(headers: Headers, body: Buffer, secret: string): GitWebhookVerdict {
  if (body.length > MAX_WEBHOOK_BYTES) return { ok: false, reason: "TOO_LARGE" };
  const provider = detectProvider(headers);
  if (provider === undefined) return { ok: false, reason: "UNKNOWN_PROVIDER" };
  let verified: boolean;
  let presented: string | undefined;
  let event: string | undefined;
  switch (provider) {
    case "github":
      presented = header(headers, "x-hub-signature-256");
      verified = verifyGitHubSignature(body, presented, secret);
      event = header(headers, "x-github-event");
      break;
    case "gitea":
      presented = header(headers, "x-gitea-signature");
      verified = verifyGiteaSignature(body, presented, secret);
      event = header(headers, "x-gitea-event");
      break;
    case "gitlab":
      presented = header(headers, "x-gitlab-token");
      verified = verifyGitLabToken(presented, secret);
      event = header(headers, "x-gitlab-event");
      break;
  }
  if (presented === undefined) return { ok: false, reason: "MISSING_SIGNATURE", provider };
  if (!verified) return { ok: false, reason: "BAD_SIGNATURE", provider };

  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, reason: "BAD_PAYLOAD", provider };
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: "BAD_PAYLOAD", provider };
  }
  const { ref, after } = payload as { ref?: unknown; after?: unknown };
  const verdict: GitWebhookVerdict = { ok: true, provider, event: normaliseEvent(event ?? "") };
  if (typeof ref === "string" && /^refs\/[^\s\0]{1,250}$/.test(ref)) verdict.ref = ref;
  if (typeof after === "string" && /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(after)) verdict.after = after;
  const delivery = deliveryId(headers, provider);
  if (delivery !== undefined) verdict.delivery = delivery;
  return verdict;
}

/** GitLab names events "Push Hook", "Tag Push Hook"; the others "push". Make them alike. */
function normaliseEvent(event: string): string {
  return event
    .replace(/ Hook$/, "")
    .trim()
    .toLowerCase()
    .replace(/\s+/g, "_")
    .slice(0, 64);
}
