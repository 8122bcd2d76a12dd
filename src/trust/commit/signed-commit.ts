// Makes an SSH-signed commit without gpg or ssh-keygen: stages the work tree, writes the tree, signs the
// commit payload in-process (SSHSIG, namespace git) and stores the object with `git hash-object`. The
// demo uses it to build a signed config repository on a machine with only git installed.
import { generateSshSigningKey, signSshsig, type SshSigningKey } from "./sshsig.js";
import { git } from "../../source/git.js";

export { generateSshSigningKey, type SshSigningKey };

export interface SignedCommitOptions {
  /** A non-bare repository; everything in its work tree is committed (git add -A). */
  repoDir: string;
  message: string;
  key: SshSigningKey;
  author: { name: string; email: string };
  /** Commit time (default now). */
  date?: Date;
}

/** Commits the work tree on the current branch, signed with `key`; returns the new commit's id. */
export async function commitSigned(opts: SignedCommitOptions): Promise<string> {
  const cwd = opts.repoDir;
  await git(["add", "-A"], { cwd });
  const tree = await git(["write-tree"], { cwd });
  const parent = await git(["rev-parse", "--verify", "--quiet", "HEAD"], { cwd }).catch(() => "");
  const seconds = Math.floor((opts.date ?? new Date()).getTime() / 1000);
  // Identity fields may not hold the characters git uses as delimiters.
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, "");
  const ident = `${clean(opts.author.name)} <${clean(opts.author.email)}> ${seconds} +0000`;
  const message = opts.message.endsWith("\n") ? opts.message : opts.message + "\n";
  const payload =
    `tree ${tree}\n` +
    (parent === "" ? "" : `parent ${parent}\n`) +
    `author ${ident}\ncommitter ${ident}\n\n${message}`;
  const signature = signSshsig(Buffer.from(payload, "utf8"), opts.key);
  const header = "gpgsig " + signature.trimEnd().split("\n").join("\n ") + "\n";
  const split = payload.indexOf("\n\n");
  const object = payload.slice(0, split + 1) + header + payload.slice(split + 1);
  const oid = await git(["hash-object", "-t", "commit", "-w", "--stdin"], { cwd, input: object });
  await git(["update-ref", "HEAD", oid], { cwd });
  return oid;
}
