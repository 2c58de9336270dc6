/** @rewardlab/server: the rewardlab CLI (and, with its issue, the API server). */
export { runCli, buildProgram } from './cli/main';
export { benchEnv, type EnvBenchResult } from './cli/bench';
