// Real git servers for tests, on 127.0.0.1 with ports chosen at run time: git daemon (read-only git://),
// smart HTTP (`git http-backend` as CGI behind node:http, with optional basic auth, push allowed for the
// authenticated user) and SSH (Debian's sshd, key-based, with a generated host key and known_hosts line).
import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer as createNetServer } from "node:net";
import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import { serveGitHttp, type GitHttpServer, type GitHttpServerOptions } from "../../src/source/http-server.js";
import { makeTempDir, removeDir, run } from "./git-exec.js";

export type { GitHttpServer } from "../../src/source/http-server.js";

export interface GitServer {
  /** Clone URL of the repository at `<root>/<name>`. */
  url(name: string): string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (for servers that cannot report the port they bound). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/** Resolves once something accepts TCP connections on the port (the server finished starting). */
async function waitForPort(
  port: number,
  child: ChildProcess,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} while starting`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start listening on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** `git daemon` serving every repository under `root` read-only at git://127.0.0.1:<port>/<name>. */
export async function startGitDaemon(root: string): Promise<GitServer> {
  const port = await freePort();
  const child = spawn(
    "git",
    [
      "daemon",
      "--reuseaddr",
      `--base-path=${root}`,
      "--export-all",
      "--informative-errors",
      "--listen=127.0.0.1",
      `--port=${port}`,
      root,
    ],
    { stdio: "ignore" },
  );
  await waitForPort(port, child, "git daemon");
  return {
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    stop: () => stopChild(child),
  };
}

export type HttpServerOptions = GitHttpServerOptions;

/** Smart HTTP (`git http-backend` behind node:http; the same server the demo uses) at http://127.0.0.1:<port>/<name>. */
export function startGitHttpServer(opts: HttpServerOptions): Promise<GitHttpServer> {
  return serveGitHttp(opts);
}

export interface SshGitServer extends GitServer {
  /** The known_hosts line for this server: "[127.0.0.1]:<port> ssh-ed25519 AAAA...". */
  readonly knownHosts: string;
  /** OpenSSH private key (PEM text) of a client key the server accepts. */
  readonly clientPrivateKey: string;
  /** Path of that key file (0600), for plain `git` / `ssh` clients in tests. */
  readonly clientKeyPath: string;
}

/** Debian's sshd on a loopback port, key-based only; repositories are served by their absolute path. */
export async function startSshGitServer(root: string): Promise<SshGitServer> {
  const dir = await makeTempDir("sshd");
  // sshd refuses to start without its privilege-separation folder.
  // (Creating it needs root; as another user sshd runs unprivileged and may not need it.)
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 }).catch(() => undefined);
  const hostKey = path.join(dir, "host_ed25519");
  const clientKey = path.join(dir, "client_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gitward-test-client", "-f", clientKey]);
  await chmod(clientKey, 0o600);
  const authorized = path.join(dir, "authorized_keys");
  await writeFile(authorized, await readFile(`${clientKey}.pub`));
  const port = await freePort();
  const pidFile = path.join(dir, "sshd.pid");
  const config = path.join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${pidFile}`,
      "",
    ].join("\n"),
  );
  const child = spawn("/usr/sbin/sshd", ["-D", "-f", config, "-E", path.join(dir, "sshd.log")], {
    stdio: "ignore",
  });
  await waitForPort(port, child, "sshd");
  const hostPub = (await readFile(`${hostKey}.pub`, "utf8")).trim().split(" ");
  const user = userInfo().username;
  return {
    port,
    knownHosts: `[127.0.0.1]:${port} ${hostPub[0] ?? ""} ${hostPub[1] ?? ""}`,
    clientPrivateKey: await readFile(clientKey, "utf8"),
    clientKeyPath: clientKey,
    url: (name) => `ssh://${user}@127.0.0.1:${port}${path.join(root, name)}`,
    stop: async () => {
      await stopChild(child);
      await removeDir(dir);
    },
  };
}
