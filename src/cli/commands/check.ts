// `gitward check`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerCheck(_program: Command): void {
  // Intentionally empty.
}
