// `gitward run`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerRun(_program: Command): void {
  // Intentionally empty.
}
