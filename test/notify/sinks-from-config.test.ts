import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import type { AlertSink } from "../../src/config/types.js";
import { Notifier } from "../../src/notify/notifier.js";
import { resolveAlertSinks } from "../../src/notify/sinks-from-config.js";
import { ALERT_SINK } from "../config/example.js";
import { startReceiver, type Receiver } from "./receiver.js";

const HMAC = "from-a-file-hmac-secret";
let dir: string;
let receiver: Receiver;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-sinks-"));
  await writeFile(path.join(dir, "ops-hmac.txt"), HMAC + "\n");
  receiver = await startReceiver(HMAC);
});
afterAll(async () => {
  await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

function sink(text = ALERT_SINK): AlertSink {
  return parseConfig(text, "gitward.yaml").alertSinks[0]!;
}

describe("resolveAlertSinks", () => {
  it("reads the URL from the environment and the HMAC secret from a file, then delivers a signed alert", async () => {
    const url = `${receiver.url}/hooks/T0/B0/tokenpart`;
    const [resolved] = await resolveAlertSinks([sink()], { env: { OPS_WEBHOOK_URL: url }, baseDir: dir });
    expect(resolved).toEqual({
      name: "gitward-system/ops",
      type: "webhook",
      url,
      secret: HMAC,
      kinds: ["revision-refused", "drift-detected"],
      minSeverity: "warning",
    });
    const results = await new Notifier([resolved!]).notify({
      kind: "drift-detected",
      severity: "warning",
      time: "2026-11-22T22:30:00.000Z",
      application: { namespace: "gitward-system", name: "shop" },
      object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "settings" },
      fields: ["data.mode"],
      manager: "kubectl-edit",
    });
    expect(results).toMatchObject([{ sink: "gitward-system/ops", delivered: true }]);
    expect(receiver.requests.at(-1)!.hmacValid).toBe(true);
  });

  it("reads a Secret through the given reader in the cluster", async () => {
    const text = ALERT_SINK.replace(
      "url: { env: OPS_WEBHOOK_URL }",
      "url: { secretRef: { name: ops-alerts, key: url } }",
    );
    const asked: string[] = [];
    const [resolved] = await resolveAlertSinks([sink(text)], {
      baseDir: dir,
      readSecret: (ns, name, key) => {
        asked.push(`${ns}/${name}#${key}`);
        return Promise.resolve("https://hooks.example.com/x");
      },
    });
    expect(asked).toEqual(["gitward-system/ops-alerts#url"]);
    expect(resolved!.url).toBe("https://hooks.example.com/x");
  });

  it("names the missing source, never a value", async () => {
    await expect(resolveAlertSinks([sink()], { env: {}, baseDir: dir })).rejects.toThrow(
      /^AlertSink gitward-system\/ops spec\.url: environment variable OPS_WEBHOOK_URL is not set$/,
    );
    const noFile = sink(ALERT_SINK.replace("ops-hmac.txt", "missing.txt"));
    await expect(
      resolveAlertSinks([noFile], {
        env: { OPS_WEBHOOK_URL: "https://h.example.com/SECRETPATH" },
        baseDir: dir,
      }),
    ).rejects.toThrow(/spec\.hmacSecret: cannot read .*missing\.txt: ENOENT$/);
    const inCluster = sink(
      ALERT_SINK.replace("url: { env: OPS_WEBHOOK_URL }", "url: { secretRef: { name: s, key: k } }"),
    );
    await expect(resolveAlertSinks([inCluster], { baseDir: dir })).rejects.toThrow(
      /can only be read in the cluster/,
    );
    await expect(
      resolveAlertSinks([inCluster], { baseDir: dir, readSecret: () => Promise.resolve(undefined) }),
    ).rejects.toThrow(/Secret gitward-system\/s has no key k/);
  });
});
