// Reading kubeconfigs: every supported credential form against the sandbox over HTTPS (tokens, token
// files, exec plugins, in-cluster), client certificates against a TLS server that demands them, kubectl's
// merge of $KUBECONFIG, relative paths, and the forms that are refused instead of ignored.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ClusterClient } from "../../src/cluster/client.js";
import { ClusterError } from "../../src/cluster/errors.js";
import { kubeconfigFromFiles, kubeconfigFromText, loadKubeconfig } from "../../src/cluster/kubeconfig.js";
import { tokenFileCredentials } from "../../src/cluster/rotating.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { makeTestCa } from "../support/test-ca.js";

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

/**
 * An exec credential plugin in `sub` that counts its runs (`runs`), records KUBERNETES_EXEC_INFO (`info`),
 * runs `extra`, and hands out a token the server refuses on its first run and `good` on every later one.
 */
async function stalePlugin(sub: string, good: string, extra: string[]): Promise<string> {
  const plugin = path.join(sub, "plugin.sh");
  await writeFile(
    plugin,
    [
      "#!/bin/sh",
      `count=$(cat "${sub}/runs" 2>/dev/null || echo 0)`,
      `echo $((count + 1)) > "${sub}/runs"`,
      `printf '%s' "$KUBERNETES_EXEC_INFO" > "${sub}/info"`,
      ...extra,
      `if [ "$count" = 0 ]; then token=stale; else token=${good}; fi`,
      `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$token"`,
    ].join("\n"),
  );
  await chmod(plugin, 0o755);
  return plugin;
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

  it("tokenFile resolves against the kubeconfig's folder and is read again when it changes", async () => {
    const sub = await mkdtemp(path.join(dir, "tf-"));
    const bob = sb.mintToken("bob");
    await writeFile(path.join(sub, "token"), bob + "\n");
    await writeFile(path.join(sub, "config"), config({ tokenFile: "token" }));
    const client = ClusterClient.fromFile(path.join(sub, "config"));
    expect(await whoami(client)).toBe("bob");
    client.close();
    // As client-go: with both, the file (which rotates) wins over the inline token.
    await writeFile(path.join(sub, "both"), config({ tokenFile: "token", token: sb.mintToken("inline") }));
    const both = ClusterClient.fromFile(path.join(sub, "both"));
    expect(await whoami(both)).toBe("bob");
    both.close();

    // Read again as soon as the file changes (it was after a minute's time to live; rotation tests in
    // kubeconfig-rotation.test.ts), and not read while it stays the same.
    const creds = tokenFileCredentials(path.join(sub, "token"));
    const first = await creds.current();
    expect(first.headers["Authorization"]).toBe(`Bearer ${bob}`);
    expect(await creds.current()).toBe(first);
    await writeFile(path.join(sub, "token"), "rotated");
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
    const plugin = await stalePlugin(sub, good, [`printf '%s' "$1 $PLUGIN_FLAVOUR" > "${sub}/args"`]);
    await writeFile(
      path.join(sub, "config"),
      config({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          // Relative to the kubeconfig's folder, where the plugin is.
          command: `./${path.basename(plugin)}`,
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
    const inPod = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port };
    // A home with a ~/.kube/config of its own, and a $KUBECONFIG elsewhere.
    const home = await mkdtemp(path.join(dir, "home-"));
    await mkdir(path.join(home, ".kube"));
    await writeFile(path.join(home, ".kube", "config"), config({ token: sb.mintToken("from-home") }));
    const kubeconfigFile = path.join(dir, "elsewhere.yaml");
    await writeFile(kubeconfigFile, config({ token: sb.mintToken("from-kubeconfig") }));
    const who = async (k: ReturnType<typeof loadKubeconfig>): Promise<string> => {
      const c = ClusterClient.fromResolved(k);
      try {
        return await whoami(c);
      } finally {
        c.close();
      }
    };

    // The operator: the pod's account before ~/.kube/config (as controller-runtime).
    const operator = loadKubeconfig(undefined, {
      env: inPod,
      home,
      serviceAccountDir: sa,
      preferInCluster: true,
    });
    expect(operator.source).toBe("in-cluster");
    expect(operator.namespace).toBe("gitward-system");
    expect(await who(operator)).toBe("system:serviceaccount:gitward-system:gitward");
    // The other commands: kubectl's order, ~/.kube/config before the pod's account.
    expect(await who(loadKubeconfig(undefined, { env: inPod, home, serviceAccountDir: sa }))).toBe(
      "from-home",
    );
    // $KUBECONFIG, set on purpose, wins for both: nobody is sent to the pod's cluster against their word.
    const withEnv = { ...inPod, KUBECONFIG: kubeconfigFile };
    for (const preferInCluster of [true, false]) {
      const k = loadKubeconfig(undefined, { env: withEnv, home, serviceAccountDir: sa, preferInCluster });
      expect(k.source).toBe(kubeconfigFile);
      expect(await who(k)).toBe("from-kubeconfig");
    }

    // Not in a cluster, nothing configured: a clear error.
    expect(rejection(() => loadKubeconfig(undefined, { env: {}, home: dir, serviceAccountDir: sa }))).toMatch(
      /no kubeconfig: give --kubeconfig FILE/,
    );
  });

  it("exec plugins: cluster info when asked, no terminal, errors without the command line, one renewal for many 401s", async () => {
    const sub = await mkdtemp(path.join(dir, "exec-more-"));
    const good = sb.mintToken("erin");
    const plugin = await stalePlugin(sub, good, [
      `if read -r line; then echo got-input > "${sub}/stdin"; else echo eof > "${sub}/stdin"; fi`,
    ]);
    const exec = { apiVersion: "client.authentication.k8s.io/v1", command: plugin, provideClusterInfo: true };
    const client = ClusterClient.fromText(config({ exec }, { "tls-server-name": "localhost" }));
    // Sixteen requests refused at once with the stale token: one renewal between them, not sixteen.
    const names = await Promise.all(Array.from({ length: 16 }, () => whoami(client)));
    expect(new Set(names)).toEqual(new Set(["erin"]));
    expect((await readFile(path.join(sub, "runs"), "utf8")).trim()).toBe("2");
    expect((await readFile(path.join(sub, "stdin"), "utf8")).trim()).toBe("eof");
    const info = JSON.parse(await readFile(path.join(sub, "info"), "utf8")) as {
      spec: { interactive: boolean; cluster?: Record<string, unknown> };
    };
    expect(info.spec.interactive).toBe(false);
    expect(info.spec.cluster).toMatchObject({
      server: sb.url,
      "tls-server-name": "localhost",
      "certificate-authority-data": Buffer.from(sb.caPem).toString("base64"),
    });
    client.close();

    // A failing plugin is named by its exit status; its arguments (here a secret) never appear.
    const failing = path.join(sub, "failing.sh");
    await writeFile(failing, "#!/bin/sh\nexit 7\n");
    await chmod(failing, 0o755);
    const secretArg = "--client-secret=SUPER-SECRET-ARG";
    const bad = ClusterClient.fromText(
      config({
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: failing, args: [secretArg] },
      }),
    );
    const err = (await whoami(bad).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain("exited with 7");
    expect(err.message).not.toContain("SUPER-SECRET-ARG");
    bad.close();

    // Not installed: the kubeconfig's install hint is shown.
    const missing = ClusterClient.fromText(
      config({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "gitward-no-such-plugin",
          installHint: "install it from the vendor",
        },
      }),
    );
    await expect(whoami(missing)).rejects.toThrow(/was not found: install it from the vendor/);
    missing.close();
    // A plugin that insists on a terminal cannot run here.
    expect(
      rejection(() => ClusterClient.fromText(config({ exec: { ...exec, interactiveMode: "Always" } }))),
    ).toMatch(/interactiveMode is Always/);
  });
});

describe("client certificates", () => {
  it("presents the kubeconfig's client certificate (files relative to the kubeconfig) to a server that demands one", async () => {
    const sub = await mkdtemp(path.join(dir, "certs-"));
    const ca = await makeTestCa(sub, "/CN=test-ca");
    await ca.issue("server", "/CN=localhost", { san: "IP:127.0.0.1,DNS:localhost" });
    await ca.issue("client", "/CN=dave/O=ops");
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
      [
        { token: "t" },
        { "insecure-skip-tls-verify": true },
        /insecure-skip-tls-verify and a certificate authority/,
      ],
      [{ token: "t", username: "u", password: "p" }, {}, /more than one way to authenticate/],
      [{ token: "t" }, { server: "https://user:pw@127.0.0.1:1" }, /must not carry credentials/],
      // Parses as host "bob", port 1234: the "@" after the host is what a password with "/" leaves.
      [{ token: "t" }, { server: "https://bob:1234/pa/ss@127.0.0.1:1" }, /must not carry credentials/],
      [{ token: "t" }, { server: "https://127.0.0.1:1/?access_token=s3cr3t" }, /must not carry credentials/],
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
    // A server that does not parse because of its password is named with the password redacted.
    for (const server of [
      "https://bob:pa/ss@127.0.0.1:1",
      "https://bob:p@s:s@x y",
      "https://bob:pa%2Fss@[::1",
    ]) {
      await writeFile(file, config({ token: "t" }, { server }));
      const m = rejection(() => ClusterClient.fromFile(file));
      expect(m).toMatch(/is not a URL/);
      expect(m).toContain("[REDACTED]");
      for (const secret of ["pa/ss", "p@s:s", "pa%2Fss", "bob"]) expect(m).not.toContain(secret);
    }
    // A server URL without credentials is accepted as before.
    await writeFile(file, config({ token: "t" }, { server: "https://127.0.0.1:1/k8s" }));
    const accepted = ClusterClient.fromFile(file);
    expect(accepted.serverUrl).toBe("https://127.0.0.1:1");
    accepted.close();
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
