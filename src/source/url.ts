// Classifies a repository URL (https, ssh, scp-style, git, file or a local path) and refuses the ones
// gitward must not use: credentials embedded in the URL, option-like or `transport::` URLs, and plain-text
// transports to anything but loopback (tests and the demo serve from 127.0.0.1).
import path from "node:path";
import { SourceError } from "./errors.js";

export type Transport = "https" | "http" | "ssh" | "git" | "local";

export interface RepoUrl {
  transport: Transport;
  /** What git is given: the URL as written, or an absolute path for local repositories. */
  gitUrl: string;
  /** For http(s): protocol and host[:port], the key a credential is stored under. */
  origin?: { protocol: string; host: string };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

const REDACTED = "[REDACTED]";
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const SSH_SCHEMES = new Set(["ssh:", "git+ssh:", "ssh+git:"]);

/**
 * The URL with anything that may be a credential replaced by [REDACTED]: safe for messages, status,
 * logs, events, audit records and notifications. The one redactor for URLs; print no URL without it.
 * Two parts go: the user info (below) and, in a URL with a scheme, every query and fragment value
 * (`?access_token=`, `private_token`, `X-Amz-Signature`, a SAS `sig`...), names kept so the message
 * still says what was there. Values are not judged by name: any of them may be a token.
 *
 * The WHATWG parser decides what is well-formed, but a password holding "/", "?", "#" or "\\" makes the
 * parser end the host early ("https://bob:pa/ss@host" reads as host "bob", port "pa"), so any "@" after
 * "//" is taken as the end of user info, the last one winning: everything between "//" and it goes. That
 * over-redacts the rare "@" in a path, and never leaks. Only a bare ssh user name ("git@") is kept: ssh
 * authenticates by key, and the scp-like form ("git@host:path") has no password field at all.
 */
export function redactUrl(raw: string): string {
  // User info first: a password holding "?" ("https://bob:pa?ss@host") must go whole, not be split at "?".
  return redactQuery(redactUserInfo(raw));
}

function redactUserInfo(raw: string): string {
  const scheme = SCHEME.exec(raw);
  const slashes = scheme === null ? raw.indexOf("//") : scheme[0].length - 2;
  const lastAt = raw.lastIndexOf("@");
  if (slashes >= 0 && lastAt > slashes) {
    const start = slashes + 2;
    if (scheme !== null && isBareSshUser(raw, start, lastAt)) return raw;
    return raw.slice(0, start) + REDACTED + raw.slice(lastAt);
  }
  // scp-like "user@host:path": a ":" before the first "@" means "user:password@".
  const firstAt = raw.indexOf("@");
  if (firstAt > 0 && raw.slice(0, firstAt).includes(":")) return REDACTED + raw.slice(lastAt);
  return raw;
}

/**
 * Every value after the first "?" or "#" past a scheme ("https://") becomes [REDACTED]: "name=value" keeps
 * its name, an item without "=" (a bare token) goes whole. Text without a scheme is left alone, so a
 * config value such as a regex ("^v[0-9]+?$") is still shown as written.
 */
function redactQuery(text: string): string {
  const url = /[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (url === null) return text;
  const start = text.slice(url.index).search(/[?#]/) + url.index;
  if (start < url.index) return text;
  const rest = text.slice(start).replace(/([?#&;])([^?#&;]*)/g, (_all, sep: string, item: string) => {
    if (item === "") return sep;
    const eq = item.indexOf("=");
    return sep + (eq < 0 ? REDACTED : `${item.slice(0, eq + 1)}${REDACTED}`);
  });
  return text.slice(0, start) + rest;
}

/** "ssh://git@host/path": parses, has a user and no password, and the "@" is the only one. */
function isBareSshUser(raw: string, start: number, at: number): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    SSH_SCHEMES.has(url.protocol) &&
    url.password === "" &&
    /^[A-Za-z0-9._-]+$/.test(raw.slice(start, at)) &&
    url.username === raw.slice(start, at)
  );
}

/**
 * Whether a parsed URL may carry a credential: user info, or an "@" after the host, which is what a
 * password holding "/" leaves ("https://bob:pa/ss@host/x" parses as host "bob", path "/ss@host/x").
 * `allowSshUser` lets "ssh://git@host" through.
 */
export function urlCredentialKind(
  url: URL,
  allowSshUser: boolean,
): "none" | "user-info" | "ambiguous" | "query" {
  if (url.password !== "") return "user-info";
  if (url.username !== "" && !(allowSshUser && SSH_SCHEMES.has(url.protocol))) return "user-info";
  if (`${url.pathname}${url.search}${url.hash}`.includes("@") && url.protocol !== "file:") return "ambiguous";
  const names = [
    ...new URLSearchParams(url.search).keys(),
    ...new URLSearchParams(url.hash.replace(/^#/, "")).keys(),
  ];
  if (names.some((name) => CREDENTIAL_PARAM.test(name))) return "query";
  return "none";
}

/**
 * Query (or fragment) parameter names that carry a credential: GitLab's private_token, OAuth's
 * access_token, S3/GCS presigned X-Amz-Signature, X-Goog-Credential, an Azure SAS `sig`, api_key...
 * A repository URL has no use for any of them (git adds its own query, `?service=`), so they are refused;
 * values under other names are still redacted by redactUrl.
 */
const CREDENTIAL_PARAM = /token|passw|pwd|secret|sig|auth|credential|key|session|ticket/i;

/** The refusal for a credential in a URL's query: the same advice as for user info. */
export const QUERY_CREDENTIAL_HINT = " (a query parameter such as access_token or a signature)";

export function parseRepoUrl(raw: string): RepoUrl {
  const shown = JSON.stringify(redactUrl(raw).slice(0, 200));
  if (raw.length === 0 || raw.startsWith("-") || /[\0\n\r]/.test(raw)) {
    throw new SourceError("BAD_URL", `repository URL ${shown} is empty or not a URL`);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (raw.includes("::")) {
      throw new SourceError(
        "BAD_URL",
        `repository URL ${shown}: git remote helpers ("transport::") are not allowed`,
      );
    }
    // scp-style "user@host:path": a colon before the first slash (a local path would need "./" then).
    if (redactUrl(raw) !== raw) {
      throw new SourceError(
        "CREDENTIALS_IN_URL",
        `repository URL ${shown} has a password before the "@"; ssh authenticates by key: remove it`,
      );
    }
    const colon = raw.indexOf(":");
    const slash = raw.indexOf("/");
    if (colon > 0 && (slash < 0 || colon < slash)) return { transport: "ssh", gitUrl: raw };
    return { transport: "local", gitUrl: path.resolve(raw) };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SourceError("BAD_URL", `repository URL ${shown} does not parse`);
  }
  const credentials = urlCredentialKind(url, scheme !== "https" && scheme !== "http");
  if (credentials !== "none") {
    throw new SourceError(
      "CREDENTIALS_IN_URL",
      `repository URL ${shown} has credentials embedded` +
        (credentials === "ambiguous" ? ' (an "@" after the host; write %40 if it belongs to the path)' : "") +
        (credentials === "query" ? QUERY_CREDENTIAL_HINT : "") +
        "; remove them from the URL and give them as a secret (username/password or token) instead",
    );
  }
  const loopback = LOOPBACK.has(url.hostname);
  switch (scheme) {
    case "https":
      return { transport: "https", gitUrl: raw, origin: { protocol: "https", host: url.host } };
    case "http":
    case "git":
      if (!loopback) {
        throw new SourceError(
          "BAD_URL",
          `repository URL ${shown}: ${scheme}:// is plain text; use https:// or ssh://`,
        );
      }
      return scheme === "http"
        ? { transport: "http", gitUrl: raw, origin: { protocol: "http", host: url.host } }
        : { transport: "git", gitUrl: raw };
    case "ssh":
      return { transport: "ssh", gitUrl: raw };
    case "file":
      return { transport: "local", gitUrl: raw };
    default:
      throw new SourceError("BAD_URL", `repository URL ${shown}: scheme ${scheme}:// is not supported`);
  }
}
