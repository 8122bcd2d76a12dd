// The verdict vocabulary of commit trust: a closed set of codes that the reconcile, the CLI, the audit log
// and the tests all match on, and the shapes of a commit's and a range's verdict.
import type { Identity } from "../../source/commit.js";

export const CommitCode = {
  /** The commit (or tag) carries no signature. */
  UNSIGNED: "UNSIGNED",
  /** The signature is malformed or does not verify over the commit's content. */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /** A signature format gitward does not verify (x509/S/MIME). */
  UNSUPPORTED_SIGNATURE: "UNSUPPORTED_SIGNATURE",
  /** Signed by a key that no signer of the trust policy holds. */
  UNKNOWN_KEY: "UNKNOWN_KEY",
  /** Signed by a trusted OpenPGP key (or subkey) that has expired. */
  KEY_EXPIRED: "KEY_EXPIRED",
  /** Signed by a trusted OpenPGP key (or subkey) that has been revoked. */
  KEY_REVOKED: "KEY_REVOKED",
  /** The signer may not change some of the paths the commit changes. */
  NOT_AUTHORIZED_FOR_PATH: "NOT_AUTHORIZED_FOR_PATH",
  /** The commit message does not match the policy's pattern. */
  MESSAGE_POLICY: "MESSAGE_POLICY",
  /** The commit object is malformed (e.g. two signature headers, a broken tree header). */
  MALFORMED_COMMIT: "MALFORMED_COMMIT",
  /** The new head does not descend from the last applied commit. */
  HISTORY_REWRITTEN: "HISTORY_REWRITTEN",
  /** The policy's trusted root is not in the repository or not an ancestor of the head. */
  TRUSTED_ROOT_NOT_FOUND: "TRUSTED_ROOT_NOT_FOUND",
  /** A commit or tag object that should be there is missing (or too large to read). */
  OBJECT_MISSING: "OBJECT_MISSING",
  /** A tree of the commit, or its change as a whole, is over a size limit (entries or bytes). */
  TOO_LARGE: "TOO_LARGE",
  /** The repository holds an object git's checks (fsck) refuse; found while fetching. */
  FSCK_FAILED: "FSCK_FAILED",
} as const;
export type CommitCode = (typeof CommitCode)[keyof typeof CommitCode];

/** Codes that mean "the signature itself is not acceptable" (what `git verify-commit` also decides). */
export const SIGNATURE_CODES: ReadonlySet<CommitCode> = new Set<CommitCode>([
  CommitCode.UNSIGNED,
  CommitCode.BAD_SIGNATURE,
  CommitCode.UNSUPPORTED_SIGNATURE,
  CommitCode.UNKNOWN_KEY,
  CommitCode.KEY_EXPIRED,
  CommitCode.KEY_REVOKED,
  CommitCode.MALFORMED_COMMIT,
]);

export interface Finding {
  code: CommitCode;
  /** What is wrong and what to do about it; names the commit. */
  message: string;
}

export interface SignerMatch {
  /** Names of the trust policy's signers that hold the key (usually one). */
  names: string[];
  format: "openpgp" | "ssh";
  /** OpenPGP: fingerprint of the (sub)key that signed, upper-case hex; SSH: "SHA256:..." */
  fingerprint: string;
}

export interface CommitVerdict {
  commit: string;
  trusted: boolean;
  /** The first finding's code, for one-line output; absent when trusted. */
  code?: CommitCode;
  findings: Finding[];
  author?: Identity;
  committer?: Identity;
  /** First line of the message (at most 200 characters). */
  subject: string;
  /** Who signed, when the signature verified over the content with a trusted key. */
  signer?: SignerMatch;
  /** Paths changed against the first parent. */
  changedPaths: string[];
  /** Of those, the ones the signer may not change. */
  unauthorizedPaths: string[];
  /**
   * True when the path check stopped at the first UNAUTHORIZED_PATHS_LISTED paths outside the signer's
   * authority: changedPaths and unauthorizedPaths then hold only what was found until then.
   */
  pathCheckStopped?: boolean;
}

/** The path check stops after this many paths outside the signer's authority. */
export const UNAUTHORIZED_PATHS_LISTED = 10;

export interface TagVerdict {
  tag: string;
  name: string;
  trusted: boolean;
  code?: CommitCode;
  findings: Finding[];
  signer?: SignerMatch;
}

export interface RangeVerdict {
  /** True only when every commit, the tag (if any) and the history checks passed. */
  trusted: boolean;
  from?: string;
  to: string;
  /** Findings about the range as a whole (HISTORY_REWRITTEN, TRUSTED_ROOT_NOT_FOUND). */
  findings: Finding[];
  /** One verdict per commit the new head brings in, oldest first. */
  commits: CommitVerdict[];
  tag?: TagVerdict;
}
