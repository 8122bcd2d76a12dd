// HTTPS_PROXY / HTTP_PROXY / NO_PROXY through a real proxy (tinyproxy): registry requests go through it
// (a CONNECT tunnel for a TLS registry, an absolute-URL request for a plain one) and git fetches too (git's
// libcurl reads the variables gitward passes through); a host listed in NO_PROXY is reached directly. The
// proxy's own log says which requests it carried.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "../../src/images/client.js";
import { git } from "../../src/source/git.js";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { TestRepo } from "../support/git-repo.js";
import { startGitHttpServer, type GitHttpServer } from "../support/git-server.js";
import { startProxy, type TestProxy } from "../support/proxy.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";

let proxy: TestProxy;
let secure: TestRegistry;
let plain: TestRegistry;
let gitServer: GitHttpServer;
let dir: string;
let head: string;
const saved = { ...process.env };

beforeAll(async () => {
  dir = await makeTempDir("proxy-test");
  [proxy, secure, plain] = await Promise.all([startProxy(), startRegistry({ tls: true }), startRegistry()]);
  const repo = await TestRepo.create(path.join(dir, "served", "config"));
  head = await repo.commitFiles({ "a.yaml": "kind: ConfigMap\n" });
  gitServer = await startGitHttpServer({ root: path.join(dir, "served") });
  // Read once by the registry transport, on its first request: set before any.
  process.env["HTTPS_PROXY"] = proxy.url;
  process.env["HTTP_PROXY"] = proxy.url;
  process.env["NO_PROXY"] = "localhost";
}, 60_000);

afterAll(async () => {
  for (const k of ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "http_proxy", "no_proxy"]) {
    if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = saved[k];
  }
  await Promise.all([proxy.stop(), secure.stop(), plain.stop(), gitServer.stop()]);
  await removeDir(dir);
});

describe("registries behind a proxy", () => {
  it("a TLS registry is reached through a CONNECT tunnel; the CA still verifies the registry itself", async () => {
    const digest = await pushTestImage(secure, "team/app", "v1", "through the proxy");
    const client = new RegistryClient({ hosts: [{ host: secure.host, ca: secure.ca! }] });
    const m = await client.getManifest({ registry: secure.host, repository: "team/app" }, "v1");
    expect(m.digest).toBe(digest);
    expect(await proxy.requests()).toContain(`CONNECT ${secure.host}`);
  });

  it("a plain registry goes through the proxy, and the same registry as a NO_PROXY host does not", async () => {
    const digest = await pushTestImage(plain, "team/app", "v1", "plain");
    const port = plain.host.split(":")[1]!;
    const client = new RegistryClient({ plainHTTP: true });
    const via = await client.getManifest({ registry: plain.host, repository: "team/app" }, "v1");
    expect(via.digest).toBe(digest);
    const seen = await proxy.requests();
    expect(seen).toContain(`GET http://${plain.host}/v2/team/app/manifests/v1`);

    const direct = await client.getManifest({ registry: `localhost:${port}`, repository: "team/app" }, "v1");
    expect(direct.digest).toBe(digest);
    const after = await proxy.requests();
    expect(after.filter((r) => r.includes(`localhost:${port}`))).toEqual([]);
  });
});

describe("git behind a proxy", () => {
  it("a fetch over http goes through the proxy named by http_proxy, and not for a no_proxy host", async () => {
    process.env["http_proxy"] = proxy.url;
    const url = gitServer.url("config");
    expect(await git(["ls-remote", url, "refs/heads/main"])).toContain(head);
    const seen = await proxy.requests();
    expect(seen.some((r) => r.startsWith(`GET ${url}/info/refs`))).toBe(true);

    const before = seen.length;
    process.env["no_proxy"] = "127.0.0.1";
    expect(await git(["ls-remote", url, "refs/heads/main"])).toContain(head);
    expect((await proxy.requests()).length).toBe(before);
  });

  it("a proxy that does not answer makes the fetch fail naming the proxy, not silently go direct", async () => {
    Reflect.deleteProperty(process.env, "no_proxy");
    process.env["http_proxy"] = "http://127.0.0.1:9";
    await expect(git(["ls-remote", gitServer.url("config")], { timeoutMs: 20_000 })).rejects.toThrow(
      /Failed to connect to 127\.0\.0\.1 port 9/,
    );
  });
});
