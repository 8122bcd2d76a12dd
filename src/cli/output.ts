// Output formats shared by every command: `-o text` for people, `-o json` for machines.
import { Option } from "commander";

export type OutputFormat = "text" | "json" | "sarif";

export function outputOption(formats: readonly OutputFormat[] = ["text", "json"]): Option {
  return new Option("-o, --output <format>", "output format").choices(formats).default("text");
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
