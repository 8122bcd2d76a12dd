import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GitwardEvent } from "../../src/notify/events.js";
import {
  backoffDelay,
  DEFAULT_RETRY,
  Notifier,
  redact,
  type DeliveryLog,
  type SinkConfig,
} from "../../src/notify/notifier.js";
import { signBody, verifyBodySignature } from "../../src/notify/signature.js";
import { startReceiver, type Receiver } from "./receiver.js";

const SECRET = "hmac-test-secret";
const REV = "0123456789abcdef0123456789abcdef01234567";
let receiver: Receiver;

const applied: GitwardEvent = {
  kind: "revision-applied",
  severity: "info",
  time: "2026-11-22T22:00:00.000Z",
  application: { namespace: "gitward-system", name: "shop" },
  revision: REV,
  signer: "platform",
  objectsApplied: 12,
  objectsPruned: 1,
};
const refused: GitwardEvent = {
  kind: "revision-refused",
  severity: "critical",
  time: "2026-11-22T22:00:01.000Z",
  application: { namespace: "gitward-system", name: "shop" },
  revision: REV,
  code: "UNSIGNED",
  stage: "verify",
};
const drift: GitwardEvent = {
  kind: "drift-detected",
  severity: "warning",
  time: "2026-11-22T22:00:02.000Z",
  application: { namespace: "gitward-system", name: "shop" },
  object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
  fields: ["spec.replicas"],
  manager: "kubectl-edit",
};

/** A test clock and sleep: sleeping advances the clock and records the delay, with no real waiting. */
function fakeTime(start = Date.parse("2026-11-22T22:00:00Z")) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(now),
    sleep: (ms: number) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.failNext(0, 500);
});

function webhook(overrides: Partial<SinkConfig> = {}): SinkConfig {
  return { name: "hook", type: "webhook", url: `${receiver.url}/alerts`, secret: SECRET, ...overrides };
}

describe("Notifier delivers signed alerts", () => {
  it("posts the event as JSON with a valid HMAC over timestamp and body", async () => {
    const time = fakeTime();
    const notifier = new Notifier([webhook()], { now: time.now, sleep: time.sleep });
    const [result] = await notifier.notify(applied);
    expect(result).toMatchObject({ sink: "hook", delivered: true, attempts: 1, status: 200 });
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.path).toBe("/alerts");
    expect(req.hmacValid).toBe(true);
    expect(req.headers["x-gitward-event"]).toBe("revision-applied");
    expect(req.headers["x-gitward-timestamp"]).toBe(String(Math.floor(time.now().getTime() / 1000)));
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body).toMatchObject({ version: 1, delivery: result!.delivery, event: applied });
    expect(body["summary"]).toBe(
      "gitward-system/shop: applied 0123456789ab signed by platform (12 applied, 1 pruned)",
    );
  });

  it("signs with a MAC that covers the timestamp: a replay with a new timestamp fails verification", async () => {
    const time = fakeTime();
    await new Notifier([webhook()], { now: time.now }).notify(applied);
    const req = receiver.requests[0]!;
    const ts = req.headers["x-gitward-timestamp"] as string;
    const sig = req.headers["x-gitward-signature"] as string;
    const nowSeconds = Number(ts);
    expect(
      verifyBodySignature({ secret: SECRET, body: req.body, timestamp: ts, signature: sig, nowSeconds }),
    ).toEqual({ ok: true });
    expect(
      verifyBodySignature({
        secret: SECRET,
        body: req.body,
        timestamp: String(nowSeconds + 1),
        signature: sig,
        nowSeconds,
      }),
    ).toEqual({ ok: false, reason: "MISMATCH" });
    expect(
      verifyBodySignature({
        secret: SECRET,
        body: req.body + " ",
        timestamp: ts,
        signature: sig,
        nowSeconds,
      }),
    ).toEqual({ ok: false, reason: "MISMATCH" });
    expect(
      verifyBodySignature({ secret: "other", body: req.body, timestamp: ts, signature: sig, nowSeconds }),
    ).toEqual({ ok: false, reason: "MISMATCH" });
    expect(
      verifyBodySignature({
        secret: SECRET,
        body: req.body,
        timestamp: ts,
        signature: sig,
        nowSeconds: nowSeconds + 301,
      }),
    ).toEqual({ ok: false, reason: "STALE" });
    expect(
      verifyBodySignature({
        secret: SECRET,
        body: req.body,
        timestamp: ts,
        signature: "sha256=zz",
        nowSeconds,
      }),
    ).toEqual({ ok: false, reason: "MALFORMED" });
    expect(
      verifyBodySignature({
        secret: SECRET,
        body: req.body,
        timestamp: undefined,
        signature: sig,
        nowSeconds,
      }),
    ).toEqual({ ok: false, reason: "MISSING" });
  });

  it("sends no signature headers to a sink without a secret", async () => {
    const { secret: _s, ...unsigned } = webhook();
    await new Notifier([unsigned]).notify(applied);
    expect(receiver.requests[0]!.headers["x-gitward-signature"]).toBeUndefined();
    expect(receiver.requests[0]!.hmacValid).toBe(false);
  });

  it("sends Slack-compatible bodies to a slack sink", async () => {
    await new Notifier([
      { name: "slack", type: "slack", url: `${receiver.url}/services/T0/B0/tok`, secret: SECRET },
    ]).notify(refused);
    const req = receiver.requests[0]!;
    expect(JSON.parse(req.body)).toEqual({
      text: "[CRITICAL] gitward: gitward-system/shop: refused 0123456789ab at verify: UNSIGNED",
    });
    expect(req.hmacValid).toBe(true);
  });
});

describe("Notifier retries with exponential backoff and jitter", () => {
  it("retries the first failures and delivers, with one delivery id and a fresh signature each time", async () => {
    receiver.failNext(3, 503);
    const time = fakeTime();
    const logs: DeliveryLog[] = [];
    const notifier = new Notifier([webhook()], {
      now: time.now,
      sleep: time.sleep,
      random: () => 0.5,
      log: (l) => logs.push(l),
    });
    const [result] = await notifier.notify(drift);
    expect(result).toMatchObject({ delivered: true, attempts: 4, status: 200 });
    expect(receiver.requests).toHaveLength(4);
    // Full jitter over 500, 1000, 2000 ms ceilings, with random() = 0.5.
    expect(time.sleeps).toEqual([250, 500, 1000]);
    expect(new Set(receiver.requests.map((r) => r.headers["x-gitward-delivery"])).size).toBe(1);
    expect(receiver.requests.every((r) => r.hmacValid)).toBe(true);
    expect(new Set(receiver.requests.map((r) => r.headers["x-gitward-timestamp"])).size).toBeGreaterThan(1);
    expect(logs.map((l) => l.status)).toEqual([503, 503, 503, 200]);
    expect(logs.slice(0, 3).map((l) => l.retryInMs)).toEqual([250, 500, 1000]);
  });

  it("follows Retry-After on 429", async () => {
    receiver.failNext(1, 429, { "retry-after": "2" });
    const time = fakeTime();
    const [result] = await new Notifier([webhook()], { now: time.now, sleep: time.sleep }).notify(drift);
    expect(result).toMatchObject({ delivered: true, attempts: 2 });
    expect(time.sleeps).toEqual([2000]);
  });

  it("gives up after maxAttempts and reports the last status", async () => {
    receiver.failNext(10, 500);
    const time = fakeTime();
    const [result] = await new Notifier([webhook()], {
      sleep: time.sleep,
      random: () => 1,
      retry: { maxAttempts: 3 },
    }).notify(drift);
    expect(result).toMatchObject({ delivered: false, attempts: 3, status: 500, error: "HTTP 500" });
    expect(receiver.requests).toHaveLength(3);
    expect(time.sleeps).toEqual([500, 1000]);
  });

  it("does not retry a 4xx that retrying cannot fix", async () => {
    receiver.failNext(1, 400);
    const time = fakeTime();
    const [result] = await new Notifier([webhook()], { sleep: time.sleep }).notify(drift);
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 400 });
    expect(time.sleeps).toEqual([]);
  });

  it("caps the backoff at maxDelayMs", () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 1000, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, policy, () => 0.999999))).toEqual([
      999, 1999, 3999, 4999, 4999, 4999,
    ]);
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
    expect(backoffDelay(1, policy, () => 0.5, "600")).toBe(5000);
  });
});

describe("Notifier filters and keeps secrets out", () => {
  it("routes events by kind and severity per sink", async () => {
    const sinks: SinkConfig[] = [
      webhook({
        name: "drift-only",
        url: `${receiver.url}/drift`,
        kinds: ["drift-detected", "drift-reverted"],
      }),
      webhook({ name: "critical-only", url: `${receiver.url}/critical`, minSeverity: "critical" }),
      webhook({ name: "all", url: `${receiver.url}/all` }),
    ];
    const notifier = new Notifier(sinks);
    expect((await notifier.notify(applied)).map((r) => r.sink)).toEqual(["all"]);
    expect((await notifier.notify(refused)).map((r) => r.sink)).toEqual(["critical-only", "all"]);
    expect((await notifier.notify(drift)).map((r) => r.sink)).toEqual(["drift-only", "all"]);
    expect(receiver.requests.map((r) => r.path).sort()).toEqual([
      "/all",
      "/all",
      "/all",
      "/critical",
      "/drift",
    ]);
  });

  it("rejects an event with a field outside its type, sending nothing", async () => {
    const withToken = { ...applied, token: "ghp_secret" } as unknown as GitwardEvent;
    await expect(new Notifier([webhook()]).notify(withToken)).rejects.toThrow(/alert event rejected/);
    const proseCode = { ...refused, code: "password is hunter2" };
    await expect(new Notifier([webhook()]).notify(proseCode)).rejects.toThrow(/alert event rejected/);
    expect(receiver.requests).toHaveLength(0);
  });

  it("never logs or returns the sink URL or its token, on HTTP errors and on network errors", async () => {
    const token = "XXXXsecretTOKENpart";
    // A port that was open a moment ago and is closed now: connection refused.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address() as { port: number };
        s.close(() => {
          resolve(port);
        });
      });
    });
    receiver.failNext(10, 500);
    const logs: DeliveryLog[] = [];
    const time = fakeTime();
    const notifier = new Notifier(
      [
        { name: "slack-http", type: "slack", url: `${receiver.url}/services/T0/B0/${token}?key=${token}` },
        { name: "slack-down", type: "slack", url: `http://127.0.0.1:${closed}/services/T0/B0/${token}` },
      ],
      { sleep: time.sleep, log: (l) => logs.push(l), retry: { maxAttempts: 2 } },
    );
    const results = await notifier.notify(refused);
    expect(results.map((r) => r.delivered)).toEqual([false, false]);
    expect(results[1]!.error).toMatch(/ECONNREFUSED|fetch failed/);
    const everything = JSON.stringify({ logs, results });
    expect(everything).not.toContain(token);
    expect(everything).not.toContain("/services/");
    expect(logs.filter((l) => l.sink === "slack-down")).toHaveLength(2);
  });

  it("does not follow redirects, so the signed body never goes elsewhere", async () => {
    receiver.redirect("/moved", "/elsewhere");
    const time = fakeTime();
    const [result] = await new Notifier([webhook({ url: `${receiver.url}/moved` })], {
      sleep: time.sleep,
      retry: { maxAttempts: 1 },
    }).notify(drift);
    expect(result!.delivered).toBe(false);
    expect(receiver.requests.map((r) => r.path)).toEqual(["/moved"]);
  });

  it("refuses invalid sink configuration", () => {
    expect(() => new Notifier([webhook(), webhook()])).toThrow(/unique/);
    expect(() => new Notifier([webhook({ url: "ftp://x/y" })])).toThrow(/http or https/);
    expect(() => new Notifier([webhook({ url: "not a url" })])).toThrow(/not valid/);
    expect(() => new Notifier([webhook({ secret: "" })])).toThrow(/secret is empty/);
  });

  it("signBody is HMAC-SHA256 over timestamp.body in lower-case hex", () => {
    expect(signBody("k", 1, "{}")).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signBody("k", 1, "{}")).not.toBe(signBody("k", 2, "{}"));
  });
});

describe("redact", () => {
  it("removes a sink URL's user info and path, percent-escaped or decoded", () => {
    const url = "https://bob:pa%2Fss@hooks.example.com/services/T%2F0?key=k3y";
    const message = `failed: ${url}; user bob pass pa/ss path /services/T/0 query ?key=k3y`;
    const out = redact(message, url);
    for (const s of ["pa%2Fss", "pa/ss", "/services/T/0", "k3y", "bob"]) expect(out).not.toContain(s);
    expect(out).toContain("<sink url>");
  });

  it("goes through the one URL redactor: passwords with /, @, : or %2F leave no trace, however written", () => {
    for (const password of ["pa%2Fss", "p%40ss", "p%3Ass", "a%2Fb%40c%3Ad"]) {
      const url = `https://bob:${password}@hooks.example.com/services/T0?key=k3y`;
      const plain = decodeURIComponent(password);
      // The URL as a library might print it (host upper-cased, password decoded), and bare parts.
      const messages = [
        `POST HTTPS://bob:${plain}@HOOKS.example.com/services/T0?key=k3y failed`,
        `retrying https://bob:${password}@hooks.example.com:443/other?key=k3y`,
        `password ${plain}`,
      ];
      for (const message of [...messages, messages.join("; ")]) {
        const out = redact(message, url);
        for (const s of [password, plain, "k3y", "bob", "/services/T0"]) expect(out).not.toContain(s);
      }
      expect(redact(messages[0]!, url)).toBe("POST HTTPS://[REDACTED]@HOOKS.example.com***?key=[REDACTED]");
    }
    // A message without the sink's secrets is left as it was.
    expect(redact("connect ECONNREFUSED 127.0.0.1:1", "https://hooks.example.com/x")).toBe(
      "connect ECONNREFUSED 127.0.0.1:1",
    );
  });
});
