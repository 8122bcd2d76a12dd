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

  const queryCases: [string, string][] = [
    [
      "https://git.example.com/x.git?access_token=SECRET",
      "https://git.example.com/x.git?access_token=[REDACTED]",
    ],
    [
      "https://git.example.com/x.git?private_token=SECRET&ref=main#token=SECRET",
      "https://git.example.com/x.git?private_token=[REDACTED]&ref=[REDACTED]#token=[REDACTED]",
    ],
    [
      "https://bucket.s3.amazonaws.com/c.tgz?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=SECRET",
      "https://bucket.s3.amazonaws.com/c.tgz?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]",
    ],
    [
      "https://h/x?X-Goog-Signature=SECRET;sig=SECRET",
      "https://h/x?X-Goog-Signature=[REDACTED];sig=[REDACTED]",
    ],
    ["https://h/x?SECRET", "https://h/x?[REDACTED]"],
    ["https://h/x?a=1&&password=SECRET", "https://h/x?a=[REDACTED]&&password=[REDACTED]"],
    ["https://bob:pa?ss@h/x?token=SECRET", "https://[REDACTED]@h/x?token=[REDACTED]"],
    ["ssh://git@h/x?token=SECRET", "ssh://git@h/x?token=[REDACTED]"],
    ["fetch of https://h/x?token=SECRET failed", "fetch of https://h/x?token=[REDACTED]"],
  ];
  for (const [url, want] of queryCases) {
    it(`redacts the query values of ${JSON.stringify(url)}`, () => {
      const got = redactUrl(url);
      expect(got).toBe(want);
      expect(got).not.toContain("SECRET");
      expect(got).not.toContain("pa?ss");
    });
  }

  it("leaves text without a scheme as written, query marks and all", () => {
    for (const text of ["^v[0-9]+?$", "a?b=c", "git@h:x?y=z"]) expect(redactUrl(text)).toBe(text);
  });

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

describe("credentials in a URL's query", () => {
  it("are refused by parseRepoUrl without echoing them, as user info is", () => {
    for (const url of [
      "https://git.example.com/x.git?access_token=SECRET",
      "https://git.example.com/x.git?private_token=SECRET",
      "https://git.example.com/x.git?token=SECRET",
      "https://git.example.com/x.git?password=SECRET",
      "https://git.example.com/x.git?sig=SECRET&sv=2022",
      "https://git.example.com/x.git?X-Amz-Signature=SECRET",
      "https://git.example.com/x.git?X-Goog-Signature=SECRET",
      "https://git.example.com/x.git?api_key=SECRET",
      "https://git.example.com/x.git#access_token=SECRET",
      "http://127.0.0.1:8080/x.git?Token=SECRET",
      "ssh://git@git.example.com/x?auth=SECRET",
    ]) {
      let err: unknown;
      try {
        parseRepoUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err instanceof SourceError && err.code, url).toBe("CREDENTIALS_IN_URL");
      expect((err as Error).message).toMatch(/query parameter/);
      expect((err as Error).message).not.toContain("SECRET");
    }
  });

  it("are not seen in parameters whose names carry none, which are only redacted", () => {
    for (const url of ["https://git.example.com/x.git?ref=main", "https://git.example.com/x.git?a=1#top"]) {
      expect(parseRepoUrl(url).transport).toBe("https");
    }
  });
});
