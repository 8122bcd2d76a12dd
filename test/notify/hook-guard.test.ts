// Push webhooks over real HTTP: a delivery sent twice triggers one reconcile, each host's delivery header
// is read, and an Application's triggers are rate-limited with 429 and Retry-After. The bounded stores
// behind it are checked directly with an injected clock.
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HookGuard } from "../../src/notify/hook-guard.js";
import { OperatorMetrics } from "../../src/observe/metrics.js";
import { startOperatorServer, type HookTrigger, type OperatorServer } from "../../src/observe/server.js";

const SECRET = "push-secret";
const push = Buffer.from(JSON.stringify({ ref: "refs/heads/main", after: "a".repeat(40) }));
const hmac = (key: string) => createHmac("sha256", key).update(push).digest("hex");

const github = (delivery?: string) => ({
  "x-github-event": "push",
  "x-hub-signature-256": "sha256=" + hmac(SECRET),
  ...(delivery === undefined ? {} : { "x-github-delivery": delivery }),
});

let server: OperatorServer;
const triggered: { app: string; verdict: HookTrigger }[] = [];

function post(path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    const req = httpRequest(server.url + path, { method: "POST", headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        const retry = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, body, ...(retry === undefined ? {} : { retryAfter: retry }) });
      });
    });
    req.on("error", reject);
    req.end(push);
  });
}

beforeAll(async () => {
  server = await startOperatorServer({
    host: "127.0.0.1",
    port: 0,
    metrics: new OperatorMetrics(),
    ready: () => ({ ok: true }),
    hookLimits: { burst: 3, refillMs: 60_000 },
    hooks: {
      // "shop" and "ns/shop" are one Application; each other name is its own.
      lookup(app) {
        const id = app.name === "shop" ? "ns/shop" : `ns/${app.name}`;
        return { id, secret: SECRET, trigger: (verdict) => triggered.push({ app: id, verdict }) };
      },
    },
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  triggered.length = 0;
});

describe("push webhooks: repeated deliveries", () => {
  it("triggers once for a GitHub delivery sent twice, and again for a new delivery", async () => {
    expect((await post("/hooks/ns/dedupe", github("d-1"))).status).toBe(202);
    const again = await post("/hooks/ns/dedupe", github("d-1"));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ accepted: false, duplicate: true });
    expect((await post("/hooks/ns/dedupe", github("d-2"))).status).toBe(202);
    expect(triggered.map((t) => t.verdict.delivery)).toEqual(["d-1", "d-2"]);
  });

  it("reads GitLab's Idempotency-Key (else X-Gitlab-Event-UUID) and Gitea's X-Gitea-Delivery", async () => {
    const gitlab = (h: Record<string, string>) => ({
      "x-gitlab-event": "Push Hook",
      "x-gitlab-token": SECRET,
      ...h,
    });
    const gitea = { "x-gitea-event": "push", "x-gitea-signature": hmac(SECRET), "x-gitea-delivery": "g-1" };
    const codes = [
      (await post("/hooks/ns/gl", gitlab({ "idempotency-key": "k-1", "x-gitlab-event-uuid": "e-1" }))).status,
      // A retry: same Idempotency-Key, GitLab sends a new event UUID.
      (await post("/hooks/ns/gl", gitlab({ "idempotency-key": "k-1", "x-gitlab-event-uuid": "e-2" }))).status,
      (await post("/hooks/ns/gl2", gitlab({ "x-gitlab-event-uuid": "e-3" }))).status,
      (await post("/hooks/ns/gl2", gitlab({ "x-gitlab-event-uuid": "e-3" }))).status,
      (await post("/hooks/ns/gt", gitea)).status,
      (await post("/hooks/ns/gt", gitea)).status,
    ];
    expect(codes).toEqual([202, 200, 202, 200, 202, 200]);
    expect(triggered.map((t) => t.verdict.delivery)).toEqual(["k-1", "e-3", "g-1"]);
  });

  it("does not let an unverified request with a known delivery id count", async () => {
    const forged = { ...github("d-forged"), "x-hub-signature-256": "sha256=" + hmac("guess") };
    expect((await post("/hooks/ns/forged", forged)).status).toBe(401);
    expect((await post("/hooks/ns/forged", github("d-forged"))).status).toBe(202);
  });
});

describe("push webhooks: trigger rate per Application", () => {
  it("answers 429 with Retry-After past the burst, counting both paths to one Application", async () => {
    const codes: number[] = [];
    let limited: { status: number; retryAfter?: string } | undefined;
    for (const [i, path] of ["/hooks/shop", "/hooks/ns/shop", "/hooks/shop", "/hooks/ns/shop"].entries()) {
      const r = await post(path, github(`r-${i}`));
      codes.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(codes).toEqual([202, 202, 202, 429]);
    expect(Number(limited?.retryAfter)).toBeGreaterThan(50);
    expect(Number(limited?.retryAfter)).toBeLessThanOrEqual(60);
    expect(triggered).toHaveLength(3);
    // Another Application has its own bucket.
    expect((await post("/hooks/ns/other", github("o-1"))).status).toBe(202);
  });
});

describe("HookGuard", () => {
  it("refills one token per interval and takes a rate-limited delivery when it is sent again", () => {
    let t = 0;
    const guard = new HookGuard({ burst: 1, refillMs: 1_000 }, () => t);
    expect(guard.admit("a", "x")).toEqual({ ok: true });
    expect(guard.admit("a", "y")).toEqual({ ok: false, reason: "RATE_LIMITED", retryAfterSeconds: 1 });
    t = 400;
    expect(guard.admit("a", "y")).toEqual({ ok: false, reason: "RATE_LIMITED", retryAfterSeconds: 1 });
    t = 1_000;
    expect(guard.admit("a", "y")).toEqual({ ok: true });
    expect(guard.admit("a", "y")).toEqual({ ok: false, reason: "DUPLICATE" });
  });

  it("remembers at most `deliveries` ids, and each only for the TTL", () => {
    let t = 0;
    const guard = new HookGuard({ burst: 1e9, refillMs: 1, deliveries: 3, deliveryTtlMs: 10_000 }, () => t);
    for (const id of ["1", "2", "3", "4"]) expect(guard.admit("a", id).ok).toBe(true);
    expect(guard.admit("a", "4")).toEqual({ ok: false, reason: "DUPLICATE" });
    expect(guard.admit("a", "1").ok).toBe(true); // forgotten: the oldest went when "4" came
    t = 10_000;
    expect(guard.admit("a", "4").ok).toBe(true); // past the TTL
    // 100,000 distinct ids leave the store at its bound.
    for (let i = 0; i < 100_000; i++) guard.admit("a", `n-${i}`);
    expect((guard as unknown as { seen: Map<string, number> }).seen.size).toBe(3);
  });
});
