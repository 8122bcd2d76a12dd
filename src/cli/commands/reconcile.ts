// `gitward reconcile`: not built yet; registers nothing until its issue lands.
import type { Command } from "commander";

export function registerReconcile(_program: Command): void {
  // Intentionally empty.
}
