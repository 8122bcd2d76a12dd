// Compiles a TrustPolicy's `spec.commits` once per reconcile: every signer's SSH and OpenPGP keys parsed,
// path globs and the message pattern compiled. A key that does not parse is a configuration error naming
// the signer and the key's index, so nothing is verified against a half-read policy.
import * as openpgp from "openpgp";
import { ConfigError } from "../../config/errors.js";
import type { CommitPolicy } from "../../config/types.js";
import { compileGlobs } from "../../match/glob.js";
import { compileUntrustedRegex, type UntrustedRegex } from "../../match/regex.js";
import { parseSshPublicKeyLine, type SshPublicKey } from "./ssh-keys.js";

export interface CompiledSigner {
  name: string;
  emails: string[];
  paths: string[];
  /** True when the path is one this signer may change. */
  mayChange: (path: string) => boolean;
}

export interface CompiledCommitPolicy {
  signers: CompiledSigner[];
  /** SSH keys by their base64 blob, each with the signers that hold it. */
  ssh: Map<string, { key: SshPublicKey; signers: CompiledSigner[] }>;
  /** OpenPGP keys, each with the signers that hold it. */
  openpgp: { key: openpgp.PublicKey; signers: CompiledSigner[] }[];
  /** The message rule, in RE2 (linear time): the message is the committer's text. */
  message: UntrustedRegex | undefined;
  allowHistoryRewrite: boolean;
  trustedRoot: string | undefined;
  expectedRefs: string[];
  /** True for a ref name one of expectedRefs matches (false for every ref when there are none). */
  isExpectedRef: (ref: string) => boolean;
}

/** True for a policy already compiled (callers may pass either form). */
export function isCompiledCommitPolicy(p: CommitPolicy | CompiledCommitPolicy): p is CompiledCommitPolicy {
  return "ssh" in p && p.ssh instanceof Map;
}

/** Policies compiled lately, by their JSON: the operator verifies with the same policy on every pass. */
const compiledCache = new Map<string, Promise<CompiledCommitPolicy>>();
const COMPILED_CACHE_SIZE = 16;

/**
 * Compiles the policy unless it already is; a policy with the same content as one compiled lately is not
 * parsed again (parsing OpenPGP keys is most of a no-op reconcile's verify step otherwise).
 */
export async function ensureCompiled(p: CommitPolicy | CompiledCommitPolicy): Promise<CompiledCommitPolicy> {
  if (isCompiledCommitPolicy(p)) return p;
  const id = JSON.stringify(p);
  let compiled = compiledCache.get(id);
  if (compiled === undefined) {
    compiled = compileCommitPolicy(p);
    // A policy that does not compile is not remembered, so its error is raised every time.
    compiled.catch(() => compiledCache.delete(id));
    if (compiledCache.size >= COMPILED_CACHE_SIZE) {
      const oldest = compiledCache.keys().next().value;
      if (oldest !== undefined) compiledCache.delete(oldest);
    }
  } else compiledCache.delete(id);
  // Most recently used last, so the oldest is the first to go.
  compiledCache.set(id, compiled);
  return compiled;
}

/** The globs as one matcher; the first that does not compile is a ConfigError naming where it is. */
function globsOrThrow(globs: readonly string[], where: (index: number) => string): (path: string) => boolean {
  const c = compileGlobs(globs, where);
  if (!c.ok) throw new ConfigError(c.errors[0]?.message ?? "bad glob", c.errors[0]?.where);
  return c.matches;
}

/** Parses every key and glob of the policy; throws ConfigError naming the signer and key on a bad one. */
export async function compileCommitPolicy(
  policy: CommitPolicy,
  where = "spec.commits",
): Promise<CompiledCommitPolicy> {
  const expectedRefs = policy.expectedRefs ?? [];
  const compiled: CompiledCommitPolicy = {
    signers: [],
    ssh: new Map(),
    openpgp: [],
    message: undefined,
    allowHistoryRewrite: policy.allowHistoryRewrite ?? false,
    trustedRoot: policy.trustedRoot,
    expectedRefs,
    isExpectedRef: globsOrThrow(expectedRefs, (k) => `${where}.expectedRefs[${k}]`),
  };
  const gpgByFingerprint = new Map<string, { key: openpgp.PublicKey; signers: CompiledSigner[] }>();
  policy.signers.forEach((s, i) => {
    if (s.paths.length === 0)
      throw new ConfigError(`signer ${s.name} has no paths`, `${where}.signers[${i}]`);
  });
  for (const [i, s] of policy.signers.entries()) {
    const at = `${where}.signers[${i}] (${s.name})`;
    // Paths of a commit come from its author: matched in linear time, never by a backtracking RegExp.
    const signer: CompiledSigner = {
      name: s.name,
      emails: (s.emails ?? []).map((e) => e.toLowerCase()),
      paths: s.paths,
      mayChange: globsOrThrow(s.paths, (k) => `${at}.paths[${k}]`),
    };
    compiled.signers.push(signer);
    for (const [k, line] of (s.ssh ?? []).entries()) {
      let key: SshPublicKey;
      try {
        key = parseSshPublicKeyLine(line);
      } catch (err) {
        throw new ConfigError(`ssh[${k}] is not a usable SSH public key: ${reason(err)}`, at);
      }
      const id = key.blob.toString("base64");
      const entry = compiled.ssh.get(id) ?? { key, signers: [] };
      entry.signers.push(signer);
      compiled.ssh.set(id, entry);
    }
    for (const [k, armored] of (s.openpgp ?? []).entries()) {
      let keys: openpgp.Key[];
      try {
        keys = await openpgp.readKeys({ armoredKeys: armored });
      } catch (err) {
        throw new ConfigError(`openpgp[${k}] is not an armored OpenPGP public key: ${reason(err)}`, at);
      }
      for (const key of keys) {
        if (key.isPrivate()) throw new ConfigError(`openpgp[${k}] is a private key; give the public key`, at);
        const fpr = key.getFingerprint();
        const entry = gpgByFingerprint.get(fpr) ?? { key: key.toPublic(), signers: [] };
        entry.signers.push(signer);
        gpgByFingerprint.set(fpr, entry);
      }
    }
  }
  compiled.openpgp = [...gpgByFingerprint.values()];
  if (policy.message !== undefined) {
    const c = compileUntrustedRegex(policy.message, `${where}.message`);
    if (!c.ok) throw new ConfigError(`message ${c.error.message}`, c.error.where);
    compiled.message = c.regex;
  }
  return compiled;
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 200) ?? "";
}
