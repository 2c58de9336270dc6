import { registerBiddingEnvs } from './bidding';
import { registerCarballEnvs } from './carball';
import { registerClassicEnvs } from './classic';
import { registerManipulationEnvs } from './manipulation';

let registered = false;
/** Registers every built-in env once (importing `@rewardlab/sim` does this). */
export function registerBuiltinEnvs(): void {
  if (registered) return;
  registered = true;
  registerClassicEnvs();
  registerCarballEnvs();
  registerBiddingEnvs();
  registerManipulationEnvs();
}

export * from './classic';
export * from './carball';
export * from './bidding';
export * from './manipulation';
