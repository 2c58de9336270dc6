/**
 * Loads Rapier for carball. Two official builds of the same engine exist as npm packages that load in
 * Node: `@dimforge/rapier3d-compat` (plain wasm) and `@dimforge/rapier3d-simd-compat` (wasm SIMD). Their
 * JS APIs are the same, so the carball code types against the former and takes either at run time. The
 * wasm module must be initialised once per process before the first World is built.
 */
import type * as RapierModule from '@dimforge/rapier3d-compat';

export type Rapier = typeof RapierModule;
export type RapierFlavor = 'simd' | 'compat';

/**
 * The build carball uses unless told otherwise. Measured here (2v2, 16 arenas in one world): SIMD 0.20
 * ~1.45× the plain build at the same version (0.20) and ~2× the plain 0.21; both agree to float32
 * precision (tests check a drop and a drive against each other).
 */
export const DEFAULT_RAPIER_FLAVOR: RapierFlavor = 'simd';

const loading = new Map<RapierFlavor, Promise<Rapier>>();

export function loadRapier(flavor: RapierFlavor = DEFAULT_RAPIER_FLAVOR): Promise<Rapier> {
  let p = loading.get(flavor);
  if (!p) {
    p = (async () => {
      if (flavor === 'compat') return init(require('@dimforge/rapier3d-compat') as Rapier);
      try {
        return await init(require('@dimforge/rapier3d-simd-compat') as Rapier);
      } catch (err) {
        // A runtime without wasm SIMD: the plain build runs the same engine.
        process.emitWarning(`carball: the SIMD build of Rapier did not load (${(err as Error).message}); using @dimforge/rapier3d-compat`);
        return loadRapier('compat');
      }
    })();
    loading.set(flavor, p);
  }
  return p;
}

async function init(mod: Rapier): Promise<Rapier> {
  await silenceInitWarning(() => mod.init());
  return mod;
}

/** Rapier's init prints a deprecation notice about wasm-bindgen's init parameters; it is not ours to fix. */
async function silenceInitWarning(init: () => Promise<void>): Promise<void> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('deprecated parameters')) return;
    warn(...args);
  };
  try {
    await init();
  } finally {
    console.warn = warn;
  }
}
