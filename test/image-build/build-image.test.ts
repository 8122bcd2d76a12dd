// The image build (scripts/image/) through the same code path as `npm run image:build`, on a small staged
// app so it stays fast: two builds give the same digest (and another SOURCE_DATE_EPOCH another one), the
// config as a real tool (skopeo) reads it has the non-root user and the entrypoint, and the image pushed
// to a real registry, signed and attested, passes `gitward images verify` with an images-only policy.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, ENTRYPOINT, type BuildOptions } from "../../scripts/image/build.js";
import { pushImage, PROVENANCE_PREDICATE, SBOM_PREDICATE } from "../../scripts/image/push.js";
import { cycloneDx, slsaProvenance } from "../../scripts/image/sbom.js";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { makeOpensslKey, writeCosignKeyFile } from "../support/oci-cosign.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { cliEntry, runCli } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

const exec = promisify(execFile);
const PASSPHRASE = "image-build-passphrase";
let dir: string;
let registry: TestRegistry;

async function stagedApp(): Promise<string> {
  const app = path.join(dir, "app");
  await mkdir(path.join(app, "dist", "src", "cli"), { recursive: true });
  await mkdir(path.join(app, "node_modules", "dep"), { recursive: true });
  await writeFile(path.join(app, "package.json"), '{"name":"gitward","version":"0.1.0","type":"module"}\n');
  await writeFile(path.join(app, "dist", "src", "cli", "main.js"), 'console.log("gitward");\n');
  await writeFile(path.join(app, "node_modules", "dep", "index.js"), "export {};\n");
  await writeFile(path.join(app, "build-info.json"), '{"version":"0.1.0","commit":"abc"}\n');
  return app;
}

const options = (app: string, out: string, epoch = 1_700_000_000): BuildOptions => ({
  out,
  tag: "test",
  epoch,
  app,
  binaries: [],
  labels: { "org.opencontainers.image.title": "gitward" },
});

beforeAll(async () => {
  dir = await makeTempDir("image-build");
  registry = await startRegistry();
});

afterAll(async () => {
  await registry.stop();
  await removeDir(dir);
});

describe("the image build", () => {
  it("is reproducible: same inputs, same digest; another SOURCE_DATE_EPOCH, another digest", async () => {
    const app = await stagedApp();
    const a = await buildImage(options(app, path.join(dir, "a")));
    const b = await buildImage(options(app, path.join(dir, "b")));
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b).toEqual(a);
    const c = await buildImage(options(app, path.join(dir, "c"), 1_700_000_001));
    expect(c.digest).not.toBe(a.digest);
    expect(a.layers.map((l) => l.name)).toEqual(["runtime", "dependencies", "app"]);
  });

  it("pushes, signs and attests; images verify accepts it with a TrustPolicy that has only images", async () => {
    const app = await stagedApp();
    const built = path.join(dir, "built");
    const result = await buildImage(options(app, path.join(built, "layout")));
    await writeFile(path.join(built, "build.json"), JSON.stringify({ tag: "test", digest: result.digest }));
    const date = new Date(1_700_000_000_000);
    const node = { version: "24.0.0", sha256: "0".repeat(64) };
    await writeFile(
      path.join(built, "sbom.cdx.json"),
      cycloneDx({
        image: { name: "gitward", version: "0.1.0" },
        date,
        npm: [{ name: "dep", version: "1.0.0" }],
        node,
        debian: [],
      }),
    );
    const provenance = slsaProvenance({
      source: { uri: "https://example.com/gitward.git", commit: "abc", dirty: false },
      sourceDateEpoch: 1_700_000_000,
      tag: "test",
      lockfileSha256: "1".repeat(64),
      node,
    });
    await writeFile(path.join(built, "provenance.json"), JSON.stringify(provenance));

    // A real tool reads what was built: the config has the non-root user and the entrypoint.
    const cfg = JSON.parse(
      (await exec("skopeo", ["inspect", "--config", `oci:${path.join(built, "layout")}:test`])).stdout,
    ) as { config: { User: string; Entrypoint: string[] }; history: Record<string, unknown>[] };
    expect(cfg.config.User).toBe("65532:65532");
    expect(cfg.config.Entrypoint).toEqual([...ENTRYPOINT]);
    expect(cfg.history.every((h) => h["created"] === undefined)).toBe(true);

    const key = await makeOpensslKey(dir);
    const keyFile = path.join(dir, "cosign.key");
    await writeCosignKeyFile(key, PASSPHRASE, keyFile);
    const ref = `${registry.host}/team/gitward:test`;
    const env = { ...process.env, COSIGN_PASSWORD: PASSPHRASE };
    const pushed = await pushImage({ built, ref, key: keyFile, cli: cliEntry, plainHttp: true, env });
    expect(pushed.digest).toBe(result.digest);

    const trust = path.join(dir, "trust.yaml");
    const policy = (attestations: string[]) =>
      trustPolicyYaml([
        "  images:",
        `    registries: ['${registry.host}/team/']`,
        "    signers:",
        "      - name: release",
        "        cosign: |",
        ...key.publicKeyPem
          .trim()
          .split("\n")
          .map((l) => `          ${l}`),
        `    attestations: [${attestations.map((t) => `{ predicateType: '${t}' }`).join(", ")}]`,
      ]).replace(/\n {2}commits:[\s\S]*?(?=\n {2}images:)/, "");
    await writeFile(trust, policy([SBOM_PREDICATE, PROVENANCE_PREDICATE]));
    const ok = await runCli(["images", "verify", "--plain-http", "--trust", trust, pushed.image], {
      env: env,
    });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);

    // The same policy refuses what it must: an attestation type nobody attached.
    await writeFile(trust, policy(["https://example.com/not-attached/v1"]));
    const refused = await runCli(["images", "verify", "--plain-http", "--trust", trust, pushed.image], {
      env: env,
    });
    expect(refused.code).toBe(1);
  });
});
