// `gitward vulndb import` and `gitward images scan --sbom` through the built CLI: exit codes as `check`
// (0 nothing at or above --fail-on, 1 findings, 2 usage/config), text, JSON and SARIF reports that carry
// the database age, and `check --trust` failing closed when images cannot be scanned.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importOsv } from "../../src/vuln/db.js";
import { FINDINGS_FIXTURE, readFixtureInventory } from "../support/real-inventory.js";
import { runCli } from "../support/tools.js";
import { trustPolicyYaml } from "../support/trust-yaml.js";

let dir: string;
let db: string;
let inv: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-vulncli-"));
  const osv = path.join(dir, "osv");
  await mkdir(osv);
  const records = JSON.parse(await readFile(path.join(FINDINGS_FIXTURE, "osv-records.json"), "utf8")) as {
    id: string;
  }[];
  for (const r of records) await writeFile(path.join(osv, `${r.id}.json`), JSON.stringify(r));
  db = path.join(dir, "vuln.db");
  await importOsv({ input: osv, db });
  inv = path.join(dir, "inventory.json");
  await writeFile(inv, JSON.stringify(readFixtureInventory(FINDINGS_FIXTURE)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each test spawns the CLI; they are independent, so they run side by side.
describe.concurrent("gitward vulndb import", () => {
  it("imports a folder and reports the counts", async () => {
    const r = await runCli(["vulndb", "import", path.join(dir, "osv"), "--db", path.join(dir, "cli.db")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported 61 advisory record\(s\) from 62 file\(s\).*1 withdrawn/su);
  });
});

describe.concurrent("gitward images scan --sbom", () => {
  it("exits 1 on findings at or above high, and says how unknown severities count", async () => {
    const r = await runCli(["images", "scan", "--sbom", inv, "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/database sha256:[0-9a-f]{12}.* imported .* h old/u);
    expect(r.stdout).toMatch(/warning: \d+ advisory\(ies\) give no severity: counted as high/u);
    expect(r.stdout).toMatch(
      /FAIL {4}CRITICAL minimist 1\.2\.5: GHSA-xvch-5gv4-984h \(CVE-2021-44906\), critical 9\.8, fixed in 1\.2\.6/u,
    );
    expect(r.stdout).toMatch(/FAILED at --fail-on high/u);
  });

  it("exits 0 when the policy ignores what is at or above its failOn, and lists the ignored finding", async () => {
    const trust = path.join(dir, "trust.yaml");
    await writeFile(
      trust,
      trustPolicyYaml([
        "  images:",
        "    registries: ['r.example/']",
        "    vulnerabilities:",
        "      failOn: critical",
        "      maxDbAge: 1h",
        "      ignore: [{ id: CVE-2021-44906, reason: build-time only, expires: '2099-12-31' }]",
      ]),
    );
    const r = await runCli(["images", "scan", "--sbom", inv, "--db", db, "--trust", trust]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ignored CRITICAL minimist .*IGNORED: build-time only \(until 2099-12-31\)/u);
    expect(r.stdout).toMatch(/PASSED at --fail-on critical/u);
  });

  it("prints JSON and SARIF with the same findings", async () => {
    const j = await runCli(["images", "scan", "--sbom", inv, "--db", db, "-o", "json"]);
    const json = JSON.parse(j.stdout) as {
      passed: boolean;
      images: { verdict: { findings: { id: string }[]; db: object } }[];
    };
    expect(json.passed).toBe(false);
    const ids = json.images[0]?.verdict.findings.map((f) => f.id) ?? [];
    expect(ids.length).toBeGreaterThan(30);
    expect(json.images[0]?.verdict.db).toHaveProperty("importedAt");
    const s = await runCli(["images", "scan", "--sbom", inv, "--db", db, "-o", "sarif"]);
    expect(s.code).toBe(1);
    const sarif = JSON.parse(s.stdout) as { version: string; runs: { results: { ruleId: string }[] }[] };
    expect(sarif.version).toBe("2.1.0");
    expect(new Set(sarif.runs[0]?.results.map((r) => r.ruleId))).toEqual(
      new Set(ids.map((id) => `vuln/${id}`)),
    );
  });

  it("reads a CycloneDX SBOM with trivy's source-package properties", async () => {
    const bom = path.join(dir, "bom.json");
    await writeFile(
      bom,
      JSON.stringify({
        bomFormat: "CycloneDX",
        specVersion: "1.6",
        metadata: { component: { name: "example/app:1", type: "container" } },
        components: [
          { type: "operating-system", name: "debian", version: "12.12" },
          {
            type: "library",
            name: "zlib1g",
            version: "1:1.2.13.dfsg-1",
            purl: "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?epoch=1&distro=debian-12.12",
            properties: [{ name: "aquasecurity:trivy:SrcName", value: "zlib" }],
          },
          { type: "library", name: "ws", version: "8.23.0", purl: "pkg:npm/ws@8.23.0" },
        ],
      }),
    );
    const r = await runCli(["images", "scan", "--sbom", bom, "--db", db, "-o", "json"]);
    const out = JSON.parse(r.stdout) as { images: { verdict: { findings: { id: string }[] } }[] };
    expect(out.images[0]?.verdict.findings.map((f) => f.id)).toEqual(["DEBIAN-CVE-2023-45853"]);
    expect(r.code).toBe(1);
  });

  it("exits 2 on usage and configuration errors", async () => {
    const [noDb, badDb] = await Promise.all([
      runCli(["images", "scan", "--sbom", inv]),
      runCli(["images", "scan", "--sbom", inv, "--db", inv]),
    ]);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/give --db FILE/u);
    expect(badDb.code).toBe(2);
    expect(badDb.stderr).toMatch(/DB_INVALID/u);
  });
});

describe("gitward check --trust with spec.images.vulnerabilities", () => {
  it("passes a revision without images and fails closed when an image cannot be scanned", async () => {
    const repo = path.join(dir, "repo");
    await mkdir(path.join(repo, "app"), { recursive: true });
    execFileSync("git", ["init", "-q", repo]);
    const trust = path.join(dir, "check-trust.yaml");
    await writeFile(
      trust,
      trustPolicyYaml([
        "  images:",
        "    registries: ['127.0.0.1:1/']",
        `    vulnerabilities: { dbPath: ${db} }`,
      ]),
    );
    await writeFile(
      path.join(repo, "app", "cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: shop }\ndata: { a: b }\n",
    );
    const ok = await runCli(["check", path.join(repo, "app"), "--trust", trust, "--namespace", "shop"]);
    expect(ok.code).toBe(0);
    await writeFile(
      path.join(repo, "app", "pod.yaml"),
      [
        "apiVersion: v1",
        "kind: Pod",
        "metadata: { name: p, namespace: shop }",
        "spec:",
        "  containers: [{ name: c, image: '127.0.0.1:1/a@sha256:" + "a".repeat(64) + "' }]",
        "",
      ].join("\n"),
    );
    const r = await runCli(["check", path.join(repo, "app"), "--trust", trust, "--namespace", "shop"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/could not be scanned|cannot be scanned|catalogImage/u);
  });
});
