// Reading kubeconfigs: every supported credential form against the sandbox over HTTPS (tokens, token
// files, exec plugins, in-cluster), client certificates against a TLS server that demands them, kubectl's
// merge of $KUBECONFIG, relative paths, and the forms that are refused instead of ignored.
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterClient } from "../../src/cluster/client.js";
import { ClusterError } from "../../src/cluster/errors.js";
import {
  kubeconfigFromFiles,
  kubeconfigFromText,
  loadKubeconfig,
  tokenFileCredentials,
} from "../../src/cluster/kubeconfig.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";

let sb: Sandbox;
let dir: string;

beforeAll(async () => {
  sb = await startSandbox();
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-kubeconfig-"));
});

afterAll(async () => {
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Who the API server takes the client for (SelfSubjectReview, as `kubectl auth whoami`). */
async function whoami(client: ClusterClient): Promise<string> {
  const review = await client.create({
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    metadata: { name: "" },
  });
  return String((review["status"] as { userInfo?: { username?: string } }).userInfo?.username);
}

/** A kubeconfig for the sandbox with `user` as the user entry and extra cluster fields. */
function config(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "sb",
        cluster: {
          server: sb.url,
          "certificate-authority-data": Buffer.from(sb.caPem).toString("base64"),
          ...cluster,
        },
      },
    ],
    users: [{ name: "u", user }],
    contexts: [{ name: "c", context: { cluster: "sb", user: "u", namespace: "team" } }],
    "current-context": "c",
  });
}

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterError);
    return (err as Error).message;
  }
  throw new Error("expected a ClusterError");
}

describe("credentials against the sandbox", () => {
  it("a static token authenticates as its user; a wrong one is refused with 401", async () => {
    const good = ClusterClient.fromText(config({ token: sb.mintToken("alice") }));
    expect(await whoami(good)).toBe("alice");
    const bad = ClusterClient.fromText(config({ token: "not-a-token" }));
    await expect(whoami(bad)).rejects.toMatchObject({ status: 401 });
    good.close();
    bad.close();
  });

  it("tokenFile resolves against the kubeconfig's folder and is read again after its time to live", async () => {
    const sub = await mkdtemp(path.join(dir, "tf-"));
    const bob = sb.mintToken("bob");
    await writeFile(path.join(sub, "token"), bob + "\n");
    await writeFile(path.join(sub, "config"), config({ tokenFile: "token" }));
    const client = ClusterClient.fromFile(path.join(sub, "config"));
    expect(await whoami(client)).toBe("bob");
    client.close();

    let now = 0;
    const creds = tokenFileCredentials(path.join(sub, "token"), () => now);
    expect((await creds.current()).headers["Authorization"]).toBe(`Bearer ${bob}`);
    await writeFile(path.join(sub, "token"), "rotated");
    now = 59_000;
    expect((await creds.current()).headers["Authorization"]).not.toBe("Bearer rotated");
    now = 60_000;
    expect((await creds.current()).headers["Authorization"]).toBe("Bearer rotated");
  });

  it("a missing token file fails at once with its path, not after retries", async () => {
    const client = ClusterClient.fromText(config({ tokenFile: path.join(dir, "nope") }), {
      backoff: { attempts: 5, baseMs: 1_000 },
    });
    const started = Date.now();
    await expect(whoami(client)).rejects.toThrow(`token file ${path.join(dir, "nope")}: ENOENT`);
    expect(Date.now() - started).toBeLessThan(900);
    client.close();
  });

  it("runs an exec plugin without a shell, passes KUBERNETES_EXEC_INFO, and renews on 401", async () => {
    const sub = await mkdtemp(path.join(dir, "exec-"));
    const good = sb.mintToken("carol");
    // The first run hands out a token the server refuses; every later run a good one.
    const plugin = path.join(sub, "plugin.sh");
    await writeFile(
      plugin,
      [
        "#!/bin/sh",
        `count=$(cat "${sub}/runs" 2>/dev/null || echo 0)`,
        `echo $((count + 1)) > "${sub}/runs"`,
        `printf '%s' "$KUBERNETES_EXEC_INFO" > "${sub}/info"`,
        `printf '%s' "$1 $PLUGIN_FLAVOUR" > "${sub}/args"`,
        `if [ "$count" = 0 ]; then token=stale; else token=${good}; fi`,
        `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$token"`,
      ].join("\n"),
    );
    await chmod(plugin, 0o755);
    await writeFile(
      path.join(sub, "config"),
      config({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "./plugin.sh",
          args: ["--flag with space"],
          env: [{ name: "PLUGIN_FLAVOUR", value: "vanilla" }],
        },
      }),
    );
    const client = ClusterClient.fromFile(path.join(sub, "config"));
    expect(await whoami(client)).toBe("carol");
    expect(await whoami(client)).toBe("carol");
    // Once stale, once renewed after the 401; then the cached credential (no expiry given) is reused.
    expect((await readFile(path.join(sub, "runs"), "utf8")).trim()).toBe("2");
    expect(JSON.parse(await readFile(path.join(sub, "info"), "utf8"))).toMatchObject({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    expect(await readFile(path.join(sub, "args"), "utf8")).toBe("--flag with space vanilla");
    client.close();
  });

  it("an exec plugin that fails is reported with its first stderr line; its stdout never is", async () => {
    const sub = await mkdtemp(path.join(dir, "exec-fail-"));
    const plugin = path.join(sub, "plugin.sh");
    await writeFile(plugin, "#!/bin/sh\necho SECRET-OUTPUT\necho 'no credentials found' >&2\nexit 3\n");
    await chmod(plugin, 0o755);
    const client = ClusterClient.fromText(
      config({ exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: plugin } }),
    );
    const err = (await whoami(client).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ClusterError);
    expect(err.message).toContain("no credentials found");
    expect(err.message).not.toContain("SECRET-OUTPUT");
    client.close();
  });

  it("in-cluster: the mounted service account token and CA, from KUBERNETES_SERVICE_HOST/PORT", async () => {
    const sa = await mkdtemp(path.join(dir, "sa-"));
    await writeFile(path.join(sa, "token"), sb.mintToken("system:serviceaccount:gitward-system:gitward"));
    await writeFile(path.join(sa, "ca.crt"), sb.caPem);
    await writeFile(path.join(sa, "namespace"), "gitward-system\n");
    const port = new URL(sb.url).port;
    const kubeconfigFile = path.join(dir, "elsewhere.yaml");
    await writeFile(kubeconfigFile, config({ token: sb.mintToken("from-kubeconfig") }));
    const env = {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: port,
      KUBECONFIG: kubeconfigFile,
    };

    const operator = loadKubeconfig(undefined, { env, serviceAccountDir: sa, preferInCluster: true });
    expect(operator.source).toBe("in-cluster");
    expect(operator.namespace).toBe("gitward-system");
    const client = ClusterClient.fromResolved(operator);
    expect(await whoami(client)).toBe("system:serviceaccount:gitward-system:gitward");
    client.close();

    // kubectl's order for the other commands: $KUBECONFIG before the in-cluster account.
    const cli = loadKubeconfig(undefined, { env, serviceAccountDir: sa });
    expect(cli.source).toBe(kubeconfigFile);
    const viaFile = ClusterClient.fromResolved(cli);
    expect(await whoami(viaFile)).toBe("from-kubeconfig");
    viaFile.close();

    // Not in a cluster, nothing configured: a clear error.
    expect(rejection(() => loadKubeconfig(undefined, { env: {}, home: dir, serviceAccountDir: sa }))).toMatch(
      /no kubeconfig: give --kubeconfig FILE/,
    );
  });
});

describe("client certificates", () => {
  it("presents the kubeconfig's client certificate (files relative to the kubeconfig) to a server that demands one", async () => {
    const sub = await mkdtemp(path.join(dir, "certs-"));
    const ssl = (...args: string[]): void => {
      execFileSync("openssl", args, { cwd: sub, stdio: "ignore" });
    };
    // An EC P-256 key and a request for `cn`, then signed by the test CA (with extensions from `ext`).
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    ssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
    const issue = (name: string, subject: string, ext: string[] = []): void => {
      ssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject);
      ssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.crt`,
        "-days",
        "1",
        ...ext,
      );
    };
    await writeFile(path.join(sub, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    issue("server", "/CN=localhost", ["-extfile", "san.ext"]);
    issue("client", "/CN=dave/O=ops");
    const read = (f: string): Promise<Buffer> => readFile(path.join(sub, f));
    const server = https.createServer(
      {
        key: await read("server.key"),
        cert: await read("server.crt"),
        ca: await read("ca.crt"),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const cn = req.socket instanceof TLSSocket ? req.socket.getPeerCertificate().subject.CN : "none";
        res.setHeader("Content-Type", "application/json");
        // Just enough of the API for one read: discovery of v1, then the object, carrying the peer's CN.
        const body =
          req.url === "/api/v1"
            ? {
                kind: "APIResourceList",
                resources: [{ name: "configmaps", kind: "ConfigMap", namespaced: true }],
              }
            : { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { cn } };
        res.end(JSON.stringify(body));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const text = stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "s", cluster: { server: `https://127.0.0.1:${port}`, "certificate-authority": "ca.crt" } },
        ],
        users: [{ name: "d", user: { "client-certificate": "client.crt", "client-key": "client.key" } }],
        contexts: [{ name: "c", context: { cluster: "s", user: "d" } }],
        "current-context": "c",
      });
      await writeFile(path.join(sub, "config"), text);
      const client = ClusterClient.fromFile(path.join(sub, "config"));
      const cm = await client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "d", name: "x" });
      expect(cm?.["data"]).toEqual({ cn: "dave" });
      client.close();

      // Without the client certificate the server refuses the handshake.
      await writeFile(
        path.join(sub, "no-cert"),
        text.replace(/client-certificate: client.crt\n\s*client-key: client.key/, "token: x"),
      );
      const noCert = ClusterClient.fromFile(path.join(sub, "no-cert"), { backoff: { attempts: 1 } });
      await expect(
        noCert.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "d", name: "x" }),
      ).rejects.toThrow(/failed after 1 attempts/);
      noCert.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("merging and refusals", () => {
  it("merges $KUBECONFIG files as kubectl does: the first to define a name wins", async () => {
    const a = path.join(dir, "a.yaml");
    const b = path.join(dir, "b.yaml");
    await writeFile(
      a,
      stringify({
        users: [{ name: "u", user: { token: sb.mintToken("first") } }],
        contexts: [{ name: "c", context: { cluster: "sb", user: "u" } }],
      }),
    );
    await writeFile(b, config({ token: sb.mintToken("second") }));
    const merged = kubeconfigFromFiles([a, b]);
    const client = ClusterClient.fromResolved(merged);
    expect(await whoami(client)).toBe("first");
    client.close();
    // A listed file that does not exist is skipped, as kubectl does.
    const env = { KUBECONFIG: [path.join(dir, "missing.yaml"), b].join(path.delimiter) };
    expect(loadKubeconfig(undefined, { env }).source).toBe(b);
  });

  it("refuses what it would otherwise ignore, naming the file and the entry", async () => {
    const file = path.join(dir, "refused.yaml");
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{ "auth-provider": { name: "gcp" } }, {}, /user u uses an auth-provider plugin/],
      [{ token: "t", as: "system:admin" }, {}, /user u asks for impersonation/],
      [{ "client-certificate-data": "AAAA" }, {}, /certificate without its key/],
      [{ token: "t" }, { "proxy-url": "http://proxy:3128" }, /cluster sb: proxy-url is not supported/],
      [{ token: "t" }, { server: "https://user:pw@127.0.0.1:1" }, /must not carry credentials/],
      [
        { exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" } },
        {},
        /exec.apiVersion must be one of/,
      ],
    ];
    for (const [user, cluster, message] of cases) {
      await writeFile(file, config(user, cluster));
      const m = rejection(() => ClusterClient.fromFile(file));
      expect(m).toMatch(message);
      expect(m).toContain(file);
    }
    expect(rejection(() => kubeconfigFromText("clusters: ["))).toMatch(/^kubeconfig text: not valid YAML/);
    expect(rejection(() => kubeconfigFromText(stringify({ contexts: [] })))).toMatch(
      /sets no current-context/,
    );
    expect(
      rejection(() =>
        kubeconfigFromText(
          stringify({ "current-context": "c", contexts: [{ name: "c", context: { cluster: "gone" } }] }),
        ),
      ),
    ).toMatch(/context c names cluster gone, which it does not define/);
    expect(rejection(() => loadKubeconfig(path.join(dir, "absent.yaml")))).toMatch(
      /absent.yaml: no such file/,
    );
  });
});
