// `gitward secrets`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerSecrets(_program: Command): void {
  // Intentionally empty.
}
