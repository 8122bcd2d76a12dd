// A receiver of gitward's signed alerts, over real HTTP: it must refuse everything when its secret is
// empty (an HMAC under the empty key is one anyone can compute), and accept a correctly signed alert.
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { signBody, verifyBodySignature } from "../../src/notify/signature.js";

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s !== undefined) await new Promise((resolve) => s.close(resolve));
});

/** A receiver that answers 204 when verifyBodySignature accepts, else 401 with the reason. */
async function receiver(secret: string): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const one = (h: string | string[] | undefined) => (typeof h === "string" ? h : undefined);
      const verdict = verifyBodySignature({
        secret,
        body,
        timestamp: one(req.headers["x-gitward-timestamp"]),
        signature: one(req.headers["x-gitward-signature"]),
      });
      if (verdict.ok) res.writeHead(204).end();
      else res.writeHead(401).end(verdict.reason);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Signed with node:crypto directly, as an attacker who guesses "no secret" would. */
async function postSigned(url: string, key: string, body: string) {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = "sha256=" + createHmac("sha256", key).update(`${ts}.${body}`).digest("hex");
  const r = await fetch(url, {
    method: "POST",
    body,
    headers: { "x-gitward-timestamp": ts, "x-gitward-signature": sig },
  });
  return { status: r.status, text: await r.text() };
}

describe("alert receiver signature check", () => {
  it("refuses an alert signed with the empty key when the receiver's secret is empty", async () => {
    const url = await receiver("");
    expect(await postSigned(url, "", '{"kind":"refused"}')).toEqual({ status: 401, text: "NO_SECRET" });
  });

  it("accepts an alert signed with the receiver's secret, refuses one signed with another", async () => {
    const url = await receiver("s3cret");
    expect((await postSigned(url, "s3cret", '{"kind":"applied"}')).status).toBe(204);
    expect(await postSigned(url, "other", '{"kind":"applied"}')).toEqual({ status: 401, text: "MISMATCH" });
  });

  it("will not sign with an empty secret either", () => {
    expect(() => signBody("", 1, "{}")).toThrow(/empty secret/);
  });
});
