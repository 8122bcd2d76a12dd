// The machine's installed Debian versions and `dpkg --compare-versions` as the peer that gitward's dpkg
// order is checked against, pair by pair (test/vuln/versions.test.ts samples, bench/vulns.ts runs all).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Distinct versions of the installed packages, in dpkg-query's order. */
export function installedDebianVersions(): string[] {
  const out = execFileSync("dpkg-query", ["-W", "-f", "${Version}\\n"], { encoding: "utf8" });
  return [...new Set(out.split("\n").filter((v) => v !== ""))];
}

/** -1, 0 or 1 by dpkg itself (two calls at most: lt, then eq). */
export async function dpkgCompare(a: string, b: string): Promise<number> {
  const holds = async (op: string): Promise<boolean> =>
    run("dpkg", ["--compare-versions", a, op, b]).then(
      () => true,
      () => false,
    );
  if (await holds("lt")) return -1;
  return (await holds("eq")) ? 0 : 1;
}

/** Every unordered pair of `versions` compared by both; returns the pairs where they disagree. */
export async function disagreements(
  versions: readonly string[],
  ours: (a: string, b: string) => number,
  parallel = 2,
): Promise<{ pairs: number; disagree: { a: string; b: string; ours: number; dpkg: number }[] }> {
  const pairs: [string, string][] = [];
  for (let i = 0; i < versions.length; i++)
    for (let j = i + 1; j < versions.length; j++) pairs.push([versions[i] as string, versions[j] as string]);
  const disagree: { a: string; b: string; ours: number; dpkg: number }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let k = next++; k < pairs.length; k = next++) {
      const [a, b] = pairs[k] as [string, string];
      const theirs = await dpkgCompare(a, b);
      const mine = Math.sign(ours(a, b));
      if (mine !== theirs) disagree.push({ a, b, ours: mine, dpkg: theirs });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { pairs: pairs.length, disagree };
}
