// Bearer-token authentication: the admin token, tokens minted for tests, and service-account tokens from
// the TokenRequest subresource (valid only while that service account, by uid, still exists). Tokens are
// kept as SHA-256 digests, so the state file under --data-dir holds no usable credential.
import { createHash, randomBytes } from "node:crypto";
import type { UserInfo } from "./rbac.js";

export interface TokenEntry {
  user: UserInfo;
  /** Milliseconds since the epoch; undefined: never expires. */
  expires?: number;
  /** A service-account token is bound to the account's uid. */
  serviceAccount?: { namespace: string; name: string; uid: string };
}

const digest = (token: string): string => createHash("sha256").update(token).digest("hex");

export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  const u: UserInfo = {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
  if (uid !== undefined) u.uid = uid;
  return u;
}

export class Tokens {
  private readonly byDigest = new Map<string, TokenEntry>();

  /** Creates a token for a user; its text is returned once and only its digest is kept. */
  mint(entry: TokenEntry): string {
    const token = `gws_${randomBytes(24).toString("base64url")}`;
    this.byDigest.set(digest(token), entry);
    return token;
  }

  /** Registers a known token (the admin token of a restarted sandbox). */
  register(token: string, entry: TokenEntry): void {
    this.byDigest.set(digest(token), entry);
  }

  lookup(token: string, now = Date.now()): TokenEntry | undefined {
    const e = this.byDigest.get(digest(token));
    if (e === undefined) return undefined;
    if (e.expires !== undefined && e.expires <= now) {
      this.byDigest.delete(digest(token));
      return undefined;
    }
    return e;
  }

  toJSON(): [string, TokenEntry][] {
    return [...this.byDigest];
  }

  restore(entries: unknown): void {
    if (!Array.isArray(entries)) return;
    for (const e of entries as [string, TokenEntry][]) this.byDigest.set(e[0], e[1]);
  }
}
