import { defineConfig } from "vitest/config";

// Tests start real servers (git, sshd, registry, the sandbox): give them time, and run at most two
// files at once because CI has two cores.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
