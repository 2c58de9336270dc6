import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Builds the renderer page (src/page) into dist/page, which the Node side serves to Chromium. As in
 * the viewer, `@rewardlab/replay` is sim's browser-safe replay module, by source.
 */
const replayModule = fileURLToPath(new URL('../sim/src/replay/index.ts', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('src/page', import.meta.url)),
  base: './',
  resolve: { alias: { '@rewardlab/replay': replayModule } },
  build: { outDir: fileURLToPath(new URL('dist/page', import.meta.url)), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
