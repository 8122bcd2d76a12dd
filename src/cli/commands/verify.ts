// `gitward verify`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerVerify(_program: Command): void {
  // Intentionally empty.
}
