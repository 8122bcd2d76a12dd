// `gitward images sign|attest|verify` end to end through the built CLI against a real registry: a cosign
// key file, the passphrase from COSIGN_PASSWORD, JSON output, exit codes 0/1/2, and no secret on output.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { makeTempDir, removeDir } from "../support/git-exec.js";
import { makeOpensslKey, writeCosignKeyFile, type OpensslKey } from "../support/oci-cosign.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { cliEntry } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

const PASSPHRASE = "very-secret-passphrase";
let registry: TestRegistry;
let dir: string;
let key: OpensslKey;
let keyFile: string;
let trust: string;

function gitward(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliEntry, ...args],
      { env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  dir = await makeTempDir("cli-images");
  [registry, key] = await Promise.all([startRegistry(), makeOpensslKey(dir)]);
  keyFile = path.join(dir, "cosign.key");
  await writeCosignKeyFile(key, PASSPHRASE, keyFile);
  trust = path.join(dir, "trust.yaml");
  await writeFile(
    trust,
    trustPolicyYaml([
      "  images:",
      `    registries: ['${registry.host}/team/']`,
      "    signers:",
      "      - name: ci",
      "        cosign: |",
      ...key.publicKeyPem
        .trim()
        .split("\n")
        .map((l) => `          ${l}`),
      "    attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', condition: \"predicate.builder == 'ci'\" }]",
    ]),
  );
});

afterAll(async () => {
  await registry.stop();
  await removeDir(dir);
});

describe("gitward images", () => {
  it("signs and attests with a cosign key file, then verifies (exit 0); unsigned images exit 1", async () => {
    const signedRef = `${registry.host}/team/cli:v1`;
    const digest = await pushTestImage(registry, "team/cli", "v1", "cli signed");
    await pushTestImage(registry, "team/unsigned", "v1", "cli unsigned");
    const env = { COSIGN_PASSWORD: PASSPHRASE };
    const sign = await gitward(
      ["images", "sign", signedRef, "--key", keyFile, "--plain-http", "-o", "json"],
      env,
    );
    expect(sign.stderr).toBe("");
    expect(sign.code).toBe(0);
    expect(JSON.parse(sign.stdout)).toMatchObject({ digest, format: "bundle" });
    const predicate = path.join(dir, "provenance.json");
    await writeFile(predicate, JSON.stringify({ builder: "ci" }));
    const attest = await gitward(
      [
        "images",
        "attest",
        signedRef,
        "--key",
        keyFile,
        "--predicate",
        predicate,
        "--type",
        "https://slsa.dev/provenance/v1",
        "--format",
        "legacy",
        "--plain-http",
      ],
      env,
    );
    expect(attest.code).toBe(0);

    const ok = await gitward(["images", "verify", signedRef, "--trust", trust, "--plain-http", "-o", "json"]);
    expect(ok.code).toBe(0);
    const body = JSON.parse(ok.stdout) as {
      ok: boolean;
      results: { digest: string; signers: string[] }[];
      resolved: Record<string, string>;
    };
    expect(body.ok).toBe(true);
    expect(body.results[0]).toMatchObject({ digest, signers: ["ci"] });
    expect(body.resolved).toEqual({ [signedRef]: digest });

    const recorded = path.join(dir, "recorded.json");
    await writeFile(recorded, JSON.stringify({ [signedRef]: `sha256:${"0".repeat(64)}` }));
    const moved = await gitward([
      "images",
      "verify",
      signedRef,
      "--trust",
      trust,
      "--plain-http",
      "--recorded",
      recorded,
    ]);
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain("TAG_MOVED");

    const bad = await gitward([
      "images",
      "verify",
      signedRef,
      `${registry.host}/team/unsigned:v1`,
      "--trust",
      trust,
      "--plain-http",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL .*team\/unsigned:v1 sha256:[0-9a-f]{64} UNSIGNED/);
    expect(bad.stdout).toMatch(/ok {3}.*team\/cli:v1/);
  });

  it("refuses a wrong passphrase and a missing policy with exit 2 (an unlisted registry: exit 1), without echoing secrets", async () => {
    const wrong = await gitward(
      ["images", "sign", `${registry.host}/team/cli:v1`, "--key", keyFile, "--plain-http"],
      {
        COSIGN_PASSWORD: "not-it",
      },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
    expect(wrong.stderr + wrong.stdout).not.toContain("not-it");
    const remote = await gitward([
      "images",
      "verify",
      "registry.example.com/team/x:v1",
      "--trust",
      trust,
      "--plain-http",
      "-o",
      "json",
    ]);
    expect(remote.code).toBe(1);
    expect((JSON.parse(remote.stdout) as { results: { code: string }[] }).results[0]?.code).toBe(
      "REGISTRY_NOT_ALLOWED",
    );
    expect((await gitward(["images", "verify", "x", "--trust", path.join(dir, "none.yaml")])).code).toBe(2);
    expect((await gitward(["images", "sign", "x"])).code).toBe(2);
    const help = await gitward(["images", "verify", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--trust");
  });
});
