// `npm run bench -- <name> [args...]`: runs bench/<name>.ts, which measures gitward and its peer in the
// same run, and prints the JSON result it returns.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readdirSync } from "node:fs";

export interface BenchModule {
  /** Runs the benchmark and returns its JSON-serialisable result (both figures and their ratio). */
  run(args: readonly string[]): Promise<unknown>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith(".js") && f !== "run.js")
  .map((f) => f.slice(0, -3));

if (name === undefined || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(", ") || "(none)"}\n`);
  process.exitCode = 2;
} else {
  const mod = (await import(pathToFileURL(path.join(here, `${name}.js`)).href)) as BenchModule;
  const result = await mod.run(args);
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}
