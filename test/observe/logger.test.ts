import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observe/logger.js";

function collect() {
  const lines: string[] = [];
  return {
    lines,
    stream: {
      write: (s: string) => {
        lines.push(s);
      },
    },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("createLogger", () => {
  it("writes JSON lines with the level by name, the logger's name and the message", () => {
    const out = collect();
    const log = createLogger({ destination: out.stream, name: "gitward", level: "debug" });
    log.debug({ application: "gitward-system/shop" }, "reconcile started");
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]!.endsWith("\n")).toBe(true);
    expect(out.records()[0]).toMatchObject({
      level: "debug",
      name: "gitward",
      application: "gitward-system/shop",
      msg: "reconcile started",
    });
  });

  it("drops records below the level", () => {
    const out = collect();
    const log = createLogger({ destination: out.stream, level: "warn" });
    log.info("not written");
    log.warn("written");
    expect(out.records().map((r) => r["msg"])).toEqual(["written"]);
  });

  it("censors credentials at the top level and one or two objects deep", () => {
    const out = collect();
    const log = createLogger({ destination: out.stream });
    const secrets = {
      token: "S1-top-level-token",
      password: "S2-nested-password",
      authorization: "Bearer S3-request-header",
      hmacSecret: "S4-two-deep",
      url: "https://hooks.slack.example/services/S5-sink-url",
      privateKey: "S6-private-key",
      identity: "AGE-SECRET-KEY-S7",
      gitlab: "S8-gitlab-token",
    };
    log.info(
      {
        token: secrets.token,
        source: { repository: "https://git.example/shop.git", password: secrets.password },
        req: {
          method: "POST",
          headers: { authorization: secrets.authorization, "x-gitlab-token": secrets.gitlab },
        },
        config: { notify: { hmacSecret: secrets.hmacSecret }, sink: { name: "ops", url: secrets.url } },
        keys: { privateKey: secrets.privateKey },
        sops: { identity: secrets.identity },
      },
      "loaded",
    );
    const line = out.lines.join("");
    for (const s of Object.values(secrets)) expect(line).not.toContain(s);
    expect(line).toContain("[Redacted]");
    const r = out.records()[0]!;
    // What is not a credential is still there.
    expect(r).toMatchObject({
      token: "[Redacted]",
      source: { repository: "https://git.example/shop.git", password: "[Redacted]" },
      req: { method: "POST", headers: { authorization: "[Redacted]", "x-gitlab-token": "[Redacted]" } },
      config: { notify: { hmacSecret: "[Redacted]" }, sink: { name: "ops", url: "[Redacted]" } },
    });
  });

  it("censors credentials that ride on an error's properties", () => {
    const out = collect();
    const log = createLogger({ destination: out.stream });
    const err = Object.assign(new Error("registry said 401"), { token: "S9-error-token" });
    log.error({ err }, "pull failed");
    const line = out.lines.join("");
    expect(line).not.toContain("S9-error-token");
    expect(line).toContain("registry said 401");
  });
});
