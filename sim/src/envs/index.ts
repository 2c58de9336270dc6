import { registerCarballEnvs } from './carball';
import { registerClassicEnvs } from './classic';

let registered = false;
/** Registers every built-in env once (importing `@rewardlab/sim` does this). */
export function registerBuiltinEnvs(): void {
  if (registered) return;
  registered = true;
  registerClassicEnvs();
  registerCarballEnvs();
}

export * from './classic';
export * from './carball';
