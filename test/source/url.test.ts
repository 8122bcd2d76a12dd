// Repository URL rules: which transports are accepted, and that refused URLs never echo credentials.
import { describe, expect, it } from "vitest";
import { SourceError } from "../../src/source/errors.js";
import { parseRepoUrl, redactUrl } from "../../src/source/url.js";

function codeOf(url: string): string {
  try {
    return parseRepoUrl(url).transport;
  } catch (err) {
    return err instanceof SourceError ? err.code : "threw";
  }
}

describe("parseRepoUrl", () => {
  it("accepts https, ssh, scp-style, local paths and file://; plain text only on loopback", () => {
    expect(codeOf("https://git.example.com/ops/config.git")).toBe("https");
    expect(codeOf("ssh://git@git.example.com/ops/config.git")).toBe("ssh");
    expect(codeOf("git@git.example.com:ops/config.git")).toBe("ssh");
    expect(codeOf("/srv/git/config")).toBe("local");
    expect(codeOf("./config")).toBe("local");
    expect(codeOf("file:///srv/git/config")).toBe("local");
    expect(codeOf("http://127.0.0.1:8080/config")).toBe("http");
    expect(codeOf("git://127.0.0.1:9418/config")).toBe("git");
    expect(codeOf("http://git.example.com/config")).toBe("BAD_URL");
    expect(codeOf("git://git.example.com/config")).toBe("BAD_URL");
  });

  it("refuses option-like URLs, remote helpers and unknown schemes", () => {
    expect(codeOf("-uupload-pack=touch")).toBe("BAD_URL");
    expect(codeOf("ext::sh -c id")).toBe("BAD_URL");
    expect(codeOf("fd::3")).toBe("BAD_URL");
    expect(codeOf("ftp://example.com/x")).toBe("BAD_URL");
    expect(codeOf("")).toBe("BAD_URL");
    expect(codeOf("https://example.com/x\n")).toBe("BAD_URL");
  });

  it("refuses credentials in the URL and redacts them from the message", () => {
    for (const url of [
      "https://user:hunter2@example.com/x.git",
      "https://tok_abcdef@example.com/x.git",
      "ssh://git:hunter2@example.com/x",
    ]) {
      let message = "";
      try {
        parseRepoUrl(url);
      } catch (err) {
        expect(err instanceof SourceError && err.code).toBe("CREDENTIALS_IN_URL");
        message = (err as Error).message;
      }
      expect(message).not.toContain("hunter2");
      expect(message).not.toContain("tok_abcdef");
    }
    expect(redactUrl("https://a:b@h/x")).toBe("https://[REDACTED]@h/x");
  });
});
