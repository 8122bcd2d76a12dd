// The machine's installed Debian versions and `dpkg --compare-versions` as the peer that gitward's dpkg
// order is checked against, pair by pair (test/vuln/versions.test.ts samples, bench/vulns.ts runs more).
// dpkg runs from one shell per batch: spawning it from Node per pair would cost ten times more.
import { execFileSync, spawn } from "node:child_process";

/** Runs a shell script given on stdin (a batch is far past the argument size limit). */
function shell(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-s"], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`sh exited ${String(code)}`));
    });
    child.stdin.end(script);
  });
}

/** Distinct versions of the installed packages, in dpkg-query's order. */
export function installedDebianVersions(): string[] {
  const out = execFileSync("dpkg-query", ["-W", "-f", "${Version}\\n"], { encoding: "utf8" });
  return [...new Set(out.split("\n").filter((v) => v !== ""))];
}

/** Debian version characters only, so a version can be single-quoted in the batch script. */
const SAFE = /^[A-Za-z0-9.+~:-]+$/u;

/** -1, 0 or 1 per pair, by dpkg itself. */
export async function dpkgCompareBatch(pairs: readonly (readonly [string, string])[]): Promise<number[]> {
  for (const [a, b] of pairs)
    if (!SAFE.test(a) || !SAFE.test(b)) throw new Error(`not a Debian version: ${JSON.stringify([a, b])}`);
  const script = pairs
    .map(
      ([a, b]) =>
        `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`,
    )
    .join("\n");
  const stdout = await shell(script + "\n");
  return stdout
    .trim()
    .split("\n")
    .map((l) => Number(l));
}

/** Every unordered pair of `versions` compared by both; returns the pairs where they disagree. */
export async function disagreements(
  versions: readonly string[],
  ours: (a: string, b: string) => number,
  parallel = 2,
): Promise<{
  pairs: number;
  disagree: { a: string; b: string; ours: number; dpkg: number }[];
  dpkgMs: number;
}> {
  const pairs: [string, string][] = [];
  for (let i = 0; i < versions.length; i++)
    for (let j = i + 1; j < versions.length; j++) pairs.push([versions[i] as string, versions[j] as string]);
  const BATCH = 2000;
  const results: number[][] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let k = next++; k * BATCH < pairs.length; k = next++)
      results[k] = await dpkgCompareBatch(pairs.slice(k * BATCH, (k + 1) * BATCH));
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const dpkgMs = performance.now() - started;
  const theirs = results.flat();
  const disagree: { a: string; b: string; ours: number; dpkg: number }[] = [];
  pairs.forEach(([a, b], k) => {
    const mine = Math.sign(ours(a, b));
    const d = theirs[k];
    if (d === undefined || mine !== d) disagree.push({ a, b, ours: mine, dpkg: d ?? Number.NaN });
  });
  return { pairs: pairs.length, disagree, dpkgMs };
}
