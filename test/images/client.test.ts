// The OCI client against real registries: TLS with a custom CA and htpasswd basic auth, bearer tokens
// through the WWW-Authenticate challenge, plain HTTP only for loopback, bounded and digest-checked answers,
// and hostile registries (junk answers, manifests that do not match their digest).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { parseDockerConfig } from "../../src/images/auth.js";
import { RegistryClient } from "../../src/images/client.js";
import { RegistryErrorCode } from "../../src/images/errors.js";
import { ImageCode } from "../../src/trust/image/codes.js";
import { verifyImages } from "../../src/trust/image/verify.js";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import {
  startGarbageRegistry,
  startRedirectingProxy,
  startTamperingProxy,
  type HostileRegistry,
  rejection,
} from "../support/oci-hostile.js";
import { startTokenService, type TokenService } from "../support/oci-token.js";
import { makeOpensslKey, signLegacyWithOpenssl, type OpensslKey } from "../support/oci-cosign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";

const user = { username: "ci-bot", password: "s3cret-Pass" };
let dir: string;
let plain: TestRegistry;
let secure: TestRegistry;
let tokenRegistry: TestRegistry;
let tokens: TokenService;
let garbage: HostileRegistry;
let tamper: HostileRegistry;
let key: OpensslKey;

beforeAll(async () => {
  dir = await makeTempDir("oci-client");
  tokens = await startTokenService(dir, user.username, user.password);
  [plain, secure, tokenRegistry, garbage, key] = await Promise.all([
    startRegistry(),
    startRegistry({ basicAuth: user }),
    startRegistry({ token: tokens, basicAuth: user }),
    startGarbageRegistry(),
    makeOpensslKey(dir),
  ]);
  tamper = await startTamperingProxy(plain.host);
});

afterAll(async () => {
  await Promise.all([
    plain.stop(),
    secure.stop(),
    tokenRegistry.stop(),
    garbage.stop(),
    tamper.stop(),
    tokens.stop(),
  ]);
  await removeDir(dir);
});

describe("TLS with a custom CA and basic auth (htpasswd)", () => {
  it("reads a manifest with the CA and the docker config's credentials", async () => {
    const digest = await pushTestImage(secure, "team/tls", "v1", "over tls");
    const parsed = parseDockerConfig(await readFile(secure.authFile!, "utf8"));
    if (!parsed.ok) throw new Error(parsed.reason);
    const client = new RegistryClient({
      hosts: [{ host: secure.host, ca: secure.ca! }],
      credentials: parsed.store,
    });
    const m = await client.getManifest({ registry: secure.host, repository: "team/tls" }, "v1");
    expect(m.digest).toBe(digest);
    expect(m.manifest.kind).toBe("manifest");
  });

  it("refuses without credentials (UNAUTHORIZED) and without the CA (UNREACHABLE)", async () => {
    const repo = { registry: secure.host, repository: "team/tls" };
    const noCreds = new RegistryClient({ hosts: [{ host: secure.host, ca: secure.ca! }] });
    expect((await rejection(noCreds.getManifest(repo, "v1"))).code).toBe(RegistryErrorCode.UNAUTHORIZED);
    const wrong = new RegistryClient({
      hosts: [{ host: secure.host, ca: secure.ca! }],
      credentials: new Map([[secure.host, { username: user.username, password: "wrong" }]]),
    });
    const err = await rejection(wrong.getManifest(repo, "v1"));
    expect(err.code).toBe(RegistryErrorCode.UNAUTHORIZED);
    expect(err.message).not.toContain("wrong");
    const noCa = new RegistryClient({ credentials: new Map([[secure.host, user]]) });
    expect((await rejection(noCa.getManifest(repo, "v1"))).code).toBe(RegistryErrorCode.UNREACHABLE);
  });
});

describe("bearer tokens via WWW-Authenticate", () => {
  it("gets a token for the repository's pull scope and reads the manifest", async () => {
    const digest = await pushTestImage(tokenRegistry, "team/bearer", "v1", "behind a token service");
    const client = new RegistryClient({
      plainHTTP: true,
      credentials: new Map([[tokenRegistry.host, user]]),
    });
    const m = await client.getManifest({ registry: tokenRegistry.host, repository: "team/bearer" }, "v1");
    expect(m.digest).toBe(digest);
    expect(tokens.scopes.at(-1)).toBe("repository:team/bearer:pull");
  });

  it("refuses when the token service refuses the credentials", async () => {
    const client = new RegistryClient({
      plainHTTP: true,
      credentials: new Map([[tokenRegistry.host, { username: user.username, password: "nope" }]]),
    });
    const err = await rejection(
      client.getManifest({ registry: tokenRegistry.host, repository: "team/bearer" }, "v1"),
    );
    expect(err.code).toBe(RegistryErrorCode.UNAUTHORIZED);
  });
});

describe("plain HTTP and bounds", () => {
  it("uses plain HTTP only for loopback hosts, and only when asked", async () => {
    const off = new RegistryClient();
    // Without plainHTTP the client speaks TLS, which a plain registry cannot answer.
    expect((await rejection(off.getManifest({ registry: plain.host, repository: "x/y" }, "v1"))).code).toBe(
      RegistryErrorCode.UNREACHABLE,
    );
    const on = new RegistryClient({ plainHTTP: true });
    expect(
      (await rejection(on.getManifest({ registry: "registry.example.com", repository: "x/y" }, "v1"))).code,
    ).toBe(RegistryErrorCode.INSECURE_REFUSED);
    const perHost = new RegistryClient({ hosts: [{ host: "10.0.0.1:5000", plainHTTP: true }] });
    expect(
      (await rejection(perHost.getManifest({ registry: "10.0.0.1:5000", repository: "x/y" }, "v1"))).code,
    ).toBe(RegistryErrorCode.INSECURE_REFUSED);
  });

  it("refuses a manifest larger than the bound", async () => {
    await pushTestImage(plain, "team/big", "v1", "x");
    const client = new RegistryClient({ plainHTTP: true, limits: { manifestBytes: 100 } });
    expect(
      (await rejection(client.getManifest({ registry: plain.host, repository: "team/big" }, "v1"))).code,
    ).toBe(RegistryErrorCode.TOO_LARGE);
  });

  it("checks a blob against its digest and lists tags", async () => {
    const digest = await pushTestImage(plain, "team/blob", "v1", "blob content");
    const client = new RegistryClient({ plainHTTP: true });
    const repo = { registry: plain.host, repository: "team/blob" };
    const m = await client.getManifest(repo, digest);
    if (m.manifest.kind !== "manifest") throw new Error("expected a manifest");
    const config = await client.getBlob(repo, m.manifest.config.digest);
    expect(JSON.parse(config.toString())).toHaveProperty("rootfs");
    expect(await client.listTags(repo)).toEqual(["v1"]);
    expect(await client.referrers(repo, digest)).toEqual([]);
  });
});

describe("blob redirects", () => {
  it("follows a redirect to storage elsewhere, and refuses one to plain HTTP off loopback", async () => {
    const digest = await pushTestImage(plain, "team/redirect", "v1", "redirected");
    const client = new RegistryClient({ plainHTTP: true });
    const toUpstream = await startRedirectingProxy(plain.host, (p) => `http://${plain.host}${p}`);
    const toRemote = await startRedirectingProxy(plain.host, (p) => `http://storage.example.com${p}`);
    try {
      const repo = { registry: toUpstream.host, repository: "team/redirect" };
      const m = await client.getManifest(repo, digest);
      if (m.manifest.kind !== "manifest") throw new Error("expected a manifest");
      const config = await client.getBlob(repo, m.manifest.config.digest);
      expect(JSON.parse(config.toString())).toHaveProperty("rootfs");
      const remote = { registry: toRemote.host, repository: "team/redirect" };
      expect((await rejection(client.getBlob(remote, m.manifest.config.digest))).code).toBe(
        RegistryErrorCode.INSECURE_REFUSED,
      );
    } finally {
      await Promise.all([toUpstream.stop(), toRemote.stop()]);
    }
  });
});

describe("hostile registries", () => {
  it("refuses a manifest whose bytes do not match its digest (MANIFEST_DIGEST_MISMATCH)", async () => {
    const digest = await pushTestImage(plain, "team/tampered", "v1", "original");
    await signLegacyWithOpenssl(plain, "team/tampered", digest, [key]);
    const client = new RegistryClient({ plainHTTP: true });
    const policy = {
      registries: [tamper.host, plain.host],
      signers: [{ name: "ci", cosign: key.publicKeyPem }],
    };
    // Straight from the registry it verifies; through the tampering proxy, by digest and by tag, it does not.
    const direct = await verifyImages({ images: [`${plain.host}/team/tampered:v1`], policy, client });
    expect(direct.ok).toBe(true);
    const out = await verifyImages({
      images: [`${tamper.host}/team/tampered@${digest}`, `${tamper.host}/team/tampered:v1`],
      policy,
      client,
    });
    expect(out.results.map((r) => r.code)).toEqual([
      ImageCode.MANIFEST_DIGEST_MISMATCH,
      ImageCode.MANIFEST_DIGEST_MISMATCH,
    ]);
  });

  it("refuses a registry answering garbage with REGISTRY_ERROR, and keeps going", async () => {
    const client = new RegistryClient({ plainHTTP: true });
    const out = await verifyImages({
      images: [`${garbage.host}/team/app:v1`],
      policy: { registries: [garbage.host], signers: [{ name: "ci", cosign: key.publicKeyPem }] },
      client,
    });
    expect(out.ok).toBe(false);
    expect(out.results[0]?.code).toBe(ImageCode.REGISTRY_ERROR);
  });
});

describe("docker config credentials", () => {
  it("reads auth, username/password and identity tokens, and refuses malformed files without echoing them", () => {
    const text = JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw1").toString("base64") },
        "registry.example.com": { username: "u", password: "p" },
        "ghcr.io": { identitytoken: "tok" },
      },
    });
    const parsed = parseDockerConfig(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.store.get("docker.io")).toEqual({ username: "hub", password: "pw1" });
    expect(parsed.store.get("registry.example.com")).toEqual({ username: "u", password: "p" });
    expect(parsed.store.get("ghcr.io")).toEqual({ username: "<token>", password: "tok" });
    const bad = parseDockerConfig('{"auths": {"x": {"auth": "c2VjcmV0"}}}');
    expect(bad.ok).toBe(false);
    expect(bad.ok ? "" : bad.reason).not.toContain("secret");
    expect(parseDockerConfig("secret-password{").ok).toBe(false);
  });
});
