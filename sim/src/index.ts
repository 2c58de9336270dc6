/**
 * @rewardlab/sim: the env API (spaces, Env / MultiAgentEnv, VecEnv, wrappers, the registry and the env
 * checker) and the built-in envs, registered on import.
 */
export * from './rng';
export * from './spaces';
export * from './env';
export * from './wrappers';
export * from './registry';
export * from './task-metrics';
export * from './vector';
export * from './check';
export { parseOptions } from './options';
export * from './envs';
export * from './replay';
export * from './worker';

import { registerBuiltinEnvs } from './envs';
registerBuiltinEnvs();
