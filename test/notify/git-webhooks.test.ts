import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  detectProvider,
  verifyGitHubSignature,
  verifyGitLabToken,
  verifyGitWebhook,
  verifyGiteaSignature,
} from "../../src/notify/git-webhooks.js";
import { constantTimeEqual } from "../../src/notify/signature.js";

const SECRET = "webhook-shared-secret";
const AFTER = "9fceb02d0ae598e95dc970b74767f19372d61af8";
const body = Buffer.from(
  JSON.stringify({ ref: "refs/heads/main", before: "0".repeat(40), after: AFTER, commits: [] }),
);

/** HMAC-SHA256 hex computed by openssl, independently of gitward's code. */
async function opensslHmac(data: Buffer, key: string): Promise<string> {
  const child = promisify(execFile)("openssl", ["dgst", "-sha256", "-hmac", key, "-r"]);
  child.child.stdin!.end(data);
  const { stdout } = await child;
  return stdout.split(" ")[0]!.trim();
}

describe("GitHub push webhooks (X-Hub-Signature-256)", () => {
  it("accepts a request signed with the shared secret and extracts ref and commit", async () => {
    const sig = "sha256=" + (await opensslHmac(body, SECRET));
    expect(verifyGitHubSignature(body, sig, SECRET)).toBe(true);
    const verdict = verifyGitWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, body, SECRET);
    expect(verdict).toEqual({
      ok: true,
      provider: "github",
      event: "push",
      ref: "refs/heads/main",
      after: AFTER,
    });
  });

  it("rejects a forged signature, a changed body, another secret and a missing header", async () => {
    const sig = "sha256=" + (await opensslHmac(body, SECRET));
    const forged = "sha256=" + (await opensslHmac(body, "guess"));
    const changed = Buffer.from(body.toString().replace("main", "evil"));
    const h = (s?: string) => ({
      "x-github-event": "push",
      ...(s === undefined ? {} : { "x-hub-signature-256": s }),
    });
    expect(verifyGitWebhook(h(forged), body, SECRET)).toEqual({
      ok: false,
      reason: "BAD_SIGNATURE",
      provider: "github",
    });
    expect(verifyGitWebhook(h(sig), changed, SECRET)).toMatchObject({ ok: false, reason: "BAD_SIGNATURE" });
    expect(verifyGitWebhook(h(sig), body, "other-secret")).toMatchObject({
      ok: false,
      reason: "BAD_SIGNATURE",
    });
    expect(verifyGitWebhook(h(), body, SECRET)).toMatchObject({ ok: false, reason: "MISSING_SIGNATURE" });
    expect(verifyGitWebhook(h("sha256=abc"), body, SECRET)).toMatchObject({
      ok: false,
      reason: "BAD_SIGNATURE",
    });
    expect(verifyGitWebhook(h(sig.replace("sha256=", "sha1=")), body, SECRET)).toMatchObject({ ok: false });
    expect(verifyGitHubSignature(body, sig, "")).toBe(false);
  });
});

describe("Gitea push webhooks (X-Gitea-Signature)", () => {
  it("accepts a valid signature, even with GitHub-compatible headers present", async () => {
    const hex = await opensslHmac(body, SECRET);
    expect(verifyGiteaSignature(body, hex, SECRET)).toBe(true);
    const headers = { "x-gitea-event": "push", "x-github-event": "push", "x-gitea-signature": hex };
    expect(detectProvider(headers)).toBe("gitea");
    expect(verifyGitWebhook(headers, body, SECRET)).toMatchObject({
      ok: true,
      provider: "gitea",
      after: AFTER,
    });
  });

  it("rejects a forged one", async () => {
    const forged = await opensslHmac(body, "not-the-secret");
    const headers = { "x-gitea-event": "push", "x-gitea-signature": forged };
    expect(verifyGitWebhook(headers, body, SECRET)).toEqual({
      ok: false,
      reason: "BAD_SIGNATURE",
      provider: "gitea",
    });
  });
});

describe("GitLab push webhooks (X-Gitlab-Token)", () => {
  it("accepts the shared token and normalises the event name", () => {
    const headers = { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET };
    expect(verifyGitLabToken(SECRET, SECRET)).toBe(true);
    expect(verifyGitWebhook(headers, body, SECRET)).toEqual({
      ok: true,
      provider: "gitlab",
      event: "push",
      ref: "refs/heads/main",
      after: AFTER,
    });
  });

  it("rejects a wrong token of any length, and an empty configured secret", () => {
    for (const token of ["", "w", SECRET + "x", SECRET.slice(0, -1), SECRET.toUpperCase()]) {
      expect(
        verifyGitWebhook({ "x-gitlab-event": "Push Hook", "x-gitlab-token": token }, body, SECRET),
      ).toMatchObject({
        ok: false,
        reason: "BAD_SIGNATURE",
      });
    }
    expect(verifyGitLabToken("", "")).toBe(false);
  });
});

describe("every provider", () => {
  it("rejects a request from no known provider", () => {
    expect(verifyGitWebhook({ "content-type": "application/json" }, body, SECRET)).toEqual({
      ok: false,
      reason: "UNKNOWN_PROVIDER",
    });
  });

  it("rejects a body that is too large before computing anything", () => {
    const huge = Buffer.alloc(1024 * 1024 + 1, 0x20);
    expect(verifyGitWebhook({ "x-github-event": "push" }, huge, SECRET)).toEqual({
      ok: false,
      reason: "TOO_LARGE",
    });
  });

  it("rejects a validly signed body that is not a JSON object, and ignores a malformed ref", async () => {
    const notJson = Buffer.from("[1,2");
    const sig = "sha256=" + (await opensslHmac(notJson, SECRET));
    expect(
      verifyGitWebhook({ "x-github-event": "push", "x-hub-signature-256": sig }, notJson, SECRET),
    ).toMatchObject({
      ok: false,
      reason: "BAD_PAYLOAD",
    });
    const odd = Buffer.from(JSON.stringify({ ref: "main; rm -rf /", after: "HEAD" }));
    const oddSig = "sha256=" + (await opensslHmac(odd, SECRET));
    expect(
      verifyGitWebhook({ "x-github-event": "push", "x-hub-signature-256": oddSig }, odd, SECRET),
    ).toEqual({
      ok: true,
      provider: "github",
      event: "push",
    });
  });

  it("refuses a header sent twice rather than picking one", async () => {
    const sig = "sha256=" + (await opensslHmac(body, SECRET));
    expect(
      verifyGitWebhook({ "x-github-event": "push", "x-hub-signature-256": [sig, sig] }, body, SECRET),
    ).toMatchObject({
      ok: false,
      reason: "MISSING_SIGNATURE",
    });
  });

  it("compares in constant time over equal-length inputs, without throwing on different lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "a")).toBe(false);
    expect(constantTimeEqual(Buffer.from([1, 2]), Buffer.from([1, 2]))).toBe(true);
  });
});
