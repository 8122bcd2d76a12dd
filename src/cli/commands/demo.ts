// `gitward demo`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerDemo(_program: Command): void {
  // Intentionally empty.
}
