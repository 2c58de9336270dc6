import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // tfjs's wasm backend is process-global: run test files one after another in separate workers.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
