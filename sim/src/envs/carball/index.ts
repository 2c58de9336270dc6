/**
 * Carball: Rocket-League-like car soccer on Rapier (REFERENCES.md §1, DESIGN.md "Carball state").
 * Registers `carball-1v1`, `carball-2v2` and `carball-3v3`; the factories load Rapier (SIMD build by
 * default; option `rapier: 'compat'` for the plain one).
 */
import { registerEnv } from '../../registry';
import { CarballEnv, type CarballOptions } from './env';
import { loadRapier, type RapierFlavor } from './rapier';
import { CARBALL_TASK_METRICS } from './metrics';

export * from './state';
export { CAR_MODEL, BOOST_PADS, KICKOFF_SPAWNS, RESPAWN_SPAWNS, PAD_RADIUS_UU, evalCurve, type Curve, type BoostPad } from './arena';
export { LOOKUP_TABLE, LOOKUP_TABLE_SIZE, CARBALL_ACTION_PARSERS, actionSpaceOf, parseAction, nearestLookupAction, type CarballActionParser } from './actions';
export { advancedObsSize, writeAdvancedObs, writeCarballObs, CARBALL_OBS_BUILDERS, type CarballObsBuilder, POS_STD, ANG_STD } from './obs';
export { CarballEnv, carballEnvId, carballTeamSize, carballAgentNames, carballOptionsSchema, type CarballOptions, type CarballStateSetter, type CarballStateSetterFn, type CarballSetterMixture, type CarballNamedSetter, CARBALL_NAMED_SETTERS, CARBALL_EPISODE_OPTIONS, type CarballEnvSnapshot } from './env';
export { CarballWorld, DEFAULT_SOLVER_ITERATIONS, NUM_CONTROLS, SPAWN_BOOST, yawQuat, type CarballWorldOptions, type CarballWorldSnapshot } from './world';
export { CarballStateError, validateCarballState } from './validate';
export { ballChaser, ballChaserControls, BALL_CHASER } from './ball-chaser';
export { loadRapier, DEFAULT_RAPIER_FLAVOR, type Rapier, type RapierFlavor } from './rapier';
export { CARBALL_TASK_METRICS, CarballEpisodeTally } from './metrics';
export { CarballVecEnv, type CarballVecEnvOptions, type CarballVecSnapshot } from './vector';

/** Builds a carball env after loading Rapier (what the registry's factories call). */
export async function createCarballEnv(options: CarballOptions = {}): Promise<CarballEnv> {
  const flavor = (options as { rapier?: RapierFlavor }).rapier;
  return new CarballEnv(await loadRapier(flavor), options);
}

export function registerCarballEnvs(): void {
  for (const teamSize of [1, 2, 3] as const) {
    registerEnv(`carball-${teamSize}v${teamSize}`, (options) => createCarballEnv({ ...options, teamSize } as CarballOptions), {
      description: `Car soccer ${teamSize}v${teamSize} on Rapier: RLGym AdvancedObs, 90-action lookup table, 120 Hz physics, action repeat 8.`,
      taskMetrics: CARBALL_TASK_METRICS,
    });
  }
}
