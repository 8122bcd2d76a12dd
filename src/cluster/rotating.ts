// Credentials read from files that rotate under a running process: a bearer token file (the kubelet's
// projected service account token, a sidecar's refreshed token) and a client certificate and key (cert-
// manager, a node's kubelet-client-current.pem). Each request checks the files' identity (inode, size,
// mtime: one stat, no read) and reads them again only when they changed, so a rotated credential is used
// from the next request on, not after a restart or a timer. A certificate and key caught between their two
// writes do not match; the last matching pair stays in use until the new pair is complete.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ClusterError, ClusterErrorCode } from "./errors.js";
import type { Credentials, RequestCredentials } from "./kubeconfig.js";

/** A file read again when it changed; `read` gives its content and whether it is new since the last call. */
interface WatchedFile {
  read(): { content: Buffer; changed: boolean };
}

/** How a failed read is named in the error (never its content). */
function fileError(what: string, file: string, err: unknown): ClusterError {
  const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
  return new ClusterError(ClusterErrorCode.Invalid, `${what} ${file}: ${code}`);
}

function watchedFile(file: string, what: string): WatchedFile {
  let seen: { id: string; content: Buffer } | undefined;
  return {
    read() {
      let id: string;
      try {
        const st = statSync(file);
        id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      } catch (err) {
        throw fileError(what, file, err);
      }
      if (seen?.id === id) return { content: seen.content, changed: false };
      let content: Buffer;
      try {
        content = readFileSync(file);
      } catch (err) {
        throw fileError(what, file, err);
      }
      seen = { id, content };
      return { content, changed: true };
    },
  };
}

/** A bearer token read from a file, read again whenever the file changes or after a 401. */
export function tokenFileCredentials(file: string): Credentials {
  const watched = watchedFile(file, "token file");
  let cached: RequestCredentials | undefined;
  return {
    current() {
      try {
        const { content, changed } = watched.read();
        if (changed || cached === undefined) {
          const token = content.toString("utf8").trim();
          if (token === "")
            return Promise.reject(new ClusterError(ClusterErrorCode.Invalid, `token file ${file} is empty`));
          cached = { headers: { Authorization: `Bearer ${token}` } };
        }
        return Promise.resolve(cached);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    invalidate() {
      // The file is checked on every request anyway; a 401 is worth one more try if it changed.
      return true;
    },
  };
}

/** True when `key` is the private key of `cert` (both PEM); false for anything unparsable. */
function pairMatches(cert: Buffer, key: Buffer): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/**
 * `inner`'s credentials with the client certificate and key of two files, read again when either changes.
 * A certificate the plugin of `inner` gives wins, as in client-go.
 */
export function withRotatingClientCert(
  inner: Credentials,
  certFile: string,
  keyFile: string,
  where: string,
): Credentials {
  const cert = watchedFile(certFile, `${where}: client-certificate`);
  const key = watchedFile(keyFile, `${where}: client-key`);
  let pair: { cert: Buffer; key: Buffer } | undefined;
  const combined = new WeakMap<RequestCredentials, { pair: typeof pair; out: RequestCredentials }>();
  const baseOf = new WeakMap<RequestCredentials, RequestCredentials>();
  const currentPair = (): { cert: Buffer; key: Buffer } => {
    const c = cert.read();
    const k = key.read();
    if (pair === undefined || c.changed || k.changed) {
      if (pairMatches(c.content, k.content)) pair = { cert: c.content, key: k.content };
      else if (pair === undefined)
        throw new ClusterError(
          ClusterErrorCode.Invalid,
          `${where}: client-certificate ${certFile} and client-key ${keyFile} are not a pair (or not PEM)`,
        );
      // Otherwise one file is rewritten and the other not yet: keep the last pair that matched.
    }
    return pair;
  };
  return {
    async current() {
      const base = await inner.current();
      if (base.cert !== undefined) return base;
      const p = currentPair();
      // The same object for the same inputs: a 401 forgets exactly what was used, and the agent's pool
      // keeps its connections while nothing rotates.
      const hit = combined.get(base);
      if (hit?.pair === p) return hit.out;
      const out: RequestCredentials = { ...base, cert: p.cert, key: p.key };
      combined.set(base, { pair: p, out });
      baseOf.set(out, base);
      return out;
    },
    invalidate(used) {
      inner.invalidate(baseOf.get(used) ?? used);
      // The files are checked on the next request anyway: it may differ.
      return true;
    },
  };
}
