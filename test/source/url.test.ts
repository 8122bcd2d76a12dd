// Repository URL rules: which transports are accepted, and that refused URLs never echo credentials.
import { describe, expect, it } from "vitest";
import { SourceError } from "../../src/source/errors.js";
import { parseRepoUrl, redactUrl } from "../../src/source/url.js";

/** Secrets written into URLs below; none may survive redaction, raw or percent-decoded. */
const SECRETS = ["pa/ss", "pa%2Fss", "p@ss", "p:ss", "p%40ss", "s3cr3t", "tok_abcdef", "to/ken", "hunter2"];

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

describe("redactUrl", () => {
  const cases: [string, string][] = [
    ["https://bob:pa/ss@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://bob:pa%2Fss@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://bob:p@ss@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://bob:p:ss@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://bob:p%40ss@git.example.com:8443/x.git", "https://[REDACTED]@git.example.com:8443/x.git"],
    ["https://bob:s3cr3t?#\\@git.example.com/x", "https://[REDACTED]@git.example.com/x"],
    ["https://bob@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://tok_abcdef@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://to/ken@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["https://:s3cr3t@git.example.com/x.git", "https://[REDACTED]@git.example.com/x.git"],
    ["ssh://git:hunter2@git.example.com/x", "ssh://[REDACTED]@git.example.com/x"],
    ["ssh://git:pa/ss@git.example.com/x", "ssh://[REDACTED]@git.example.com/x"],
    ["git:s3cr3t@git.example.com:ops/x.git", "[REDACTED]@git.example.com:ops/x.git"],
    ["git:pa/ss@git.example.com:ops/x.git", "[REDACTED]@git.example.com:ops/x.git"],
    // Unparsable: anything between "//" and the last "@" goes, wherever the "//" is.
    ["https://bob:s3cr3t @git example", "https://[REDACTED]@git example"],
    ["see https://bob:pa/ss@host/x", "see https://[REDACTED]@host/x"],
    ["https://bob:hunter2@[::1", "https://[REDACTED]@[::1"],
  ];
  for (const [url, want] of cases) {
    it(`redacts ${JSON.stringify(url)}`, () => {
      const got = redactUrl(url);
      expect(got).toBe(want);
      for (const s of SECRETS) {
        expect(got).not.toContain(s);
        expect(got).not.toContain(decodeURIComponent(s));
      }
    });
  }

  it("keeps URLs without credentials, and a bare ssh user, as written", () => {
    for (const url of [
      "https://git.example.com/ops/config.git",
      "ssh://git@git.example.com/ops/config.git",
      "ssh://git@git.example.com:2222/ops/config.git",
      "git@git.example.com:ops/config.git",
      "/srv/git/config",
      "file:///srv/git/config",
      "http://127.0.0.1:8080/config",
    ]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it("refuses a URL whose password holds a slash without echoing it, wherever git would read a host", () => {
    for (const url of [
      "https://bob:pa/ss@git.example.com/x.git",
      "https://bob:1234/pa/ss@git.example.com/x.git", // parses: host "bob", port 1234
      "https://to/ken@git.example.com/x.git", // parses: host "to", path "/ken@..."
      "ssh://git:pa/ss@git.example.com/x",
      "https://bob:p%40ss@git.example.com/x.git",
    ]) {
      let message = "";
      try {
        parseRepoUrl(url);
      } catch (err) {
        expect(err instanceof SourceError ? err.code : "").toMatch(/^(CREDENTIALS_IN_URL|BAD_URL)$/);
        message = (err as Error).message;
      }
      expect(message).toMatch(/\[REDACTED\]@/);
      for (const s of ["pa/ss", "1234/pa", "to/ken", "p%40ss", "p@ss"]) expect(message).not.toContain(s);
    }
  });
});
