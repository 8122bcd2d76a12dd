// Real signing keys for tests: gpg keys (ed25519, RSA, a signing subkey, an expired and a revoked key) in
// temp GNUPGHOMEs, and ssh-keygen keys (ed25519, ECDSA P-256/P-384, RSA). Each signer carries what
// `git commit -S` needs and its public key in the form a TrustPolicy holds.
import { chmod, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeTempDir, removeDir, run } from "./git-exec.js";

export type GpgSignerKind = "ed25519" | "rsa" | "subkey" | "expired" | "expired-subkey" | "revoked";
export type SshSignerKind = "ed25519" | "ecdsa-p256" | "ecdsa-p384" | "rsa";

export interface Signer {
  readonly format: "openpgp" | "ssh";
  readonly kind: string;
  readonly name: string;
  readonly email: string;
  /** Armored OpenPGP public key block, or an authorized_keys line ("ssh-ed25519 AAAA... email"). */
  readonly publicKey: string;
  /** OpenPGP: fingerprint of the key that makes signatures (the subkey for "subkey"); SSH: SHA256:... */
  readonly fingerprint: string;
  /** `-c` options for git that make `git commit -S` / `git tag -s` sign with this key. */
  readonly gitConfig: readonly string[];
  /** Environment for those git commands (GNUPGHOME for gpg signers). */
  readonly env: Readonly<Record<string, string>>;
  /** SSH signers only: path of the private key file (0600). */
  readonly privateKeyPath?: string;
  /** Removes the key folder and stops gpg-agent. */
  cleanup(): Promise<void>;
}

/** Faked clock for the expired key: made on 2020-01-01, valid one day, so expired today. */
const EXPIRED_KEY_TIME = "20200101T000000";

let counter = 0;

function fingerprintsOf(colons: string): { fpr: string; usage: string; type: string }[] {
  // --with-colons: "pub"/"sub" lines carry usage in field 12; the following "fpr" line carries field 10.
  const out: { fpr: string; usage: string; type: string }[] = [];
  let pending: { usage: string; type: string } | undefined;
  for (const line of colons.split("\n")) {
    const f = line.split(":");
    if (f[0] === "pub" || f[0] === "sub") pending = { usage: f[11] ?? "", type: f[0] };
    else if (f[0] === "fpr" && pending !== undefined) {
      out.push({ fpr: f[9] ?? "", ...pending });
      pending = undefined;
    }
  }
  return out;
}

/** Creates a real gpg key of the given kind in its own GNUPGHOME. */
export async function createGpgSigner(kind: GpgSignerKind, name?: string): Promise<Signer> {
  counter += 1;
  const home = await makeTempDir(`gnupg`);
  await chmod(home, 0o700);
  const signerName = name ?? `gpg-${kind}-${counter}`;
  const email = `${signerName}@example.com`;
  const uid = `${signerName} <${email}>`;
  const env = { GNUPGHOME: home };
  const gpg = (args: string[], input?: string) =>
    run("gpg", ["--batch", "--no-tty", "--passphrase", "", "--pinentry-mode", "loopback", ...args], {
      env,
      ...(input === undefined ? {} : { input }),
    });
  let gpgProgram = "gpg";
  switch (kind) {
    case "ed25519":
    case "revoked":
      await gpg(["--quick-gen-key", uid, "ed25519", "sign", "never"]);
      break;
    case "rsa":
      await gpg(["--quick-gen-key", uid, "rsa2048", "sign", "never"]);
      break;
    case "subkey": {
      await gpg(["--quick-gen-key", uid, "ed25519", "cert", "never"]);
      const primary = fingerprintsOf((await gpg(["--list-keys", "--with-colons"])).stdout)[0]!.fpr;
      await gpg(["--quick-add-key", primary, "ed25519", "sign", "never"]);
      break;
    }
    case "expired":
    case "expired-subkey": {
      if (kind === "expired") {
        await gpg(["--faked-system-time", EXPIRED_KEY_TIME, "--quick-gen-key", uid, "ed25519", "sign", "1d"]);
      } else {
        // A primary key that never expires, with a signing subkey that expired.
        await gpg([
          "--faked-system-time",
          EXPIRED_KEY_TIME,
          "--quick-gen-key",
          uid,
          "ed25519",
          "cert",
          "never",
        ]);
        const primary = fingerprintsOf((await gpg(["--list-keys", "--with-colons"])).stdout)[0]!.fpr;
        await gpg([
          "--faked-system-time",
          EXPIRED_KEY_TIME,
          "--quick-add-key",
          primary,
          "ed25519",
          "sign",
          "1d",
        ]);
      }
      // gpg will not sign with an expired key today, so git signs through a wrapper with the same faked clock.
      gpgProgram = path.join(home, "gpg-faked-time.sh");
      await writeFile(gpgProgram, `#!/bin/sh\nexec gpg --faked-system-time ${EXPIRED_KEY_TIME} "$@"\n`);
      await chmod(gpgProgram, 0o700);
      break;
    }
  }
  const keys = fingerprintsOf((await gpg(["--list-keys", "--with-colons"])).stdout);
  const primary = keys[0]!.fpr;
  const signing =
    kind === "subkey" || kind === "expired-subkey" ? keys.find((k) => k.type === "sub")!.fpr : primary;
  let revoke: (() => Promise<void>) | undefined;
  if (kind === "revoked") {
    revoke = async () => {
      // gpg stores a revocation certificate at key creation; its armor is prefixed with ":" so that it is
      // not imported by accident. Import it to revoke the key.
      const dir = path.join(home, "openpgp-revocs.d");
      const file = (await readdir(dir)).find((f) => f.startsWith(primary))!;
      const cert = (await readFile(path.join(dir, file), "utf8")).replace(/^:-----BEGIN/m, "-----BEGIN");
      await gpg(["--import"], cert);
    };
  }
  const signer: Signer & { revoke?: () => Promise<void> } = {
    format: "openpgp",
    kind,
    name: signerName,
    email,
    get publicKey() {
      return exported;
    },
    fingerprint: signing,
    gitConfig: [
      "-c",
      `user.signingkey=${primary}`,
      "-c",
      `gpg.program=${gpgProgram}`,
      "-c",
      "gpg.format=openpgp",
    ],
    env,
    cleanup: async () => {
      await run("gpgconf", ["--kill", "all"], { env }).catch(() => undefined);
      await removeDir(home);
    },
  };
  let exported = (await gpg(["--armor", "--export", primary])).stdout;
  if (revoke !== undefined) {
    const doRevoke = revoke;
    signer.revoke = async () => {
      await doRevoke();
      exported = (await gpg(["--armor", "--export", primary])).stdout;
    };
  }
  return signer;
}

/** A gpg signer whose key can be revoked after it has signed (kind "revoked"). */
export interface RevocableSigner extends Signer {
  /** Imports the key's revocation certificate; publicKey then carries the revocation. */
  revoke(): Promise<void>;
}

export async function createRevocableGpgSigner(name?: string): Promise<RevocableSigner> {
  return (await createGpgSigner("revoked", name)) as RevocableSigner;
}

const sshKeygenArgs: Record<SshSignerKind, string[]> = {
  ed25519: ["-t", "ed25519"],
  "ecdsa-p256": ["-t", "ecdsa", "-b", "256"],
  "ecdsa-p384": ["-t", "ecdsa", "-b", "384"],
  rsa: ["-t", "rsa", "-b", "3072"],
};

/** Creates a real ssh-keygen key; git signs with it through `gpg.format=ssh` (ssh-keygen -Y sign). */
export async function createSshSigner(kind: SshSignerKind, name?: string): Promise<Signer> {
  counter += 1;
  const dir = await makeTempDir("sshkey");
  const signerName = name ?? `ssh-${kind}-${counter}`;
  const email = `${signerName}@example.com`;
  const keyPath = path.join(dir, "id");
  await run("ssh-keygen", [...sshKeygenArgs[kind], "-N", "", "-C", email, "-q", "-f", keyPath]);
  await chmod(keyPath, 0o600);
  const publicKey = (await readFile(`${keyPath}.pub`, "utf8")).trim();
  const fp = (await run("ssh-keygen", ["-l", "-E", "sha256", "-f", `${keyPath}.pub`])).stdout.split(" ")[1]!;
  return {
    format: "ssh",
    kind,
    name: signerName,
    email,
    publicKey,
    fingerprint: fp,
    gitConfig: ["-c", "gpg.format=ssh", "-c", `user.signingkey=${keyPath}`],
    env: {},
    privateKeyPath: keyPath,
    cleanup: () => removeDir(dir),
  };
}

/**
 * Oracle set-up for `git verify-commit`: a GNUPGHOME with the given OpenPGP public keys imported and an
 * allowed-signers file with the given SSH keys, as the git documentation describes.
 */
export async function createGitVerifier(trusted: readonly Signer[]): Promise<{
  gitConfig: string[];
  env: Record<string, string>;
  cleanup(): Promise<void>;
}> {
  const home = await makeTempDir("verifier");
  await chmod(home, 0o700);
  const env = { GNUPGHOME: home };
  for (const s of trusted.filter((t) => t.format === "openpgp")) {
    await run("gpg", ["--batch", "--no-tty", "--import"], { env, input: s.publicKey });
  }
  const allowed = path.join(home, "allowed_signers");
  await writeFile(
    allowed,
    trusted
      .filter((t) => t.format === "ssh")
      .map((t) => `${t.email} namespaces="git" ${t.publicKey}\n`)
      .join(""),
  );
  return {
    gitConfig: ["-c", `gpg.ssh.allowedSignersFile=${allowed}`],
    env,
    cleanup: async () => {
      await run("gpgconf", ["--kill", "all"], { env }).catch(() => undefined);
      await removeDir(home);
    },
  };
}
