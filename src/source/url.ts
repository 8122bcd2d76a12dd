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

/** The URL with any user:password@ removed, safe for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1[REDACTED]@");
}

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
  if (url.password !== "" || ((scheme === "https" || scheme === "http") && url.username !== "")) {
    throw new SourceError(
      "CREDENTIALS_IN_URL",
      `repository URL ${shown} has credentials embedded; remove them from the URL and give them as a ` +
        "secret (username/password or token) instead",
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
