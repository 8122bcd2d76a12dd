// Render limits and silent changes of content (issue 20): documents counted as the YAML parser counts them,
// FIFOs refused without blocking, file counts and sizes capped before reading, and YAML or bytes whose
// meaning would change on the way to JSON refused with file:line. Each rule also shows what it accepts.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, mkdir, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanSecrets } from "../../src/policy/packs/secrets.js";
import { render, type RenderOptions } from "../../src/render/render.js";
import { RENDER_LIMITS, type RenderResult } from "../../src/render/types.js";
import { toolPath } from "../support/tools.js";

let repo: string;
const tools = { kubectl: toolPath("kubectl"), helm: toolPath("helm") };

async function put(rel: string, content: string | Buffer): Promise<void> {
  const p = path.join(repo, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, content);
}

async function fifo(rel: string): Promise<void> {
  await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
  execFileSync("mkfifo", [path.join(repo, rel)]);
}

function run(o: Partial<RenderOptions> & { path: string }): Promise<RenderResult> {
  return render({ repoRoot: repo, type: "directory", tools, ...o });
}

function errorsOf(r: RenderResult): { code: string; message: string }[] {
  return r.ok ? [] : r.errors.map((e) => ({ code: e.code, message: e.message }));
}

/** Exactly one error, of `code`, whose message is `message` or matches it. */
function expectRefused(r: RenderResult, code: string, message: string | RegExp): void {
  const errors = errorsOf(r);
  expect(errors.map((e) => e.code)).toEqual([code]);
  if (typeof message === "string") expect(errors[0]?.message).toBe(message);
  else expect(errors[0]?.message).toMatch(message);
}

const cm = (name: string, data = "  a: b\n"): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${data}`;

beforeAll(async () => {
  repo = await mkdtemp(path.join(os.tmpdir(), "gitward-render-limits-"));
});

afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe("documents are counted as the parser counts them", () => {
  it("documents ended by `...` count: 400,000 of them are refused at the limit, quickly", async () => {
    await put("dots/many.yaml", "a\n...\n".repeat(400_000));
    const t0 = performance.now();
    const r = await run({ path: "dots" });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(errorsOf(r)).toEqual([
      {
        code: "TOO_MANY_DOCUMENTS",
        message: `dots/many.yaml: more than ${RENDER_LIMITS.maxDocumentsPerFile} YAML documents; split the file`,
      },
    ]);
  });

  it("documents ended by `...` within the limit render, each with its line", async () => {
    await put("dots-ok/a.yaml", `${cm("one")}...\n${cm("two")}...\n`);
    const r = await run({ path: "dots-ok" });
    expect(r.ok && r.manifests.map((m) => `${m.name}:${m.origin.line}`)).toEqual(["one:1", "two:8"]);
  });
});

describe("only regular files are read", () => {
  const notRegular = (r: RenderResult, rel: string): void => {
    expectRefused(r, "NOT_REGULAR_FILE", new RegExp(`^${rel.replace(/\./g, "\\.")} is not a regular file`));
  };

  it("a FIFO named as a kustomize resource is refused at once, naming it", async () => {
    await put("kfifo/kustomization.yaml", "resources:\n  - pipe.yaml\n");
    await fifo("kfifo/pipe.yaml");
    const r = await run({ path: "kfifo", type: "kustomize" });
    notRegular(r, "kfifo/pipe.yaml");
  });

  it("a FIFO as a helm values file is refused at once, naming it", async () => {
    await put("chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n");
    await put("chart/templates/cm.yaml", cm("{{ .Values.name }}"));
    await fifo("values-pipe.yaml");
    const r = await run({ path: "chart", type: "helm", valuesFiles: ["values-pipe.yaml"] });
    notRegular(r, "values-pipe.yaml");
  });

  it("a FIFO inside a helm chart is refused before helm could block on it", async () => {
    await put("chart2/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n");
    await fifo("chart2/templates/pipe.yaml");
    notRegular(await run({ path: "chart2", type: "helm" }), "chart2/templates/pipe.yaml");
  });

  it("a FIFO as the secrets allowlist does not block the scan; the secret next to it is still found", async () => {
    const dir = path.join(repo, "scan");
    await mkdir(path.join(dir, ".gitward"), { recursive: true });
    execFileSync("mkfifo", [path.join(dir, ".gitward/secrets-allowlist")]);
    await writeFile(
      path.join(dir, "app.env"),
      `AWS_KEY=${["AKIA", "Z7Q3", "XK2M", "PL9B", "W4TD"].join("")}\n`,
    );
    const findings = await scanSecrets(await realpath(dir));
    expect(findings.map((f) => f.origin.file)).toContain("app.env");
  });

  it("a FIFO among a folder's manifests is refused; a regular file there renders", async () => {
    await put("dfifo/a.yaml", cm("a"));
    await fifo("dfifo/b.yaml");
    notRegular(await run({ path: "dfifo" }), "dfifo/b.yaml");
    await rm(path.join(repo, "dfifo/b.yaml"));
    const r = await run({ path: "dfifo" });
    expect(r.ok && r.manifests.map((m) => m.name)).toEqual(["a"]);
  });
});

describe("files are counted before any is read", () => {
  it("more files than the cap are refused; as many as the cap render", async () => {
    for (let i = 0; i < 6; i++) await put(`few/f${i}.yaml`, cm(`c${i}`));
    const limits = { maxFiles: 5 };
    expect(errorsOf(await run({ path: "few", limits }))).toEqual([
      { code: "TOO_MANY_FILES", message: "few holds more than 5 files to render; split the application" },
    ]);
    await rm(path.join(repo, "few/f5.yaml"));
    const r = await run({ path: "few", limits });
    expect(r.ok && r.manifests.length).toBe(5);
  });

  it("more bytes in all files than the cap are refused before reading", async () => {
    await put("bytes/a.yaml", cm("a"));
    await put("bytes/b.yaml", cm("b"));
    const size = Buffer.byteLength(cm("a")) + Buffer.byteLength(cm("b"));
    expect(errorsOf(await run({ path: "bytes", limits: { maxTotalBytes: size - 1 } }))).toEqual([
      {
        code: "TOO_MANY_FILES",
        message: `bytes holds more than ${size - 1} bytes in the files to render; split the application`,
      },
    ]);
    expect((await run({ path: "bytes", limits: { maxTotalBytes: size } })).ok).toBe(true);
  });

  it("the default cap refuses a folder of more than 10,000 files", async () => {
    // Creating 10,001 files on a busy disk takes tens of seconds; in memory (tmpfs) well under one.
    const flood = await mkdtemp(
      path.join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "gitward-flood-"),
    );
    try {
      const dir = path.join(flood, "apps");
      await mkdir(dir);
      // Empty files: the refusal must come from counting them, not from reading them.
      const names = Array.from({ length: RENDER_LIMITS.maxFiles + 1 }, (_, i) => path.join(dir, `${i}.yaml`));
      for (const n of names) writeFileSync(n, ""); // sync: 10,001 awaited writes take seconds here
      const t0 = performance.now();
      const r = await render({ repoRoot: flood, path: "apps", type: "directory" });
      expect(performance.now() - t0).toBeLessThan(3_000);
      expect(errorsOf(r)).toEqual([
        {
          code: "TOO_MANY_FILES",
          message: `apps holds more than ${RENDER_LIMITS.maxFiles} files to render; split the application`,
        },
      ]);
    } finally {
      await rm(flood, { recursive: true, force: true });
    }
  });
});

describe("content that would change silently on the way to JSON is refused", () => {
  const refused = async (rel: string, content: string | Buffer): Promise<RenderResult> => {
    await put(rel, content);
    return run({ path: path.dirname(rel) });
  };

  it('keys that become one JSON key are duplicates: 1 and "1", true and "true", null and ""', async () => {
    for (const [dir, a, b] of [
      ["dup-int", "1", '"1"'],
      ["dup-bool", "true", '"true"'],
      ["dup-null", "null", '""'],
      ["dup-hex", "0x1", "1"],
    ] as const) {
      const r = await refused(`${dir}/a.yaml`, cm("x", `  ${a}: one\n  ${b}: two\n`));
      expectRefused(r, "DUPLICATE_KEY", new RegExp(`^${dir}/a\\.yaml:7: duplicate key`));
    }
  });

  it('keys that stay apart in JSON are accepted: "1" and "01", null and "null"', async () => {
    await put("keys-ok/a.yaml", cm("x", '  "1": one\n  "01": two\n  null: three\n  "null": four\n'));
    const r = await run({ path: "keys-ok" });
    expect(r.ok && r.manifests[0]?.object["data"]).toEqual({
      "1": "one",
      "01": "two",
      "": "three",
      null: "four",
    });
  });

  it("bytes that are not UTF-8 are refused naming the line; real UTF-8, U+FFFD included, renders", async () => {
    const bad = Buffer.concat([Buffer.from(cm("x", "  a: ok\n  b: ")), Buffer.from([0xff, 0xfe, 0x0a])]);
    expectRefused(
      await refused("latin/a.yaml", bad),
      "BAD_ENCODING",
      "latin/a.yaml:7: the file is not valid UTF-8; save it as UTF-8",
    );
    await put("utf8/a.yaml", cm("x", "  a: café \uFFFD 日本\n"));
    const r = await run({ path: "utf8" });
    expect(r.ok && r.manifests[0]?.object["data"]).toEqual({ a: "café \uFFFD 日本" });
  });

  it("%YAML 1.1 and the collection tags !!omap, !!pairs and !!set are refused with their line", async () => {
    const pod = (sc: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    securityContext: ${sc}\n`;
    expectRefused(
      await refused("v11/a.yaml", `%YAML 1.1\n---\n${pod("!!omap\n    - privileged: true")}`),
      "UNSUPPORTED_YAML",
      /^v11\/a\.yaml:2: the %YAML 1\.1 directive/,
    );
    for (const tag of ["omap", "pairs"]) {
      expectRefused(
        await refused(`${tag}/a.yaml`, pod(`!!${tag}\n    - privileged: true`)),
        "UNSUPPORTED_YAML",
        new RegExp(`^${tag}/a\\.yaml:9: the YAML 1\\.1 tag !!${tag}`),
      );
    }
    expectRefused(
      await refused("set/a.yaml", pod("!!set\n      ? privileged")),
      "UNSUPPORTED_YAML",
      /^set\/a\.yaml:9: the YAML 1\.1 tag !!set/,
    );
    await put("plain/a.yaml", `%YAML 1.2\n---\n${pod("\n      privileged: false")}`);
    const r = await run({ path: "plain" });
    expect(r.ok && r.manifests[0]?.object["spec"]).toEqual({
      containers: [{ name: "c", securityContext: { privileged: false } }],
    });
  });

  it("a mapping or list used as a key (an unrendered template) is refused with its line, silently", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.message);
    };
    process.on("warning", onWarning);
    try {
      expectRefused(
        await refused("ckey/a.yaml", cm("x", '  {{ template "x" . }}: one\n')),
        "UNSUPPORTED_YAML",
        /^ckey\/a\.yaml:6: a mapping key is itself a mapping or list/,
      );
      expectRefused(
        await refused("ckey2/a.yaml", cm("x", "  ? [a, b]\n  : one\n")),
        "UNSUPPORTED_YAML",
        /^ckey2\/a\.yaml:6: a mapping key is itself a mapping or list/,
      );
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("numbers JSON cannot hold (.nan, .inf, 1e400, integers past 2^53-1) are refused with their line; finite ones render", async () => {
    for (const [dir, n] of [
      ["nan", ".nan"],
      ["inf", "-.inf"],
      ["huge", "1e400"],
    ] as const) {
      expectRefused(
        await refused(`${dir}/a.yaml`, cm("x", `  a: b\nrunAsUser: ${n}\n`)),
        "UNSUPPORTED_YAML",
        `${dir}/a.yaml:7: the number ${n} is not finite and would become null in JSON; write a finite number`,
      );
    }
    expectRefused(
      await refused("bigint/a.yaml", cm("x", "  a: b\nrunAsUser: 9007199254740993\n")),
      "UNSUPPORTED_YAML",
      /^bigint\/a\.yaml:7: the integer 9007199254740993 is too large to keep exactly/,
    );
    await put("finite/a.yaml", cm("x", "  a: b\nrunAsUser: 1000\nratio: 1.5e3\nbig: 9007199254740991\n"));
    const r = await run({ path: "finite" });
    const o = r.ok ? r.manifests[0]?.object : undefined;
    expect([o?.["runAsUser"], o?.["ratio"], o?.["big"]]).toEqual([1000, 1500, 9007199254740991]);
  });

  it("a kustomization and a helm values file are held to the same rules before any tool runs", async () => {
    await put("kdup/kustomization.yaml", 'resources: []\n1: a\n"1": b\n');
    expectRefused(
      await run({ path: "kdup", type: "kustomize" }),
      "DUPLICATE_KEY",
      /^kdup\/kustomization\.yaml:3: duplicate key/,
    );
    await put("values-nan.yaml", "replicas: .nan\n");
    expectRefused(
      await run({ path: "chart", type: "helm", valuesFiles: ["values-nan.yaml"] }),
      "UNSUPPORTED_YAML",
      /^values-nan\.yaml:1: the number \.nan/,
    );
  });
});
