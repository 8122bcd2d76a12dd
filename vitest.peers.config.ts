import { defineConfig } from "vitest/config";

// On-demand comparisons with peer tools (trivy): slow, so kept out of the default test run.
// `npm run test:peers` installs trivy first (test/peers/setup-trivy.sh).
export default defineConfig({
  test: {
    include: ["test/peers/**/*.peer.ts"],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: "forks",
    maxWorkers: 1,
    reporters: ["default"],
  },
});
