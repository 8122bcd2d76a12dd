// The vulnerability gate inside the reconcile, on the sandbox API server with a real registry and a
// signed image: the inventory function is a test double of the cataloger (the end-to-end test with the
// real catalogImage follows when the SBOM work lands). A critical finding refuses the revision with
// nothing applied, an audit record naming the advisory, a Warning Event and the PolicyPassed condition;
// the same image passes once the finding is ignored, and a missing database refuses (fail closed).
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrustPolicy, VulnerabilityPolicy } from "../../src/config/types.js";
import { RegistryClient } from "../../src/images/client.js";
import type { ImageInventory } from "../../src/sbom/types.js";
import { signImage } from "../../src/trust/image/sign.js";
import { ScanCache } from "../../src/vuln/scan.js";
import { deployment, startWorld, withImageTrust, type World } from "../reconcile/harness.js";
import { importFixture, readFixtureInventory, FINDINGS_FIXTURE } from "../support/real-inventory.js";
import { pushTestImage, startRegistry, type TestRegistry } from "../support/registry.js";
import { buildImage, pushImage } from "../support/oci-image.js";

let w: World;
let registry: TestRegistry;
let client: RegistryClient;
let dbDir: string;
let dbPath: string;
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const scanned: string[] = [];

/** The cataloger's test double: the labelled fixture's real packages (minimist 1.2.5: GHSA-xvch-5gv4-984h, critical). */
function inventoryOf(reference: string): Promise<ImageInventory> {
  scanned.push(reference);
  const inv = readFixtureInventory(FINDINGS_FIXTURE);
  return Promise.resolve({ ...inv, reference, digest: reference.split("@")[1] ?? "" });
}

const trust = (vulnerabilities: VulnerabilityPolicy): TrustPolicy =>
  withImageTrust(w.trust(), registry.host, publicKey, { vulnerabilities });

const webWith = (image: string) => deployment("web").replace(/image: \S+/, `image: ${image}`);

beforeAll(async () => {
  w = await startWorld();
  registry = await startRegistry();
  client = new RegistryClient({ plainHTTP: true });
  dbDir = await mkdtemp(path.join(tmpdir(), "gitward-vulngate-"));
  await importFixture(dbDir);
  dbPath = path.join(dbDir, "vuln.db");
  await pushTestImage(registry, "shop/web", "v1", "web with old packages");
  await signImage({ client, image: `${registry.host}/shop/web:v1`, key: privateKey, format: "bundle" });
  await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:v1`) });
});

afterAll(async () => {
  await registry.stop();
  await w.stop();
  await rm(dbDir, { recursive: true, force: true });
});

describe("the vulnerability gate in the reconcile", () => {
  it("refuses a revision whose image has a critical finding: nothing applied, audit, Event, condition", async () => {
    const before = await w.snapshot();
    const cache = new ScanCache();
    const r = await w.reconcile(
      w.app(),
      { registry: client, vulnerabilities: { inventoryOf, cache } },
      trust({ dbPath, failOn: "critical" }),
    );
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("VULNERABLE_IMAGE");
    expect(r.message).toMatch(/at or above critical/u);
    expect(r.details.join("\n")).toMatch(
      /minimist 1\.2\.5: GHSA-xvch-5gv4-984h \(CVE-2021-44906\), critical 9\.8, fixed in 1\.2\.6/u,
    );
    expect(r.details.join("\n")).toMatch(/database sha256:/u);
    expect(await w.snapshot()).toBe(before);
    // Scanned by digest, never by the tag that could move after verification.
    expect(scanned.at(-1)).toMatch(/shop\/web:v1@sha256:[0-9a-f]{64}$/u);
    const cond = (r.status.conditions ?? []).find((c) => c.type === "PolicyPassed");
    expect(cond).toMatchObject({ status: "False", reason: "VULNERABLE_IMAGE" });
    const records = (await readFile(w.auditPath, "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { id: string; reason?: string; findings: { codes: string[] } });
    const rec = records.find((x) => x.id === r.auditRecord);
    expect(rec?.reason).toBe("VULNERABLE_IMAGE");
    expect(rec?.findings.codes).toContain("vuln/GHSA-xvch-5gv4-984h");
    const events = await w.admin.list("v1", "Event", { namespace: "gitward-system" });
    expect(events.some((e) => e["reason"] === "VULNERABLE_IMAGE" && e["type"] === "Warning")).toBe(true);
  });

  it("applies the same image once its critical findings are ignored, reusing the cached scan", async () => {
    const cache = new ScanCache();
    const policy: VulnerabilityPolicy = {
      dbPath,
      failOn: "critical",
      ignore: [
        { id: "CVE-2021-44906", reason: "minimist is only used at build time" },
        { id: "GHSA-fjxv-7rqg-78g4", reason: "not installed here", expires: "2099-01-01" },
      ],
    };
    const env = { registry: client, vulnerabilities: { inventoryOf, cache } };
    const first = await w.reconcile(w.app(), env, trust(policy));
    expect(first.result).toBe("applied");
    const calls = scanned.length;
    await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:v1`) + "\n# touched\n" });
    const second = await w.reconcile(w.app(), env, trust({ ...policy, failOn: "high" }));
    // failOn high: the high findings of the same cached scan now refuse it, without a new catalog.
    expect(second.reason).toBe("VULNERABLE_IMAGE");
    expect(scanned.length).toBe(calls);
  });

  it("refuses when the database is missing (fails closed)", async () => {
    await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:v1`) + "\n# again\n" });
    const r = await w.reconcile(
      w.app(),
      { registry: client, vulnerabilities: { inventoryOf } },
      trust({ dbPath: path.join(dbDir, "missing.db") }),
    );
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("VULNERABILITY_DB_UNAVAILABLE");
    expect(r.message).toMatch(/missing\.db/u);
  });

  it("end to end with the real cataloger: the image's own layers are read from the registry and refused", async () => {
    // An image whose layer holds minimist 1.2.5's real package.json (GHSA-xvch-5gv4-984h, critical).
    const image = await buildImage([
      {
        entries: [
          {
            path: "app/node_modules/minimist/package.json",
            hostFile: path.join(FINDINGS_FIXTURE, "npm", "old", "minimist", "package.json"),
          },
        ],
      },
    ]);
    await pushImage(registry, "shop/web", "real", image);
    await signImage({ client, image: `${registry.host}/shop/web:real`, key: privateKey, format: "bundle" });
    await w.commit({ "apps/shop/web.yaml": webWith(`${registry.host}/shop/web:real`) });
    const before = await w.snapshot();
    const r = await w.reconcile(
      w.app(),
      { registry: client, vulnerabilities: { cache: new ScanCache() } },
      trust({ dbPath, failOn: "critical" }),
    );
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("VULNERABLE_IMAGE");
    expect(r.details.join("\n")).toMatch(/minimist 1\.2\.5: GHSA-xvch-5gv4-984h/u);
    expect(r.details.join("\n")).toContain(image.layers[0]?.digest.slice(0, 19) ?? "missing layer");
    expect(await w.snapshot()).toBe(before);
    const ok = await w.reconcile(
      w.app(),
      { registry: client, vulnerabilities: { cache: new ScanCache() } },
      trust({
        dbPath,
        failOn: "critical",
        ignore: [{ id: "GHSA-xvch-5gv4-984h", reason: "build-time only" }],
      }),
    );
    expect(ok.result, ok.details.join("\n")).toBe("applied");
  });
});
