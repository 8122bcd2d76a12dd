// A real OCI registry for tests: Debian's `docker-registry serve` on 127.0.0.1 with a run-time port, plain
// HTTP or TLS + htpasswd basic auth, and images built with umoci and pushed with skopeo (real tools, so the
// registry's answers are what gitward meets in the wild).
import { spawn, type ChildProcess } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { freePort } from "./git-server.js";
import { makeTempDir, removeDir, run } from "./git-exec.js";
import { selfSigned } from "./test-ca.js";

export interface StartRegistryOptions {
  /** Serve HTTPS with a fresh self-signed certificate for IP 127.0.0.1 (its PEM is `ca`). */
  tls?: boolean;
  /** Require basic auth (htpasswd, bcrypt) with these credentials; implies TLS as the registry asks. */
  basicAuth?: { username: string; password: string };
  /** Require bearer tokens from this token service (oci-token.ts); plain HTTP unless `tls`. */
  token?: { realm: string; service: string; issuer: string; certFile: string };
}

export interface TestRegistry {
  /** "127.0.0.1:PORT", the registry part of image references. */
  readonly host: string;
  /** "http://127.0.0.1:PORT" or "https://...". */
  readonly url: string;
  readonly plainHTTP: boolean;
  /** PEM of the self-signed certificate (TLS variant). */
  readonly ca?: string;
  readonly basicAuth?: { username: string; password: string };
  /** A docker config JSON file holding the credentials (basic-auth variant), for skopeo and gitward. */
  readonly authFile?: string;
  /** Scratch folder of this registry (storage, config, image layouts); removed by stop(). */
  readonly dir: string;
  stop(): Promise<void>;
}

async function waitForRegistry(url: string, ca: string | undefined, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with code ${child.exitCode}`);
    const status = await new Promise<number>((resolve) => {
      const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
        `${url}/v2/`,
        ca === undefined ? {} : { ca },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", () => {
        resolve(0);
      });
      req.end();
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `docker-registry serve` on a free loopback port; stop() kills it and removes its storage. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await makeTempDir("registry");
  const tls = opts.tls === true || (opts.basicAuth !== undefined && opts.token === undefined);
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${path.join(dir, "storage")}`,
    "  delete:",
    "    enabled: true",
  ];
  let ca: string | undefined;
  if (tls) {
    await selfSigned(dir, "tls", "/CN=127.0.0.1", "IP:127.0.0.1");
    ca = await readFile(path.join(dir, "tls.crt"), "utf8");
    // skopeo reads a CA from a folder of *.crt files.
    await mkdir(path.join(dir, "certs"));
    await writeFile(path.join(dir, "certs", "ca.crt"), ca);
  }
  let authFile: string | undefined;
  if (opts.token !== undefined) {
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${opts.token.realm}`,
      `    service: ${opts.token.service}`,
      `    issuer: ${opts.token.issuer}`,
      `    rootcertbundle: ${opts.token.certFile}`,
    );
  } else if (opts.basicAuth !== undefined) {
    const { username, password } = opts.basicAuth;
    // htpasswd reads the password from stdin (-i), so it is not on a process command line.
    const { stdout } = await run("htpasswd", ["-niB", username], { input: password });
    await writeFile(path.join(dir, "htpasswd"), stdout);
    lines.push("auth:", "  htpasswd:", "    realm: gitward-test", `    path: ${path.join(dir, "htpasswd")}`);
  }
  let child: ChildProcess | undefined;
  let url: string;
  let host: string;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    url = `${tls ? "https" : "http"}://${host}`;
    const http = ["http:", `  addr: ${host}`];
    if (tls) {
      http.push(
        "  tls:",
        `    certificate: ${path.join(dir, "tls.crt")}`,
        `    key: ${path.join(dir, "tls.key")}`,
      );
    }
    await writeFile(path.join(dir, "config.yml"), [...lines, ...http].join("\n") + "\n");
    const proc = spawn("docker-registry", ["serve", path.join(dir, "config.yml")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString("utf8");
    });
    try {
      await waitForRegistry(url, ca, proc);
      child = proc;
      break;
    } catch (err) {
      proc.kill("SIGKILL");
      // Another process may have taken the port between freePort() and the bind: try a new one.
      if (attempt >= 3) throw new Error(`${String(err)}\n${stderr}`, { cause: err });
    }
  }
  if (opts.basicAuth !== undefined) {
    const auth = Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString("base64");
    authFile = path.join(dir, "auth.json");
    await writeFile(authFile, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  }
  const running = child;
  return {
    host,
    url,
    plainHTTP: !tls,
    dir,
    ...(ca === undefined ? {} : { ca }),
    ...(opts.basicAuth === undefined ? {} : { basicAuth: opts.basicAuth }),
    ...(authFile === undefined ? {} : { authFile }),
    async stop() {
      if (running.exitCode === null && running.signalCode === null) {
        await new Promise<void>((resolve) => {
          running.once("exit", () => {
            resolve();
          });
          running.kill("SIGTERM");
        });
      }
      await removeDir(dir);
    },
  };
}

/** skopeo options that reach this registry: TLS verification off for plain HTTP, its CA and credentials. */
export function skopeoRegistryArgs(registry: TestRegistry, side: "src" | "dest"): string[] {
  const args: string[] = [];
  if (registry.plainHTTP) args.push(`--${side}-tls-verify=false`);
  else args.push(`--${side}-cert-dir`, path.join(registry.dir, "certs"));
  if (registry.authFile !== undefined) args.push(`--${side}-authfile`, registry.authFile);
  return args;
}

export interface TestImageOptions {
  /** Manifest annotations (e.g. org.opencontainers.image.base.name). */
  annotations?: Record<string, string>;
  /** Manifest format in the registry: OCI (default) or Docker's v2 schema 2 (skopeo converts). */
  format?: "oci" | "v2s2";
}

let layoutCounter = 0;

/**
 * Builds a one-layer image with umoci (a file /content.txt holding `content`) and pushes it with skopeo to
 * `repo:tag`. Returns the manifest digest the registry stores ("sha256:...").
 */
export async function pushTestImage(
  registry: TestRegistry,
  repo: string,
  tag: string,
  content: string,
  opts: TestImageOptions = {},
): Promise<string> {
  const work = path.join(registry.dir, `image-${++layoutCounter}`);
  await mkdir(work);
  const layout = path.join(work, "layout");
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", `${layout}:${tag}`]);
  await writeFile(path.join(work, "content.txt"), content);
  await run("umoci", [
    "insert",
    "--image",
    `${layout}:${tag}`,
    path.join(work, "content.txt"),
    "/content.txt",
  ]);
  const annotations = Object.entries(opts.annotations ?? {}).flatMap(([k, v]) => [
    "--manifest.annotation",
    `${k}=${v}`,
  ]);
  if (annotations.length > 0) await run("umoci", ["config", "--image", `${layout}:${tag}`, ...annotations]);
  const digestFile = path.join(work, "digest");
  await run("skopeo", [
    "copy",
    "--quiet",
    ...(opts.format === "v2s2" ? ["--format", "v2s2"] : ["--preserve-digests"]),
    "--digestfile",
    digestFile,
    ...skopeoRegistryArgs(registry, "dest"),
    `oci:${layout}:${tag}`,
    `docker://${registry.host}/${repo}:${tag}`,
  ]);
  const digest = (await readFile(digestFile, "utf8")).trim();
  await removeDir(work);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`skopeo wrote an odd digest: ${digest}`);
  return digest;
}
