// `gitward images`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerImages(_program: Command): void {
  // Intentionally empty.
}
