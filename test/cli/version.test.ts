// `gitward version` / `--version` through the built CLI (build info from package.json and git in a
// checkout, from build-info.json in the image), the operator's version read from its Deployment in the
// sandbox, the one-line usage error, and the Node ≥ 24 check run for real on the system's Node 20.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient } from "../../src/cluster/client.js";
import { nodeTooOld } from "../../src/cli/runtime-check.js";
import { operatorVersionOf } from "../../src/cli/commands/version.js";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { makeTempDir, removeDir, run } from "../support/git-exec.js";
import { cliEntry, repoRoot, runCli } from "../support/tools.js";

let sb: Sandbox;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  dir = await makeTempDir("cli-version");
  sb = await startSandbox();
  kubeconfig = path.join(dir, "kubeconfig");
  await writeFile(kubeconfig, sb.kubeconfig, { mode: 0o600 });
});

afterAll(async () => {
  await sb.stop();
  await removeDir(dir);
});

const head = async (): Promise<string> =>
  (await run("git", ["-C", repoRoot, "rev-parse", "HEAD"])).stdout.trim();

describe("gitward version", () => {
  it("--version prints the version, commit and Node in one line", async () => {
    const r = await runCli(["--version"]);
    expect(r.code, r.stderr).toBe(0);
    const commit = (await head()).slice(0, 12);
    expect(r.stdout).toMatch(
      new RegExp(
        `^0\\.1\\.0 \\(commit ${commit}(\\+dirty)?, not a release build, node ${process.version}\\)\\n$`,
      ),
    );
  });

  it("version -o json gives client build info and, without --kubeconfig, no operator", async () => {
    const r = await runCli(["version", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { client: Record<string, unknown>; operator?: unknown };
    expect(out.client).toMatchObject({ version: "0.1.0", commit: await head(), node: process.version });
    expect(out.operator).toBeUndefined();
  });

  it("with --kubeconfig: 'not installed' without the Deployment, its annotation or image tag with it", async () => {
    const before = await runCli(["version", "--kubeconfig", kubeconfig]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain("operator: not installed (no deployment gitward-system/gitward)");

    const admin = ClusterClient.fromText(sb.kubeconfig);
    try {
      await admin.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gitward-system" } });
      const image = "127.0.0.1:5000/gitward/gitward:0.2.0";
      await admin.apply({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "gitward", namespace: "gitward-system" },
        spec: {
          selector: { matchLabels: { app: "gitward" } },
          template: {
            metadata: { labels: { app: "gitward" } },
            spec: { containers: [{ name: "gitward", image }] },
          },
        },
      });
      const r = await runCli(["version", "--kubeconfig", kubeconfig, "-o", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { operator: unknown }).operator).toEqual({
        namespace: "gitward-system",
        deployment: "gitward",
        version: "0.2.0",
        image,
      });
    } finally {
      admin.close();
    }
  });

  it("reads the operator's version from the annotation first, else the image's tag or digest", () => {
    const dep = (image: string, annotations?: Record<string, string>) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "gitward", ...(annotations === undefined ? {} : { annotations }) },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "sidecar", image: "x:9" },
              { name: "gitward", image },
            ],
          },
        },
      },
    });
    const digest = `sha256:${"a".repeat(64)}`;
    expect(operatorVersionOf(dep(`reg:5000/g@${digest}`), "ns", "gitward").version).toBe(digest);
    expect(operatorVersionOf(dep("reg:5000/g"), "ns", "gitward").version).toBeUndefined();
    expect(
      operatorVersionOf(dep(`reg/g@${digest}`, { "gitward.dev/version": "0.3.1" }), "ns", "gitward").version,
    ).toBe("0.3.1");
  });
});

describe("usage errors", () => {
  it("are one line plus a pointer to the command's --help, exit 2, no help text", async () => {
    const r = await runCli(["images", "verify", "--trust", "t.yaml", "--no-such-flag", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "gitward: error: unknown option '--no-such-flag'\nRun 'gitward images verify --help' for usage.\n",
    );
    expect(r.stdout).toBe("");
  });
});

describe("the Node.js version check", () => {
  it("accepts 24 and newer and refuses older versions with one line", () => {
    expect(nodeTooOld("v24.0.0")).toBeUndefined();
    expect(nodeTooOld("v25.1.0")).toBeUndefined();
    expect(nodeTooOld("v20.19.2")).toMatch(
      /^gitward: needs Node\.js 24 or newer, but runs on Node\.js v20\.19\.2 /,
    );
    expect(nodeTooOld("v4.0.0")).toBeDefined();
  });

  // The system Node here is 20: the real refusal, instead of "privateKey.toCryptoKey is not a function".
  it.runIf(existsSync("/usr/bin/node"))(
    "on the system's older Node, secrets keygen exits 2 with that line",
    () => {
      const version = spawnSync("/usr/bin/node", ["--version"], { encoding: "utf8" }).stdout.trim();
      expect(Number(/^v(\d+)/.exec(version)?.[1])).toBeLessThan(24);
      const r = spawnSync("/usr/bin/node", [cliEntry, "secrets", "keygen", "--out-dir", dir], {
        encoding: "utf8",
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`${nodeTooOld(version)?.replace(process.execPath, "/usr/bin/node")}\n`);
      expect(r.stdout).toBe("");
    },
  );
});
