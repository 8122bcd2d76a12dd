// bench/vulns: (1) version order: every pair of this machine's installed Debian versions (or --sample N of
// them) compared by gitward and by `dpkg --compare-versions`, with apk-tools' own version.data vectors;
// (2) findings: the labelled set of real advisories (test/vuln/fixtures/findings) over real package
// databases, recall and false positives, with the table of every labelled advisory printed to stderr.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { compareApk } from "../src/vuln/version/apk.js";
import { compareDeb } from "../src/vuln/version/dpkg.js";
import { matchInventory } from "../src/vuln/match.js";
import { disagreements, installedDebianVersions } from "../test/support/dpkg-versions.js";
import {
  FINDINGS_FIXTURE,
  importFixture,
  readFixtureInventory,
  score,
  type Label,
} from "../test/support/real-inventory.js";
import { repoRoot } from "../test/support/tools.js";

function option(args: readonly string[], name: string): number | undefined {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 1 ? v : undefined;
}

async function versionOrder(args: readonly string[]): Promise<Record<string, unknown>> {
  const all = installedDebianVersions();
  const n = option(args, "--sample") ?? all.length;
  const step = all.length / Math.min(n, all.length);
  const sample = Array.from(
    { length: Math.min(n, all.length) },
    (_, i) => all[Math.floor(i * step)] as string,
  );
  const r = await disagreements(sample, compareDeb);
  // gitward's own time for the same pairs (dpkg's includes a process per comparison, as the CLI peer must).
  const t0 = performance.now();
  for (let i = 0; i < sample.length; i++)
    for (let j = i + 1; j < sample.length; j++) compareDeb(sample[i] as string, sample[j] as string);
  const oursMs = performance.now() - t0;
  const data = await readFile(path.join(repoRoot, "test", "vuln", "fixtures", "apk-version.data"), "utf8");
  let apkVectors = 0;
  const apkWrong: string[] = [];
  for (const raw of data.split("\n")) {
    const [a, op, b] = (raw.split("#")[0] ?? "").trim().split(/\s+/u);
    if (a === undefined || b === undefined || (op !== "<" && op !== "=" && op !== ">")) continue;
    apkVectors++;
    const want = op === "<" ? -1 : op === "=" ? 0 : 1;
    if (compareApk(a, b) !== want || compareApk(b, a) !== -want) apkWrong.push(`${a} ${op} ${b}`);
  }
  return {
    dpkg: {
      installedVersions: all.length,
      sampled: sample.length,
      pairs: r.pairs,
      disagreements: r.disagree.length,
      firstDisagreements: r.disagree.slice(0, 10),
      gitwardMs: Math.round(oursMs * 10) / 10,
      dpkgMs: Math.round(r.dpkgMs),
      ratio: Math.round(r.dpkgMs / Math.max(oursMs, 0.001)),
    },
    apk: { vectors: apkVectors, disagreements: apkWrong.length, wrong: apkWrong.slice(0, 10) },
  };
}

async function findings(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(tmpdir(), "gitward-bench-vulns-"));
  try {
    const db = await importFixture(dir);
    const labels = JSON.parse(
      await readFile(path.join(FINDINGS_FIXTURE, "labels.json"), "utf8"),
    ) as (Label & {
      fixed?: string | null;
    })[];
    const inv = readFixtureInventory(FINDINGS_FIXTURE);
    const t0 = performance.now();
    const { findings: found } = matchInventory(inv, db);
    const matchMs = performance.now() - t0;
    const s = score(found, labels);
    const rows = labels.map((l) => {
      const hits = found.filter(
        (f) =>
          f.id === l.id &&
          (l.ecosystem === "deb"
            ? (f.package.source ?? f.package.name) === l.name
            : f.package.version === l.version),
      );
      return {
        advisory: l.id,
        ecosystem: l.ecosystem,
        package: l.name,
        installed:
          l.version ?? ([...new Set(hits.map((h) => h.package.version))].join(" ") || "(see dpkg-status)"),
        fixed: hits[0]?.fixedVersion ?? l.fixed ?? "",
        expected: l.affected ? "affected" : "not affected",
        gitward: hits.length > 0 ? `affected (${hits.length} pkg)` : "not affected",
        ok: hits.length > 0 === l.affected,
      };
    });
    process.stderr.write(
      rows
        .map(
          (r) =>
            `${r.ok ? "ok  " : "MISS"} ${r.advisory.padEnd(24)} ${r.ecosystem.padEnd(4)} ${r.package.padEnd(16)} ${r.installed.slice(0, 28).padEnd(28)} fixed ${r.fixed.padEnd(22)} ${r.expected.padEnd(12)} gitward: ${r.gitward}`,
        )
        .join("\n") + "\n",
    );
    return {
      advisories: new Set(labels.map((l) => l.id)).size,
      labelled: labels.length,
      packages: inv.packages.length,
      expectedFindings: s.expected,
      found: s.found,
      recall: s.expected === 0 ? 1 : s.found / s.expected,
      falsePositives: s.falsePositives.length,
      trueNegatives: s.trueNegatives,
      missed: s.missed,
      matchMs: Math.round(matchMs * 100) / 100,
      table: rows,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(args: readonly string[]): Promise<unknown> {
  const f = await findings();
  const v = await versionOrder(args);
  return { bench: "vulns", findings: f, versionOrder: v };
}
