// Benchmark of `gitward sandbox` (issue 2): 5,000 server-side applies from one keep-alive client, one after
// another, and the latency of listing 10,000 objects. The sandbox runs as its own process (the CLI), so
// client and server do not share an event loop. There is no external peer: the figures are set against
// the targets (at least 1,500 applies/s, a 10,000-object list under 300 ms).
import https from "node:https";
import os from "node:os";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, "..", "src", "cli", "main.js");

interface Conn {
  base: URL;
  token: string;
  ca: string;
  agent: https.Agent;
}

function request(
  c: Conn,
  method: string,
  p: string,
  body?: string,
  type?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${c.token}`,
      Accept: "application/json",
    };
    if (type !== undefined) headers["Content-Type"] = type;
    const req = https.request(new URL(p, c.base), { method, headers, ca: c.ca, agent: c.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const deployment = (i: number): string =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `web-${i}`, namespace: "bench", labels: { app: "web", index: String(i) } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web", index: String(i) } },
      template: {
        metadata: { labels: { app: "web", index: String(i) } },
        spec: {
          containers: [
            {
              name: "web",
              image: `registry.example.com/web@sha256:${"a".repeat(64)}`,
              ports: [{ containerPort: 8080 }],
              env: [
                { name: "MODE", value: "production" },
                { name: "INDEX", value: String(i) },
              ],
              resources: { requests: { cpu: "100m", memory: "128Mi" } },
            },
          ],
        },
      },
    },
  });

const configMap = (i: number): string =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cm-${i}`, namespace: "list", labels: { app: "bench" } },
    data: { index: String(i), payload: "x".repeat(200) },
  });

async function applyAll(
  c: Conn,
  n: number,
  make: (i: number) => string,
  url: (i: number) => string,
  parallel: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const r = await request(c, "PATCH", url(i), make(i), "application/apply-patch+yaml");
      if (r.status !== 200 && r.status !== 201)
        throw new Error(`apply ${i}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function run(args: readonly string[]): Promise<unknown> {
  const applies = Number(args[0] ?? 5000);
  const listSize = Number(args[1] ?? 10000);
  const child = spawn(
    process.execPath,
    [cli, "sandbox", "--port", "0", "--readiness-delay", "never", "-o", "json"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const lines = createInterface({ input: child.stdout });
    let text = "";
    for await (const line of lines) {
      text += line + "\n";
      if (line.startsWith("}")) break;
    }
    const info = JSON.parse(text) as { url: string; kubeconfig: string };
    const kc = parse(await readFile(info.kubeconfig, "utf8")) as {
      clusters: { cluster: { "certificate-authority-data": string } }[];
      users: { user: { token: string } }[];
    };
    const c: Conn = {
      base: new URL(info.url),
      token: kc.users[0]?.user.token ?? "",
      ca: Buffer.from(kc.clusters[0]?.cluster["certificate-authority-data"] ?? "", "base64").toString("utf8"),
      agent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
    };
    for (const ns of ["bench", "list"]) {
      await request(
        c,
        "POST",
        "/api/v1/namespaces",
        JSON.stringify({ metadata: { name: ns } }),
        "application/json",
      );
    }

    // 1. Server-side applies, one client, one request after another (new objects, then re-applies).
    const applyUrl = (i: number): string =>
      `/apis/apps/v1/namespaces/bench/deployments/web-${i}?fieldManager=bench`;
    const t0 = performance.now();
    await applyAll(c, applies, deployment, applyUrl, 1);
    const applySeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await applyAll(c, applies, deployment, applyUrl, 1);
    const reapplySeconds = (performance.now() - t1) / 1000;

    // 2. A list of 10,000 objects: time to the last byte and to parsed JSON, best and median of 7.
    await applyAll(
      c,
      listSize,
      configMap,
      (i) => `/api/v1/namespaces/list/configmaps/cm-${i}?fieldManager=bench`,
      8,
    );
    const latencies: number[] = [];
    let count = 0;
    for (let k = 0; k < 7; k++) {
      const s = performance.now();
      const r = await request(c, "GET", "/api/v1/namespaces/list/configmaps");
      const parsed = JSON.parse(r.text) as { items: unknown[] };
      latencies.push(performance.now() - s);
      count = parsed.items.length;
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[3] ?? 0;
    c.agent.destroy();

    const appliesPerSecond = Math.round(applies / applySeconds);
    const targets = { appliesPerSecond: 1500, listLatencyMs: 300 };
    return {
      benchmark: "sandbox",
      peer: "none (no external peer for this benchmark; figures are set against the issue's targets)",
      sandbox: {
        applies,
        appliesPerSecond,
        reappliesPerSecond: Math.round(applies / reapplySeconds),
        listObjects: count,
        listLatencyMs: {
          median: Math.round(median),
          best: Math.round(latencies[0] ?? 0),
          worst: Math.round(latencies[6] ?? 0),
        },
      },
      targets,
      met: { applies: appliesPerSecond >= targets.appliesPerSecond, list: median < targets.listLatencyMs },
      ratio: {
        appliesVsTarget: Number((appliesPerSecond / targets.appliesPerSecond).toFixed(2)),
        listTargetVsMedian: Number((targets.listLatencyMs / Math.max(median, 1)).toFixed(2)),
      },
      node: process.version,
      // The machine is shared: its load says how far these figures are from an idle machine's.
      machine: { cpus: os.cpus().length, loadAverage1m: Number((os.loadavg()[0] ?? 0).toFixed(2)) },
    };
  } finally {
    child.kill("SIGTERM");
  }
}
