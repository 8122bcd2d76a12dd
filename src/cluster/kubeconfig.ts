// Reading a kubeconfig into what a request needs: the server, the TLS settings and the credentials.
//
// Written here rather than taken from @kubernetes/client-node's KubeConfig because importing that package
// costs the process about 90 MB of resident memory (it pulls in every generated API model), which alone
// breaks the operator's memory budget; the kubeconfig format itself is small and stable (kubectl's
// clientcmd v1). Forms supported: token, tokenFile and client certificate files (re-read when they change:
// rotating.ts), basic auth, inline client certificates, exec credential plugins (client.authentication.k8s.io v1 and v1beta1)
// and the in-cluster service account. The removed auth-provider plugins, proxy-url and `as` impersonation
// are refused with a clear error rather than ignored, so gitward never acts as someone it was not told to.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { redactUrl, urlCredentialKind } from "../source/url.js";
import { ClusterError, ClusterErrorCode } from "./errors.js";
import { tokenFileCredentials, withRotatingClientCert } from "./rotating.js";

/** Where a pod's service account is mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** An exec plugin's credential is renewed this long before it expires. */
const EXEC_EXPIRY_MARGIN_MS = 30_000;
const EXEC_TIMEOUT_MS = 120_000;

export interface TlsSettings {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

/** What one request carries: headers and, for client certificates from a plugin, the pair. */
export interface RequestCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface Credentials {
  /** The credentials for the next request (cached; a file or plugin is consulted only when due). */
  current(): Promise<RequestCredentials>;
  /**
   * The server answered 401 to a request made with `used`: forget it, unless a fresher one replaced it
   * meanwhile (so 16 requests refused at once run a plugin once, not 16 times). True when the next
   * `current()` may differ.
   */
  invalidate(used: RequestCredentials): boolean;
}

export interface ResolvedKubeconfig {
  readonly server: URL;
  readonly tls: TlsSettings;
  readonly credentials: Credentials;
  /** The context's default namespace, when it names one. */
  readonly namespace?: string;
  /** Where it came from, for messages: a file path, "in-cluster" or "text". */
  readonly source: string;
}

export interface LoadOptions {
  /** The operator's order: $KUBECONFIG when set, then the in-cluster account, then ~/.kube/config. */
  readonly preferInCluster?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The mounted service account (tests point this elsewhere). */
  readonly serviceAccountDir?: string;
  readonly home?: string;
  /** Use this context instead of the file's current-context (kubectl --context). */
  readonly context?: string;
}

/** The system error name of a failed file read (ENOENT, EACCES...), never its message. */
function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? "unreadable";
}

function invalid(source: string, message: string): ClusterError {
  return new ClusterError(ClusterErrorCode.Invalid, `kubeconfig ${source}: ${message}`);
}

// ---- the file format ----------------------------------------------------------------------------------

interface Named<T> {
  readonly name: string;
  readonly value: T;
  /** The directory relative paths in this entry are resolved against. */
  readonly dir: string;
}

type Dict = Record<string, unknown>;

interface Parsed {
  readonly clusters: Named<Dict>[];
  readonly users: Named<Dict>[];
  readonly contexts: Named<Dict>[];
  readonly currentContext?: string;
}

function isDict(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function entries(doc: Dict, key: string, inner: string, dir: string, source: string): Named<Dict>[] {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalid(source, `${key} must be a list`);
  return list.map((item: unknown, i) => {
    if (!isDict(item) || typeof item["name"] !== "string") throw invalid(source, `${key}[${i}] needs a name`);
    const value = item[inner] ?? {};
    if (!isDict(value)) throw invalid(source, `${key}[${i}] (${item["name"]}): ${inner} must be a mapping`);
    return { name: item["name"], value, dir };
  });
}

function parseText(text: string, dir: string, source: string): Parsed {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw invalid(
      source,
      `not valid YAML (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
    );
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isDict(doc)) throw invalid(source, "is not a mapping");
  const current = doc["current-context"];
  return {
    clusters: entries(doc, "clusters", "cluster", dir, source),
    users: entries(doc, "users", "user", dir, source),
    contexts: entries(doc, "contexts", "context", dir, source),
    ...(typeof current === "string" && current !== "" ? { currentContext: current } : {}),
  };
}

/** Several files as kubectl merges them: the first to define a name (or current-context) wins. */
function merge(parts: readonly Parsed[]): Parsed {
  const pick = (key: "clusters" | "users" | "contexts"): Named<Dict>[] => {
    const seen = new Map<string, Named<Dict>>();
    for (const p of parts) for (const e of p[key]) if (!seen.has(e.name)) seen.set(e.name, e);
    return [...seen.values()];
  };
  const currentContext = parts.find((p) => p.currentContext !== undefined)?.currentContext;
  return {
    clusters: pick("clusters"),
    users: pick("users"),
    contexts: pick("contexts"),
    ...(currentContext === undefined ? {} : { currentContext }),
  };
}

function str(d: Dict, key: string, where: string, source: string): string | undefined {
  const v = d[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw invalid(source, `${where}: ${key} must be a string`);
  return v;
}

function readPath(file: string, dir: string, what: string, source: string): Buffer {
  const full = path.resolve(dir, file);
  try {
    return readFileSync(full);
  } catch (err) {
    throw invalid(source, `${what} ${full}: ${errCode(err)}`);
  }
}

/** Inline base64 data or a file path (relative to the kubeconfig's directory). */
function material(
  d: Dict,
  dataKey: string,
  fileKey: string,
  entry: Named<Dict>,
  where: string,
  source: string,
): Buffer | undefined {
  const data = str(d, dataKey, where, source);
  if (data !== undefined) return Buffer.from(data, "base64");
  const file = str(d, fileKey, where, source);
  return file === undefined ? undefined : readPath(file, entry.dir, `${where}: ${fileKey}`, source);
}

// ---- credentials --------------------------------------------------------------------------------------

const NONE: Credentials = {
  current: () => Promise.resolve({ headers: {} }),
  invalidate: () => false,
};

function staticCredentials(c: RequestCredentials): Credentials {
  return { current: () => Promise.resolve(c), invalidate: () => false };
}

interface ExecConfig {
  readonly apiVersion: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly dir: string;
  readonly where: string;
  /** Pass the cluster (server, CA, TLS settings) in KUBERNETES_EXEC_INFO's spec.cluster. */
  readonly provideClusterInfo: boolean;
  /** Shown when the command is not found, as kubectl does. */
  readonly installHint?: string;
}

/** What spec.cluster of an ExecCredential holds (client.authentication.k8s.io Cluster). */
export interface ExecClusterInfo {
  readonly server: string;
  readonly "tls-server-name"?: string;
  readonly "insecure-skip-tls-verify"?: boolean;
  readonly "certificate-authority-data"?: string;
}

const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

function execConfig(d: Dict, entry: Named<Dict>, where: string, source: string): ExecConfig {
  const apiVersion = str(d, "apiVersion", `${where}: exec`, source);
  if (apiVersion === undefined || !EXEC_API_VERSIONS.includes(apiVersion))
    throw invalid(source, `${where}: exec.apiVersion must be one of ${EXEC_API_VERSIONS.join(", ")}`);
  const command = str(d, "command", `${where}: exec`, source);
  if (command === undefined) throw invalid(source, `${where}: exec needs a command`);
  const args = d["args"] ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string"))
    throw invalid(source, `${where}: exec.args must be a list of strings`);
  const env: Record<string, string> = {};
  const list = d["env"] ?? [];
  if (!Array.isArray(list)) throw invalid(source, `${where}: exec.env must be a list`);
  for (const e of list) {
    if (!isDict(e) || typeof e["name"] !== "string" || typeof e["value"] !== "string")
      throw invalid(source, `${where}: each exec.env entry needs a name and a value`);
    env[e["name"]] = e["value"];
  }
  // gitward never has a person at its terminal: a plugin that must prompt cannot work here.
  if (d["interactiveMode"] === "Always")
    throw invalid(source, `${where}: exec.interactiveMode is Always, but gitward runs without a terminal`);
  const installHint = str(d, "installHint", `${where}: exec`, source);
  return {
    apiVersion,
    command,
    args,
    env,
    dir: entry.dir,
    where,
    provideClusterInfo: d["provideClusterInfo"] === true,
    ...(installHint === undefined ? {} : { installHint }),
  };
}

/**
 * An exec credential plugin, run without a shell (as kubectl does) and asked again when its credential
 * is about to expire or the server answered 401. Its stdout (the credential) is never logged.
 */
export function execCredentials(
  cfg: ExecConfig,
  baseEnv: Readonly<Record<string, string | undefined>>,
  cluster?: ExecClusterInfo,
): Credentials {
  let cached: { creds: RequestCredentials; expires: number } | undefined;
  let running: Promise<RequestCredentials> | undefined;
  // A command with a slash is relative to the kubeconfig, like kubectl; a bare name is looked up on PATH.
  const command = cfg.command.includes("/") ? path.resolve(cfg.dir, cfg.command) : cfg.command;
  const run = (): Promise<RequestCredentials> =>
    new Promise((resolve, reject) => {
      const spec = {
        interactive: false,
        ...(cfg.provideClusterInfo && cluster !== undefined ? { cluster } : {}),
      };
      const info = { apiVersion: cfg.apiVersion, kind: "ExecCredential", spec };
      const child = execFile(
        command,
        [...cfg.args],
        {
          env: { ...baseEnv, ...cfg.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
          timeout: EXEC_TIMEOUT_MS,
          maxBuffer: 1 << 20,
        },
        (err, stdout, stderr) => {
          const fail = (why: string): void => {
            reject(
              new ClusterError(
                ClusterErrorCode.Unauthorized,
                `${cfg.where}: exec plugin ${cfg.command} ${why}`,
              ),
            );
          };
          if (err !== null) {
            // Never err.message: it holds the whole command line, whose arguments may be secrets.
            // An ExecFileException: code is the exit status (a number) or a system error name.
            const e = err as { code?: unknown; killed?: boolean; signal?: string | null };
            if (e.code === "ENOENT") {
              fail(
                `was not found${cfg.installHint === undefined ? "" : `: ${cfg.installHint.slice(0, 500)}`}`,
              );
              return;
            }
            const how =
              e.killed === true
                ? `was stopped after ${EXEC_TIMEOUT_MS / 1000} s`
                : typeof e.code === "number"
                  ? `exited with ${e.code}`
                  : `failed (${e.signal ?? (typeof e.code === "string" ? e.code : "unknown")})`;
            // stderr is for people (e.g. "no credentials found"); the credential itself goes to stdout.
            const hint = stderr.trim().split("\n")[0]?.slice(0, 300) ?? "";
            fail(`${how}${hint === "" ? "" : `: ${hint}`}`);
            return;
          }
          let out: unknown;
          try {
            out = JSON.parse(stdout);
          } catch {
            fail("printed no ExecCredential JSON");
            return;
          }
          if (!isDict(out) || out["kind"] !== "ExecCredential" || out["apiVersion"] !== cfg.apiVersion) {
            fail(`printed no ExecCredential of ${cfg.apiVersion}`);
            return;
          }
          const status = isDict(out["status"]) ? out["status"] : undefined;
          if (status === undefined) {
            fail("printed an ExecCredential without status");
            return;
          }
          const token = typeof status["token"] === "string" ? status["token"] : undefined;
          const cert =
            typeof status["clientCertificateData"] === "string" ? status["clientCertificateData"] : undefined;
          const key = typeof status["clientKeyData"] === "string" ? status["clientKeyData"] : undefined;
          if (token === undefined && (cert === undefined || key === undefined)) {
            fail("gave neither a token nor a client certificate and key");
            return;
          }
          const exp =
            typeof status["expirationTimestamp"] === "string"
              ? Date.parse(status["expirationTimestamp"])
              : NaN;
          const creds: RequestCredentials = {
            headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
            ...(cert !== undefined && key !== undefined
              ? { cert: Buffer.from(cert), key: Buffer.from(key) }
              : {}),
          };
          cached = { creds, expires: Number.isFinite(exp) ? exp - EXEC_EXPIRY_MARGIN_MS : Infinity };
          resolve(creds);
        },
      );
      // No terminal and no input: a plugin that would prompt (MFA, SSO) reads end-of-file and fails at once.
      child.stdin?.end();
    });
  return {
    current() {
      if (cached !== undefined && Date.now() < cached.expires) return Promise.resolve(cached.creds);
      running ??= run().finally(() => (running = undefined));
      return running;
    },
    invalidate(used) {
      if (cached?.creds === used) cached = undefined;
      return true;
    },
  };
}

function credentialsFor(
  user: Named<Dict> | undefined,
  source: string,
  env: Readonly<Record<string, string | undefined>>,
  clusterInfo: ExecClusterInfo,
): { credentials: Credentials; cert?: Buffer; key?: Buffer } {
  if (user === undefined) return { credentials: NONE };
  const u = user.value;
  const where = `user ${user.name}`;
  if (u["auth-provider"] !== undefined) {
    throw invalid(
      source,
      `${where} uses an auth-provider plugin, which gitward does not support; use an exec credential plugin`,
    );
  }
  if (u["as"] !== undefined || u["as-groups"] !== undefined || u["as-uid"] !== undefined) {
    throw invalid(
      source,
      `${where} asks for impersonation (as); gitward does not impersonate from a kubeconfig`,
    );
  }
  const cert = material(u, "client-certificate-data", "client-certificate", user, where, source);
  const key = material(u, "client-key-data", "client-key", user, where, source);
  if ((cert === undefined) !== (key === undefined))
    throw invalid(
      source,
      `${where} has a client certificate without its key, or a key without its certificate`,
    );
  // Certificate and key files are read again when they change (cert-manager and kubelets rotate them).
  const certFile =
    u["client-certificate-data"] === undefined ? str(u, "client-certificate", where, source) : undefined;
  const keyFile = u["client-key-data"] === undefined ? str(u, "client-key", where, source) : undefined;
  const rotating = certFile !== undefined && keyFile !== undefined;
  const pair = cert !== undefined && key !== undefined && !rotating ? { cert, key } : {};
  const finish = (credentials: Credentials): { credentials: Credentials; cert?: Buffer; key?: Buffer } =>
    rotating
      ? {
          credentials: withRotatingClientCert(
            credentials,
            path.resolve(user.dir, certFile),
            path.resolve(user.dir, keyFile),
            where,
          ),
        }
      : { credentials, ...pair };
  const token = str(u, "token", where, source);
  const tokenFile = str(u, "tokenFile", where, source);
  const username = str(u, "username", where, source);
  const password = str(u, "password", where, source);
  const isBasic = username !== undefined || password !== undefined;
  // As clientcmd: one way to authenticate per user (a client certificate may come with it).
  const methods = [
    token !== undefined || tokenFile !== undefined ? "token" : "",
    isBasic ? "basic auth" : "",
  ];
  if (methods.filter((m) => m !== "").length > 1)
    throw invalid(source, `${where} has more than one way to authenticate (token and basic auth); keep one`);
  // As client-go: a token file, re-read as it rotates, wins over a token written inline.
  if (tokenFile !== undefined) return finish(tokenFileCredentials(path.resolve(user.dir, tokenFile)));
  if (token !== undefined)
    return finish(staticCredentials({ headers: { Authorization: `Bearer ${token}` } }));
  if (isDict(u["exec"]))
    return finish(execCredentials(execConfig(u["exec"], user, where, source), env, clusterInfo));
  if (isBasic) {
    const basic = Buffer.from(`${username ?? ""}:${password ?? ""}`).toString("base64");
    return finish(staticCredentials({ headers: { Authorization: `Basic ${basic}` } }));
  }
  return finish(NONE);
}

function resolveParsed(
  parsed: Parsed,
  source: string,
  env: Readonly<Record<string, string | undefined>>,
  contextOverride?: string,
): ResolvedKubeconfig {
  const contextName = contextOverride ?? parsed.currentContext;
  if (contextName === undefined) throw invalid(source, "sets no current-context");
  const context = parsed.contexts.find((c) => c.name === contextName);
  if (context === undefined)
    throw invalid(
      source,
      `${contextOverride === undefined ? "current-context" : "context"} ${contextName} is not among its contexts`,
    );
  const clusterName = str(context.value, "cluster", `context ${contextName}`, source);
  const cluster = parsed.clusters.find((c) => c.name === clusterName);
  if (cluster === undefined)
    throw invalid(
      source,
      `context ${contextName} names cluster ${String(clusterName)}, which it does not define`,
    );
  const userName = str(context.value, "user", `context ${contextName}`, source);
  const user = userName === undefined ? undefined : parsed.users.find((u) => u.name === userName);
  if (userName !== undefined && user === undefined)
    throw invalid(source, `context ${contextName} names user ${userName}, which it does not define`);

  const c = cluster.value;
  const where = `cluster ${cluster.name}`;
  const serverText = str(c, "server", where, source);
  if (serverText === undefined) throw invalid(source, `${where} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    // A password holding "/" or "@" is why it does not parse: the text is shown redacted.
    throw invalid(source, `${where}: server ${redactUrl(serverText)} is not a URL`);
  }
  if (server.protocol !== "https:" && server.protocol !== "http:")
    throw invalid(source, `${where}: server must be an https:// (or http://) URL`);
  // Also an "@" after the host: "https://bob:1234/pa/ss@host" parses as host "bob", port 1234.
  if (urlCredentialKind(server, false) !== "none")
    throw invalid(source, `${where}: the server URL must not carry credentials`);
  if (c["proxy-url"] !== undefined) throw invalid(source, `${where}: proxy-url is not supported`);
  const insecure = c["insecure-skip-tls-verify"] === true;
  const ca = material(c, "certificate-authority-data", "certificate-authority", cluster, where, source);
  // client-go refuses this too: with both, Node would drop the CA and trust whatever answers.
  if (insecure && ca !== undefined)
    throw invalid(
      source,
      `${where} sets insecure-skip-tls-verify and a certificate authority; remove insecure-skip-tls-verify`,
    );
  const servername = str(c, "tls-server-name", where, source);
  const clusterInfo: ExecClusterInfo = {
    server: serverText,
    ...(servername === undefined ? {} : { "tls-server-name": servername }),
    ...(insecure ? { "insecure-skip-tls-verify": true } : {}),
    ...(ca === undefined ? {} : { "certificate-authority-data": ca.toString("base64") }),
  };
  const auth = credentialsFor(user, source, env, clusterInfo);
  const namespace = str(context.value, "namespace", `context ${contextName}`, source);
  return {
    server,
    tls: {
      rejectUnauthorized: !insecure,
      ...(ca === undefined ? {} : { ca }),
      ...(auth.cert === undefined ? {} : { cert: auth.cert, key: auth.key }),
      ...(servername === undefined ? {} : { servername }),
    },
    credentials: auth.credentials,
    ...(namespace === undefined ? {} : { namespace }),
    source,
  };
}

// ---- entry points -------------------------------------------------------------------------------------

/** Kubeconfig YAML (or JSON) text; relative paths in it resolve against `dir`. */
export function kubeconfigFromText(
  text: string,
  opts: { dir?: string; source?: string; env?: Readonly<Record<string, string | undefined>> } = {},
): ResolvedKubeconfig {
  const source = opts.source ?? "text";
  return resolveParsed(parseText(text, opts.dir ?? process.cwd(), source), source, opts.env ?? process.env);
}

function readKubeconfigFile(file: string): Parsed {
  const full = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (err) {
    const code = errCode(err);
    throw invalid(full, code === "ENOENT" ? "no such file" : code);
  }
  return parseText(text, path.dirname(full), full);
}

/** A kubeconfig file, or several separated as in $KUBECONFIG, merged. */
export function kubeconfigFromFiles(
  files: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  context?: string,
): ResolvedKubeconfig {
  const source = files.map((f) => path.resolve(f)).join(path.delimiter);
  return resolveParsed(merge(files.map(readKubeconfigFile)), source, env, context);
}

/** The pod's service account, when running in a cluster; undefined otherwise. */
export function inClusterKubeconfig(opts: LoadOptions = {}): ResolvedKubeconfig | undefined {
  const env = opts.env ?? process.env;
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = path.join(dir, "token");
  if (host === undefined || host === "" || port === undefined || port === "" || !existsSync(tokenFile))
    return undefined;
  const source = "in-cluster";
  const caFile = path.join(dir, "ca.crt");
  const server = new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`);
  const nsFile = path.join(dir, "namespace");
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, "utf8").trim() : "";
  return {
    server,
    tls: { rejectUnauthorized: true, ca: readPath(caFile, dir, "service account CA", source) },
    credentials: tokenFileCredentials(tokenFile),
    ...(namespace === "" ? {} : { namespace }),
    source,
  };
}

/**
 * The default lookup: `file` when given; else $KUBECONFIG (a list; setting it is an explicit choice, so it
 * wins); then ~/.kube/config and the in-cluster service account, in kubectl's order — or, with
 * `preferInCluster` (the operator, as controller-runtime), the in-cluster account before ~/.kube/config.
 */
export function loadKubeconfig(file: string | undefined, opts: LoadOptions = {}): ResolvedKubeconfig {
  const env = opts.env ?? process.env;
  if (file !== undefined) return kubeconfigFromFiles([file], env, opts.context);
  const list = (env["KUBECONFIG"] ?? "").split(path.delimiter).filter((f) => f !== "");
  if (list.length > 0) {
    // kubectl skips listed files that do not exist, but not all of them.
    const present = list.filter((f) => existsSync(f));
    if (present.length === 0)
      throw invalid(list.join(path.delimiter), "none of the files in $KUBECONFIG exists");
    return kubeconfigFromFiles(present, env, opts.context);
  }
  if (opts.preferInCluster === true) {
    const inCluster = inClusterKubeconfig(opts);
    if (inCluster !== undefined) return inCluster;
  }
  const home = path.join(opts.home ?? os.homedir(), ".kube", "config");
  if (existsSync(home)) return kubeconfigFromFiles([home], env, opts.context);
  const inCluster = inClusterKubeconfig(opts);
  if (inCluster !== undefined) return inCluster;
  throw new ClusterError(
    ClusterErrorCode.Invalid,
    "no kubeconfig: give --kubeconfig FILE, set $KUBECONFIG, create ~/.kube/config, or run in a cluster",
  );
}
