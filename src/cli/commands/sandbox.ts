// `gitward sandbox`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerSandbox(_program: Command): void {
  // Intentionally empty.
}
