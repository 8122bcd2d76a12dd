// Sealed secrets through a full reconcile: opened in memory and applied as Secrets, a tampered one refused
// with nothing written, and the plaintext nowhere in reports, status, events, the audit log or progress
// lines. And health: workloads that never become ready end in Healthy=False with the reason.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { generateSealingKey, SealingKeyRing, type SealingKey } from "../../src/secrets/keys.js";
import { sealSecret } from "../../src/secrets/seal.js";
import { configMap, deployment, startWorld, type World } from "./harness.js";

const PLAINTEXT = "hunter2-correct-horse-battery-staple";
let w: World;
let key: SealingKey;

function sealed(name: string, value: string): string {
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "shop" },
    data: { password: Buffer.from(value).toString("base64") },
  };
  const r = sealSecret(secret, key.publicKey);
  if (!r.ok) throw new Error(r.message);
  return stringify(r.sealed);
}

beforeAll(async () => {
  w = await startWorld({ readiness: "never" });
  key = await generateSealingKey({ modulusLength: 2048 });
});

afterAll(async () => {
  await w.stop();
});

describe("sealed secrets", () => {
  it("are applied as Secrets, and the plaintext appears nowhere gitward writes or prints", async () => {
    await w.commit({
      "apps/shop/db.yaml": sealed("db", PLAINTEXT),
      "apps/shop/settings.yaml": configMap("settings", { a: "1" }),
    });
    const lines: string[] = [];
    const r = await w.reconcile(undefined, {
      sealingKeys: new SealingKeyRing([key]),
      log: (l) => lines.push(l),
    });
    expect(r.result).toBe("applied");
    const secret = await w.admin.get({ apiVersion: "v1", kind: "Secret", namespace: "shop", name: "db" });
    expect(
      Buffer.from((secret?.["data"] as Record<string, string>)["password"] ?? "", "base64").toString(),
    ).toBe(PLAINTEXT);
    const b64 = Buffer.from(PLAINTEXT).toString("base64");
    const state = await w.admin.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "gitward-system",
      name: "gitward-app-shop",
    });
    const events = await w.admin.list("v1", "Event", { namespace: "gitward-system" });
    const audit = await readFile(w.auditPath, "utf8");
    for (const text of [
      JSON.stringify(r),
      JSON.stringify(state),
      JSON.stringify(events),
      audit,
      lines.join("\n"),
    ]) {
      expect(text).not.toContain(PLAINTEXT);
      expect(text).not.toContain(b64);
    }
  });

  it("a tampered SealedSecret is refused and nothing is written", async () => {
    const good = await w.repo.git("rev-parse", "HEAD");
    const text = sealed("db", "another-value").replace(
      /password: (\S{20})/,
      (_m, p: string) => `password: ${p.split("").reverse().join("")}`,
    );
    await w.commit({
      "apps/shop/db.yaml": text,
      "apps/shop/settings.yaml": configMap("settings", { a: "2" }),
    });
    const before = await w.snapshot();
    const r = await w.reconcile(undefined, { sealingKeys: new SealingKeyRing([key]) });
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("SEALED_SECRET");
    expect(await w.snapshot()).toBe(before);
    await w.repo.setBranch(good);
  });

  it("without sealing keys a SealedSecret is refused, naming the missing keys", async () => {
    await w.commit({ "apps/shop/settings.yaml": configMap("settings", { a: "3" }) });
    const r = await w.reconcile();
    expect(r.result).toBe("refused");
    expect(r.reason).toBe("SEALED_SECRET");
    expect(r.message).toContain("no sealing keys");
  });
});

describe("health", () => {
  it("a workload that never becomes ready ends Healthy=False with HEALTH_TIMEOUT", async () => {
    await w.commit({ "apps/shop/db.yaml": null, "apps/shop/web.yaml": deployment("web", 2) });
    const r = await w.reconcile(undefined, { healthTimeoutMs: 1_500 });
    expect(r.result).toBe("failed");
    expect(r.reason).toBe("HEALTH_TIMEOUT");
    expect(r.details.join("\n")).toContain("Deployment shop/web");
    const healthy = r.status.conditions?.find((c) => c.type === "Healthy");
    expect(healthy).toMatchObject({ status: "False", reason: "HEALTH_TIMEOUT" });
    // Applied all the same: the revision is running, it is just not healthy yet.
    expect(r.status.lastAppliedRevision).toBe(r.revision);
    expect(
      await w.admin.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" }),
    ).toBeDefined();
  });

  it("becomes healthy once the workload reports ready", async () => {
    w.sb.setReadiness({ delayMs: 0 });
    await w.commit({ "apps/shop/web.yaml": deployment("web", 3) });
    const r = await w.reconcile(undefined, { healthTimeoutMs: 10_000 });
    expect(r.result).toBe("applied");
    expect(r.status.conditions?.find((c) => c.type === "Healthy")).toMatchObject({ status: "True" });
  });
});
