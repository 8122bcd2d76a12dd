// bench/audit-ci: `gitward audit ci` on 1,000 workflow files (variants of the real public workflows in
// test/fixtures/ci-audit/files, each copy marked with its own comments, so no two files are the same text), against the peers actionlint and zizmor on the same folder in the same run when they are
// installed (.tools/bin or PATH); a peer that is not installed is reported "unavailable", never estimated.
// Target: gitward < 2 s. Args: `files=N` to shrink it while developing, `rounds=R` (default 3).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { auditCi } from "../src/ciaudit/audit.js";

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/bench at run time, bench/ when read as source: the repository root is one or two levels up.
const repoRoot = [path.join(here, ".."), path.join(here, "..", "..")].find((p) =>
  existsSync(path.join(p, "test", "fixtures", "ci-audit", "files")),
);

function arg(args: readonly string[], name: string, dflt: number): number {
  const a = args.find((x) => x.startsWith(`${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 1));
}

/**
 * Variant `n` of a workflow: a comment naming the variant above and below the content, so no two files are
 * the same text (nothing can be served from a cache keyed on content) while the rules, and the peers, see
 * exactly the shapes of the real file (renaming jobs would break `needs:` references for the peers).
 */
function variant(text: string, n: number): string {
  return `# bench variant ${n}\n${text.endsWith("\n") ? text : text + "\n"}# end of bench variant ${n}\n`;
}

async function writeCorpus(dir: string, count: number): Promise<{ files: number; sources: number }> {
  if (repoRoot === undefined) throw new Error("test/fixtures/ci-audit/files not found");
  const src = path.join(repoRoot, "test", "fixtures", "ci-audit", "files");
  const names = (await readdir(src)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const texts = await Promise.all(
    names.map(async (f) => ({ f, text: await readFile(path.join(src, f), "utf8") })),
  );
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const { f, text } = texts[i % texts.length]!;
    const round = Math.floor(i / texts.length);
    // Keep the name's tail so classification by name (action.yml, .gitlab-ci.yml) still applies.
    const tail = f.includes("__") ? f.slice(f.indexOf("__") + 2) : f;
    const base = tail === "action.yml" || tail === "action.yaml" ? `a${i}.${tail}` : `${i}-${tail}`;
    await writeFile(path.join(dir, base), round === 0 ? text : variant(text, round));
  }
  return { files: count, sources: texts.length };
}

async function time<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** A peer's executable in .tools/bin or on PATH, or undefined. */
function findTool(name: string): string | undefined {
  const dirs = [
    ...(repoRoot === undefined ? [] : [path.join(repoRoot, ".tools", "bin")]),
    ...(process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== ""),
  ];
  return dirs.map((d) => path.join(d, name)).find((p) => existsSync(p));
}

/** Runs a peer; linters exit 1 when they find something, so only a missing result counts as failure. */
function runPeer(
  cmd: string,
  args: readonly string[],
  cwd: string,
): Promise<{ exit: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { cwd, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      const exit = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      if (exit !== 0 && exit !== 1 && !(exit > 1 && stdout.length > 0)) {
        reject(new Error(`${cmd} failed (${exit}): ${stderr.slice(-1000)}`));
        return;
      }
      resolve({ exit, bytes: stdout.length });
    });
  });
}

interface PeerSpec {
  readonly name: string;
  readonly args: (files: string[]) => string[];
}

const PEERS: readonly PeerSpec[] = [
  // actionlint checks the files it is given (GitHub workflows only; it rejects composite actions and GitLab).
  { name: "actionlint", args: (files) => ["-no-color", "-format", "{{json .}}", ...files] },
  { name: "zizmor", args: (files) => ["--offline", "--format", "json", ...files] },
];

async function peer(spec: PeerSpec, dir: string, rounds: number): Promise<Record<string, unknown>> {
  const bin = findTool(spec.name);
  if (bin === undefined) return { status: "unavailable", reason: `${spec.name} not in .tools/bin or PATH` };
  const all = (await readdir(dir)).sort();
  // Both peers audit GitHub workflows only: give them the workflow files, and say how many.
  const files = all.filter((f) => !/action\.ya?ml$|gitlab-ci\.ya?ml$/.test(f));
  const runs: number[] = [];
  let exit = 0;
  for (let i = 0; i < rounds; i++) {
    const r = await time(() => runPeer(bin, spec.args(files), dir));
    runs.push(Math.round(r.ms));
    exit = r.value.exit;
  }
  return { status: "measured", bin, files: files.length, ms: median(runs), runsMs: runs, exit };
}

export async function run(args: readonly string[]): Promise<unknown> {
  const count = arg(args, "files", 1000);
  const rounds = arg(args, "rounds", 3);
  const base = await mkdtemp(path.join(tmpdir(), "gitward-bench-audit-ci-"));
  try {
    const dir = path.join(base, "workflows");
    const corpus = await writeCorpus(dir, count);
    // One warm-up (module loading, JIT), then the timed rounds.
    const warm = await auditCi(dir);
    if (warm.errors.length > 0) throw new Error(`audit errors: ${warm.errors[0]?.message ?? ""}`);
    if (warm.files.length !== count) throw new Error(`audited ${warm.files.length} files, wrote ${count}`);
    const runs: number[] = [];
    // CPU time too: on a shared machine the wall time mostly measures the other processes.
    const cpu: number[] = [];
    let findings = 0;
    for (let i = 0; i < rounds; i++) {
      const c0 = process.cpuUsage();
      const r = await time(() => auditCi(dir));
      const c = process.cpuUsage(c0);
      cpu.push(Math.round((c.user + c.system) / 1000));
      runs.push(Math.round(r.ms));
      findings = r.value.findings.length;
    }
    const ms = median(runs);
    const peers: Record<string, unknown> = {};
    for (const p of PEERS) peers[p.name] = await peer(p, dir, rounds);
    return {
      corpus: { files: corpus.files, fromRealFiles: corpus.sources },
      gitward: {
        ms,
        runsMs: runs,
        cpuMs: median(cpu),
        runsCpuMs: cpu,
        files: warm.files.length,
        findings,
        msPerFile: +(ms / count).toFixed(3),
      },
      loadAverage: loadavg().map((x) => +x.toFixed(2)),
      target: { ms: "< 2000", met: ms < 2000 },
      peers,
    };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}
