import { createHmac } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_WEBHOOK_BYTES } from "../../src/notify/git-webhooks.js";
import { createLogger } from "../../src/observe/logger.js";
import { OperatorMetrics } from "../../src/observe/metrics.js";
import {
  startOperatorServer,
  type HookReceiver,
  type HookTrigger,
  type OperatorServer,
} from "../../src/observe/server.js";
import { find, parseExposition } from "./exposition.js";

const SECRET = "shop-webhook-secret";
const BLOG_SECRET = "blog-webhook-secret";
const AFTER = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const push = Buffer.from(JSON.stringify({ ref: "refs/heads/main", before: "0".repeat(40), after: AFTER }));

const hmac = (body: Buffer, key: string) => createHmac("sha256", key).update(body).digest("hex");

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One real HTTP request on a fresh connection; a reset after the answer has arrived is not an error. */
function send(o: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      server.url + o.path,
      { method: o.method, headers: o.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

let server: OperatorServer;
let metrics: OperatorMetrics;
let readiness: { ok: boolean; reason?: string };
const triggered: { app: string; verdict: HookTrigger }[] = [];
const logLines: string[] = [];
const logs = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

const hooks: HookReceiver = {
  lookup(app) {
    const key = `${app.namespace ?? "-"}/${app.name}`;
    const secret = { "gitward-system/shop": SECRET, "-/blog": BLOG_SECRET }[key];
    if (secret === undefined) return undefined;
    return { secret, trigger: (verdict) => triggered.push({ app: key, verdict }) };
  },
};

beforeAll(async () => {
  metrics = new OperatorMetrics();
  server = await startOperatorServer({
    host: "127.0.0.1",
    port: 0,
    metrics,
    ready: () => readiness,
    hooks,
    log: createLogger({ destination: { write: (s: string) => logLines.push(s) } }),
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  triggered.length = 0;
  logLines.length = 0;
  readiness = { ok: true };
});

describe("operator server: metrics and probes", () => {
  it("listens on the port it was given (0: any free one) and reports its URL", () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it("serves /metrics as Prometheus text with the registry's content type", async () => {
    metrics.observeReconcile({ application: "gitward-system/shop", result: "applied", seconds: 0.4 });
    metrics.setLeader(true);
    const r = await send({ method: "GET", path: "/metrics" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe(metrics.contentType);
    const exp = parseExposition(r.body);
    expect(
      find(exp, "gitward_revisions_applied_total", { application: "gitward-system/shop" })[0]?.value,
    ).toBe(1);
    expect(find(exp, "gitward_leader")[0]?.value).toBe(1);
  });

  it("answers /healthz with ok whatever readiness says", async () => {
    readiness = { ok: false, reason: "not leader" };
    const r = await send({ method: "GET", path: "/healthz" });
    expect([r.status, r.body]).toEqual([200, "ok\n"]);
  });

  it("answers /readyz 200 when ready and 503 with the reason when not", async () => {
    expect((await send({ method: "GET", path: "/readyz" })).status).toBe(200);
    readiness = { ok: false, reason: "cache not synced" };
    const r = await send({ method: "GET", path: "/readyz?verbose" });
    expect(r.status).toBe(503);
    expect(r.body).toContain("cache not synced");
  });

  it("answers 404 for unknown paths and 405 with Allow for a wrong method", async () => {
    for (const path of ["/", "/metricsx", "/hooks", "/hooks/", "/hooks/a/b/c", "/hooks//shop"]) {
      expect((await send({ method: "GET", path })).status, path).toBe(404);
    }
    const post = await send({ method: "POST", path: "/metrics", body: Buffer.from("x") });
    expect(post.status).toBe(405);
    expect(post.headers["allow"]).toBe("GET, HEAD");
    const get = await send({ method: "GET", path: "/hooks/x" });
    expect(get.status).toBe(405);
    expect(get.headers["allow"]).toBe("POST");
  });
});

describe("operator server: git push webhooks", () => {
  it("triggers a reconcile for a correctly signed GitHub push and answers 202", async () => {
    const r = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": "sha256=" + hmac(push, SECRET),
      },
      body: push,
    });
    expect([r.status, JSON.parse(r.body)]).toEqual([202, { accepted: true }]);
    expect(triggered).toEqual([
      {
        app: "gitward-system/shop",
        verdict: { provider: "github", event: "push", ref: "refs/heads/main", after: AFTER },
      },
    ]);
  });

  it("triggers for a signed Gitea push and for a GitLab push with the right token", async () => {
    const gitea = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { "x-gitea-event": "push", "x-github-event": "push", "x-gitea-signature": hmac(push, SECRET) },
      body: push,
    });
    const gitlab = await send({
      method: "POST",
      path: "/hooks/blog",
      headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": BLOG_SECRET },
      body: push,
    });
    expect([gitea.status, gitlab.status]).toEqual([202, 202]);
    expect(triggered.map((t) => [t.app, t.verdict.provider, t.verdict.event, t.verdict.after])).toEqual([
      ["gitward-system/shop", "gitea", "push", AFTER],
      ["-/blog", "gitlab", "push", AFTER],
    ]);
  });

  it("acknowledges a signed ping with 200 and does not trigger", async () => {
    const ping = Buffer.from(JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }));
    const r = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { "x-github-event": "ping", "x-hub-signature-256": "sha256=" + hmac(ping, SECRET) },
      body: ping,
    });
    expect(r.status).toBe(200);
    expect(triggered).toEqual([]);
  });

  it("refuses a forged signature with 401, does not trigger, and logs without the signature", async () => {
    const forged = "sha256=" + hmac(push, "a-guess");
    const r = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { "x-github-event": "push", "x-hub-signature-256": forged },
      body: push,
    });
    expect([r.status, r.body]).toEqual([401, '{"error":"unauthorized"}']);
    expect(r.body).not.toContain("refs/heads");
    expect(triggered).toEqual([]);
    const warn = logs().find((l) => l["level"] === "warn");
    expect(warn).toMatchObject({
      provider: "github",
      reason: "BAD_SIGNATURE",
      app: "gitward-system/shop",
      remote: "127.0.0.1",
    });
    const all = logLines.join("");
    expect(all).not.toContain(forged.slice(7));
    expect(all).not.toContain(SECRET);
  });

  it("refuses a wrong GitLab token, a body changed after signing and a missing signature", async () => {
    const cases = [
      { headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": "guess" }, body: push },
      {
        headers: { "x-github-event": "push", "x-hub-signature-256": "sha256=" + hmac(push, SECRET) },
        body: Buffer.from(push.toString().replace("main", "evil")),
      },
      { headers: { "x-github-event": "push" }, body: push },
      { headers: {}, body: push },
    ];
    for (const c of cases) {
      const r = await send({ method: "POST", path: "/hooks/gitward-system/shop", ...c });
      expect(r.status).toBe(401);
    }
    expect(triggered).toEqual([]);
    expect(logLines.join("")).not.toContain("guess");
  });

  it("gives an unknown application the same 401 as a bad signature", async () => {
    const signed = {
      "x-github-event": "push",
      "x-hub-signature-256": "sha256=" + hmac(push, SECRET),
    };
    const unknown = await send({
      method: "POST",
      path: "/hooks/gitward-system/nope",
      headers: signed,
      body: push,
    });
    const invalidName = await send({
      method: "POST",
      path: "/hooks/Not_A_Name",
      headers: signed,
      body: push,
    });
    const forged = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { ...signed, "x-hub-signature-256": "sha256=" + hmac(push, "x") },
      body: push,
    });
    for (const r of [unknown, invalidName, forged]) {
      expect([r.status, r.body, r.headers["content-type"]]).toEqual([
        401,
        '{"error":"unauthorized"}',
        "application/json",
      ]);
    }
    expect(triggered).toEqual([]);
    expect(logs().filter((l) => l["reason"] === "UNKNOWN_APPLICATION")).toHaveLength(2);
  });

  it("answers 413 to a 2 MiB body, declared or streamed, without triggering", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const headers = { "x-github-event": "push", "x-hub-signature-256": "sha256=" + hmac(big, SECRET) };
    const declared = await send({ method: "POST", path: "/hooks/gitward-system/shop", headers, body: big });
    expect(declared.status).toBe(413);
    expect(declared.headers["connection"]).toBe("close");
    const chunked = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { ...headers, "transfer-encoding": "chunked" },
      body: big,
    });
    expect(chunked.status).toBe(413);
    expect(triggered).toEqual([]);
    expect(logs().filter((l) => l["reason"] === "TOO_LARGE")).toHaveLength(2);
  });

  it("accepts a body of exactly the limit", async () => {
    const json = JSON.stringify({ ref: "refs/heads/main", after: AFTER, pad: "" });
    const body = Buffer.from(
      json.replace('"pad":""', `"pad":"${"x".repeat(MAX_WEBHOOK_BYTES - json.length)}"`),
    );
    expect(body.length).toBe(MAX_WEBHOOK_BYTES);
    const r = await send({
      method: "POST",
      path: "/hooks/gitward-system/shop",
      headers: { "x-github-event": "push", "x-hub-signature-256": "sha256=" + hmac(body, SECRET) },
      body,
    });
    expect(r.status).toBe(202);
    expect(triggered).toHaveLength(1);
  });
});

describe("operator server without a hook receiver", () => {
  it("answers 404 on /hooks/...", async () => {
    const s = await startOperatorServer({ host: "127.0.0.1", port: 0, metrics, ready: () => ({ ok: true }) });
    try {
      const res = await fetch(`${s.url}/hooks/gitward-system/shop`, { method: "POST", body: "{}" });
      expect(res.status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
