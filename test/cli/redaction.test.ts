// Credentials written into a repository URL never reach the CLI's output, whichever way the URL is
// malformed: the built CLI is run where it prints URLs (--repo of `verify`, source.url of a config file).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINIMAL, mutate } from "../config/example.js";
import { runCli } from "../support/tools.js";

const TRUST = `apiVersion: gitward.dev/v1alpha1
kind: TrustPolicy
metadata: { name: p }
spec:
  commits:
    signers:
      - name: platform
        ssh: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b"]
        paths: ["**"]
`;

/** URL, and the secret in it that must not be printed (raw and percent-decoded). */
const URLS: [string, string][] = [
  ["https://bob:pa/ss@git.invalid/x.git", "pa/ss"],
  ["https://bob:1234/pa/ss@git.invalid/x.git", "1234/pa"],
  ["https://to/ken@git.invalid/x.git", "to/ken"],
  ["https://bob:p@ss@git.invalid/x.git", "p@ss"],
  ["https://bob:p:ss@git.invalid/x.git", "p:ss"],
  ["https://bob:pa%2Fss@git.invalid/x.git", "pa%2Fss"],
  ["https://tok_abcdef@git.invalid/x.git", "tok_abcdef"],
  ["https://bob:pa ss@git.invalid/x.git", "pa ss"],
  ["ssh://git:pa/ss@git.invalid/x", "pa/ss"],
  ["git:pa/ss@git.invalid:ops/x.git", "pa/ss"],
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-redaction-"));
  await writeFile(path.join(dir, "trust.yaml"), TRUST);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectNoSecret(out: string, secret: string): void {
  expect(out).not.toContain(secret);
  expect(out).not.toContain(decodeURIComponent(secret));
  expect(out).not.toContain(encodeURIComponent(secret));
}

describe("the CLI never prints a credential from a URL", () => {
  it("verify commits --repo: refused, redacted", async () => {
    // The paths through the code: unparsable, parsed as host:port, parsed as host/path, ssh, scp-like (the
    // other spellings are covered in test/source/url.test.ts; each CLI start costs seconds).
    const some = [0, 1, 2, 8, 9].map((i) => URLS[i]!);
    const runs = await Promise.all(
      some.map(([url]) =>
        runCli(["verify", "commits", "--repo", url, "--trust", path.join(dir, "trust.yaml")]),
      ),
    );
    runs.forEach((r, i) => {
      const [url, secret] = some[i]!;
      expect(r.code, url).toBe(2);
      expect(r.stderr, url).toMatch(/--repo: (CREDENTIALS_IN_URL|BAD_URL): repository URL .*\[REDACTED\]@/);
      expectNoSecret(r.stdout + r.stderr, secret);
    });
  });

  it("status --config: every source.url refused, none echoed", async () => {
    const file = path.join(dir, "gitward.yaml");
    const [policy, app] = MINIMAL.split("\n---\n") as [string, string];
    const apps = URLS.map(([url], i) =>
      mutate(
        '"https://git.example.com/config.git"',
        JSON.stringify(url),
        app.replace("name: app,", `name: app${i},`),
      ),
    );
    await writeFile(file, [policy, ...apps].join("\n---\n"));
    const r = await runCli(["status", "--config", file]);
    expect(r.code).toBe(2);
    // One problem per Application, each at its url.
    expect(
      r.stderr.match(/:[0-9]+:[0-9]+: (not a valid URL|the URL contains credentials|the string)/g),
    ).toHaveLength(URLS.length);
    for (const [, secret] of URLS) expectNoSecret(r.stdout + r.stderr, secret);
  });
});
