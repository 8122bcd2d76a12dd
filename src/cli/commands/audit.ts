// `gitward audit`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerAudit(_program: Command): void {
  // Intentionally empty.
}
