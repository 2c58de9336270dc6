import { defineConfig } from 'vitest/config';

// CI runs every package's suite side by side on 2 cores, so Vitest's 5 s default per test is too tight
// for the statistical and process-spawning tests here: give each test a minute unless it says otherwise.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
