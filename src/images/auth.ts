import { isRecord } from "../json/record.js";
// Registry authentication: credentials from a docker config JSON (`auths.<host>.auth` or username/password,
// identitytoken), and the `WWW-Authenticate` challenge of a 401 (Basic, or Bearer with realm/service/scope
// answered by a token request). Credentials only ever travel in Authorization headers, never in messages.

export interface Credentials {
  username: string;
  password: string;
}

/** Credentials per registry host, parsed from a docker config JSON (`~/.docker/config.json` shape). */
export type CredentialStore = ReadonlyMap<string, Credentials>;

/** Parses docker config JSON text; a malformed file is reported without echoing its content. */
export function parseDockerConfig(
  text: string,
): { ok: true; store: CredentialStore } | { ok: false; reason: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not valid JSON" };
  }
  const store = new Map<string, Credentials>();
  const auths = isRecord(doc) ? doc.auths : undefined;
  if (auths === undefined) return { ok: true, store };
  if (!isRecord(auths)) return { ok: false, reason: '"auths" is not an object' };
  for (const [key, entry] of Object.entries(auths)) {
    if (!isRecord(entry)) continue;
    const host = normaliseHost(key);
    if (typeof entry.auth === "string" && entry.auth !== "") {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) return { ok: false, reason: `auths["${key}"].auth is not base64 of user:password` };
      store.set(host, { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
    } else if (typeof entry.identitytoken === "string") {
      // Docker's convention: an identity token is sent as the password of the user "<token>".
      store.set(host, { username: "<token>", password: entry.identitytoken });
    } else if (typeof entry.username === "string" && typeof entry.password === "string") {
      store.set(host, { username: entry.username, password: entry.password });
    }
  }
  return { ok: true, store };
}

function normaliseHost(key: string): string {
  const host = key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (quoted values may contain commas). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (const p of (m[2] ?? "").matchAll(re)) {
    const name = p[1];
    if (name !== undefined) params[name.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return { scheme: (m[1] ?? "").toLowerCase(), params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
