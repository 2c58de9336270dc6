import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `@rewardlab/replay` points at sim's replay module source rather than `@rewardlab/sim`'s package
 * entry: the entry also registers the envs, which pulls Rapier, `node:crypto` and the sim-worker's
 * `ws` into the bundle. The replay module (format, builder, scenes) is browser-safe by design, and it
 * is the part DESIGN.md lets the viewer import ("the browser-safe parts of sim").
 */
const replayModule = fileURLToPath(new URL('../sim/src/replay/index.ts', import.meta.url));
/** `@rewardlab/scene3d` is the three.js scene builder the viewer shares with the frame renderer (render/src/scene), by source. */
const sceneModule = fileURLToPath(new URL('../render/src/scene/index.ts', import.meta.url));

export default defineConfig({
  base: './',
  resolve: { alias: { '@rewardlab/replay': replayModule, '@rewardlab/scene3d': sceneModule } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // The browser suite starts one Chromium; running files one at a time keeps the 2 shared cores free.
    fileParallelism: false,
  },
});
