import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditCi, auditFiles } from "../../src/ciaudit/audit.js";
import { matchStar, parseCiText } from "../../src/ciaudit/parse.js";
import { parsed } from "./support.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "gitward-ciaudit-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
  await writeFile(path.join(dir, rel), text);
}

const UNPINNED =
  "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: some/action@v1\n";

describe("discovery and parsing", () => {
  it("reads workflows (.yml and .yaml), composite actions and .gitlab-ci.yml with local includes", async () => {
    const root = path.join(dir, "repo");
    await write("repo/.github/workflows/a.yml", UNPINNED);
    await write("repo/.github/workflows/b.yaml", UNPINNED);
    await write("repo/.github/workflows/notes.txt", "not yaml");
    await write(
      "repo/.github/actions/setup/action.yml",
      "runs:\n  using: composite\n  steps:\n    - uses: other/action@main\n      shell: bash\n",
    );
    await write(
      "repo/.gitlab-ci.yml",
      "include:\n  - local: /ci/build.yml\n  - 'ci/t*.yml'\n  - remote: https://example.com/x.yml\n",
    );
    await write("repo/ci/build.yml", "build:\n  image: node:22\n  script: [echo]\n");
    await write("repo/ci/test.yml", "test:\n  image: node:22\n  script: [echo]\n");
    const r = await auditCi(root);
    expect(r.files).toEqual([
      { file: ".github/workflows/a.yml", kind: "github-workflow" },
      { file: ".github/workflows/b.yaml", kind: "github-workflow" },
      { file: ".github/actions/setup/action.yml", kind: "github-action" },
      { file: ".gitlab-ci.yml", kind: "gitlab-ci" },
      { file: "ci/build.yml", kind: "gitlab-ci" },
      { file: "ci/test.yml", kind: "gitlab-ci" },
    ]);
    expect(r.errors).toEqual([]);
    // Line and column of the offending value, file relative to the root.
    const a = r.findings.find(
      (f) => f.file === ".github/workflows/a.yml" && f.ruleId === "ci/unpinned-action",
    );
    expect(a).toMatchObject({ line: 7, column: 15, severity: "medium" });
    const img = r.findings.find((f) => f.file === "ci/test.yml" && f.ruleId === "ci/unpinned-image");
    expect(img).toMatchObject({ line: 2, column: 10 });
  });

  it("refuses includes that leave the repository, directly or through a symlink, and missing ones", async () => {
    await write("outside/x.yml", "evil:\n  script: [echo]\n");
    await write(
      "esc/.gitlab-ci.yml",
      "include:\n  - local: ../outside/x.yml\n  - local: link.yml\n  - local: missing.yml\n",
    );
    await symlink(path.join(dir, "outside", "x.yml"), path.join(dir, "esc", "link.yml"));
    const r = await auditCi(path.join(dir, "esc"));
    expect(r.files.map((f) => f.file)).toEqual([".gitlab-ci.yml"]);
    expect(r.errors.map((e) => e.code)).toEqual(["OUTSIDE_REPO", "OUTSIDE_REPO", "NOT_FOUND"]);
    expect(r.errors[0]?.message).toContain(".gitlab-ci.yml:2");
  });

  it("reports unparseable files, duplicate keys and alias bombs instead of skipping them", async () => {
    await write("bad/.github/workflows/syntax.yml", "on: push\njobs: [\n");
    await write("bad/.github/workflows/dup.yml", "on: push\non: pull_request\njobs: {}\n");
    const bomb =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    await write("bad/.github/workflows/bomb.yml", bomb);
    const r = await auditCi(path.join(dir, "bad"));
    expect(r.files).toEqual([]);
    expect(r.errors.map((e) => [e.file, e.code]).sort()).toEqual([
      [".github/workflows/bomb.yml", "ALIAS_LIMIT"],
      [".github/workflows/dup.yml", "SYNTAX"],
      [".github/workflows/syntax.yml", "SYNTAX"],
    ]);
    expect(parseCiText("x".repeat(1024 * 1024 + 1), "big.yml", "gitlab-ci")).toMatchObject({
      code: "FILE_TOO_LARGE",
    });
  });

  it("classifies the files of a plain folder by content", async () => {
    await write("plain/w.yml", UNPINNED);
    await write("plain/g.yml", "job:\n  script: [echo]\n");
    await write("plain/act.yml", "runs:\n  using: composite\n  steps: []\n");
    const r = await auditCi(path.join(dir, "plain"));
    expect(Object.fromEntries(r.files.map((f) => [f.file, f.kind]))).toEqual({
      "act.yml": "github-action",
      "g.yml": "gitlab-ci",
      "w.yml": "github-workflow",
    });
  });

  it("matches * globs linearly and exactly", () => {
    expect(matchStar("t*.yml", "test.yml")).toBe(true);
    expect(matchStar("t*.yml", "test.yaml")).toBe(false);
    expect(matchStar("*a*b*", "xaxbx")).toBe(true);
    expect(matchStar("*a*b*", "xbxax")).toBe(false);
    expect(matchStar("ab*ba", "aba")).toBe(false);
    const long = "a".repeat(100_000);
    const t = performance.now();
    expect(matchStar("*a*a*a*a*a*b", long)).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe("suppressions", () => {
  const wf = (line: string): string =>
    `on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n${line}\n`;

  it("a trailing comment with a reason suppresses its own line, and is listed", () => {
    const r = auditFiles([
      parsed(wf("      - uses: some/action@v1 # gitward:ignore ci/unpinned-action vendored, reviewed")),
    ]);
    expect(r.findings.filter((f) => f.ruleId === "ci/unpinned-action")).toEqual([]);
    expect(r.suppressed).toEqual([
      { ruleId: "ci/unpinned-action", file: "wf.yml", line: 7, reason: "vendored, reviewed" },
    ]);
  });

  it("a comment alone on a line covers the next non-comment line only", () => {
    const text = wf(
      "      # gitward:ignore ci/unpinned-action reviewed\n      #\n      - uses: some/action@v1\n      - uses: other/action@v1",
    );
    const r = auditFiles([parsed(text)]);
    expect(r.findings.filter((f) => f.ruleId === "ci/unpinned-action").map((f) => f.line)).toEqual([10]);
    expect(r.suppressed.map((s) => s.line)).toEqual([9]);
  });

  it("without a reason, for another rule, or for an unknown rule it suppresses nothing and is reported", () => {
    for (const comment of [
      "# gitward:ignore ci/unpinned-action",
      "# gitward:ignore ci/secrets-inherit fine",
      "# gitward:ignore ci/nope because",
      "# gitward:ignore",
    ]) {
      const r = auditFiles([parsed(wf(`      - uses: some/action@v1 ${comment}`))]);
      expect(r.findings.filter((f) => f.ruleId === "ci/unpinned-action")).toHaveLength(1);
      expect(r.suppressed).toEqual([]);
      if (!comment.includes("secrets-inherit"))
        expect(r.findings.some((f) => f.ruleId === "ci/bad-suppression")).toBe(true);
    }
  });
});
