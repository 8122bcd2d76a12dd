// The secret scanner on hostile input: linear in line length (it was quadratic: twenty 10,000-character
// lines took 11 s), long lines scanned in overlapping windows rather than skipped, a 50 MB file of long
// lines in under 2 s, and allowlist patterns in RE2 (`re:^(a+)+$` made `gitward check` run until killed).
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  scanSecrets,
  scanText,
  trailingAssignment,
  WINDOW,
  WINDOW_OVERLAP,
} from "../../src/policy/packs/secrets.js";
import { fastest } from "../support/timing.js";

// Made up in the issuer's format, assembled at run time so this file holds none.
const GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gitward-scan-hostile-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("secret scanner: linear time", () => {
  // Each shape made one of the old patterns walk the rest of the line from every position.
  const hostile: Record<string, string> = {
    "one long word": "a".repeat(100_000),
    "JWT starts": "-eyJ".repeat(25_000),
    "URL scheme starts": "a.".repeat(50_000),
    "separators in a value": "a=" + "=".repeat(100_000) + "!",
    "AWS key names": "aws key ".repeat(12_500),
    "name characters": "x-".repeat(50_000) + ": ",
  };
  for (const [what, line] of Object.entries(hostile)) {
    it(`${what}: a 10^5-character line is scanned in under 50 ms`, () => {
      const { value, ms } = fastest(() => scanText(line, "x.txt"));
      expect(value).toEqual([]);
      expect(ms).toBeLessThan(50);
    });
  }

  it("a 50 MB file of long lines is scanned in under 2 s, and the one token in it is found", async () => {
    const words = "lorem ipsum dolor sit amet 42 consectetur adipiscing elit, sed do eiusmod tempor; ";
    const line = words.repeat(Math.ceil(100_000 / words.length)).slice(0, 100_000);
    const lines = Array.from({ length: 500 }, () => line);
    // Deep inside one long line, past the first window.
    lines[321] = line.slice(0, 70_000) + ` ${GITHUB} ` + line.slice(70_000);
    const file = path.join(dir, "big.txt");
    await writeFile(file, lines.join("\n"));
    const t = performance.now();
    const found = await scanSecrets(dir, { maxFileBytes: 64 * 1024 * 1024 });
    const ms = performance.now() - t;
    expect(found.map((f) => [f.ruleId, f.origin])).toEqual([
      ["secrets/token", { file: "big.txt", line: 322 }],
    ]);
    expect(ms).toBeLessThan(2000);
    await rm(file);
  });

  it("a long line is scanned in overlapping windows: a token across a window edge is found", () => {
    const step = WINDOW - WINDOW_OVERLAP;
    for (const at of [step - 10, WINDOW - 10, 3 * step + 5]) {
      const line = "x ".repeat(WINDOW * 2).slice(0, at) + ` ${GITHUB} ` + " y".repeat(WINDOW);
      expect(
        scanText(line, "min.js").map((f) => f.message),
        String(at),
      ).toEqual(["min.js:1 contains a GitHub token"]);
    }
    expect(scanText("x ".repeat(WINDOW * 2), "min.js")).toEqual([]);
  });

  it("reads a trailing assignment as the old pattern did, on a thousand random lines", () => {
    const OLD = /([A-Za-z0-9_.-]*)\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.]{16,})["']?\s*$/;
    const alphabet = "aZ9_.-+/=: \t\"'x";
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 1000; i++) {
      const len = 10 + rand(40);
      let line = "";
      for (let k = 0; k < len; k++) line += alphabet.charAt(rand(alphabet.length));
      if (i % 3 === 0)
        line = `tok${"=a".repeat(rand(3))}: ${"q8Zt3Lw9Xv2Rk7Pm4".slice(rand(5))}${line.slice(0, rand(4))}`;
      const m = OLD.exec(line);
      const want = m === null ? undefined : { name: m[1], value: m[2] };
      expect(trailingAssignment(line), JSON.stringify(line)).toEqual(want);
    }
  });
});

describe("secret scanner: allowlist patterns from the repository", () => {
  it("re:^(a+)+$ against a 10^5-character value returns at once, and still allows what it matches", async () => {
    const repo = path.join(dir, "allow");
    await mkdir(path.join(repo, ".gitward"), { recursive: true });
    await writeFile(path.join(repo, ".gitward/secrets-allowlist"), "re:^(a+)+$\n");
    const value = "a".repeat(100_000) + "1";
    await writeFile(path.join(repo, "cm.env"), `token: ${value}\napi_token: aaaaaaaaaaaaaaaaaaaaaaaa\n`);
    const t = performance.now();
    const found = await scanSecrets(repo);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(found).toEqual([]);
    // The same pattern still allows what it matches: without it the high-entropy value is a finding.
    await writeFile(path.join(repo, "cm.env"), 'api_token: "q8Zt3Lw9Xv2Rk7Pm4Hn6Bj1"\n');
    expect((await scanSecrets(repo)).map((f) => f.ruleId)).toEqual(["secrets/high-entropy"]);
    await writeFile(path.join(repo, ".gitward/secrets-allowlist"), "re:^(q8Zt|x)+3Lw9\n");
    expect(await scanSecrets(repo)).toEqual([]);
  });

  it("a backreference or lookaround line is refused as a finding naming its line; it allows nothing", async () => {
    const repo = path.join(dir, "refuse");
    await mkdir(path.join(repo, ".gitward"), { recursive: true });
    await writeFile(path.join(repo, ".gitward/secrets-allowlist"), "# x\nre:(ghp)_\\1\nre:ghp_(?=a1)\n");
    await writeFile(path.join(repo, "app.env"), `GITHUB=${GITHUB}\n`);
    const found = await scanSecrets(repo);
    expect(found.map((f) => [f.ruleId, f.origin.line])).toEqual([
      ["secrets/invalid-allowlist", 2],
      ["secrets/invalid-allowlist", 3],
      ["secrets/token", 1],
    ]);
    expect(found[0]?.message).toMatch(/^\.gitward\/secrets-allowlist:2 .*backtracking/);
  });

  it("an allowlist glob is matched without backtracking", async () => {
    const repo = path.join(dir, "globs");
    const long = "-".repeat(200);
    await mkdir(path.join(repo, ".gitward"), { recursive: true });
    await mkdir(path.join(repo, "apps/x"), { recursive: true });
    await writeFile(path.join(repo, ".gitward/secrets-allowlist"), "apps/*/*-*-*-*.yaml\n");
    await writeFile(path.join(repo, `apps/x/${long}.yml`), `GITHUB=${GITHUB}\n`);
    await writeFile(path.join(repo, "apps/x/a-b-c-d.yaml"), `GITHUB=${GITHUB}\n`);
    const t = performance.now();
    const found = await scanSecrets(repo);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(found.map((f) => f.origin.file)).toEqual([`apps/x/${long}.yml`]);
  });
});
