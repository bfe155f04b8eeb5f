import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", ".stack/**"],
    // Hang detectors, not speed checks: generous for a loaded 2-core CI machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
