import { defineConfig } from 'vitest/config';

// The API suites fork servers and trainers; on a 2-core CI machine the CLI tests beside them run
// slower than Vitest's 5 s default allows, so every test gets a minute unless it says otherwise.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
