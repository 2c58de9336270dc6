import type { Command } from 'commander';
import { Rng, sampleSpace, VecEnv, registerEnv, loadEnvModule, registeredEnvIds } from '@rewardlab/sim';
import { emitResult } from './output';
import { nonNegativeInt, positiveInt } from './parse';
import { progressBar } from './progress';

export interface EnvBenchResult {
  bench: 'env';
  env: string;
  numEnvs: number;
  numAgents: number;
  steps: number;
  agentSteps: number;
  seconds: number;
  stepsPerSecond: number;
  agentStepsPerSecond: number;
  episodes: number;
  meanEpisodeReturn: number | null;
  meanEpisodeLength: number | null;
}

/** Steps a vector env with uniformly random actions (what an env costs before any learning). */
export async function benchEnv(opts: { env: string; numEnvs: number; steps: number; seed: number; progress?: boolean }): Promise<EnvBenchResult> {
  const vec = await VecEnv.make(opts.env, opts.numEnvs);
  try {
    const rng = new Rng(opts.seed);
    const actions = vec.createActionBuffer();
    // Pre-draw a pool of random actions so the benchmark times the env, not the sampler.
    const pool = Array.from({ length: 64 }, () => {
      const buf = vec.createActionBuffer();
      for (let s = 0; s < vec.numSlots; s++) {
        const a = sampleSpace(vec.singleActionSpace, rng);
        if (typeof a === 'number') buf[s] = a;
        else buf.set(a as ArrayLike<number>, s * vec.actionSize);
      }
      return buf;
    });
    await vec.reset({ seed: opts.seed });
    const bar = opts.progress ? progressBar(`bench ${opts.env}`, opts.steps) : null;
    let episodes = 0;
    let returnSum = 0;
    let lengthSum = 0;
    const start = performance.now();
    for (let t = 0; t < opts.steps; t++) {
      actions.set(pool[t % pool.length]!);
      const r = await vec.step(actions);
      for (const ep of r.info.episodes) {
        episodes += 1;
        returnSum += ep.return;
        lengthSum += ep.length;
      }
      if (bar && t % 256 === 0) bar.update(t, { info: episodes ? `${episodes} episodes, mean return ${(returnSum / episodes).toFixed(1)}` : '' });
    }
    const seconds = (performance.now() - start) / 1000;
    bar?.update(opts.steps, { info: `${episodes} episodes` });
    bar?.stop();
    const steps = opts.steps * vec.numEnvs;
    return {
      bench: 'env',
      env: opts.env,
      numEnvs: vec.numEnvs,
      numAgents: vec.numAgents,
      steps,
      agentSteps: steps * vec.numAgents,
      seconds,
      stepsPerSecond: steps / seconds,
      agentStepsPerSecond: (steps * vec.numAgents) / seconds,
      episodes,
      meanEpisodeReturn: episodes ? returnSum / episodes : null,
      meanEpisodeLength: episodes ? lengthSum / episodes : null,
    };
  } finally {
    await vec.close();
  }
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('benchmarks, each printing JSON with --json');
  bench
    .command('env')
    .description('env steps per second under uniformly random actions, through a VecEnv')
    .option('--env <id>', 'registered env id', 'CartPole-v1')
    .option('--env-module <file>', 'module whose default export builds the env')
    .option('--num-envs <n>', 'envs in the vector', positiveInt, 8)
    .option('--steps <n>', 'vector steps to time', positiveInt, 20000)
    .option('--seed <n>', 'seed', nonNegativeInt, 0)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string; envModule?: string; numEnvs: number; steps: number; seed: number; json?: boolean }) => {
      let env = opts.env;
      if (opts.envModule) {
        const mod = await loadEnvModule(opts.envModule);
        if (!registeredEnvIds().includes(mod.id)) registerEnv(mod.id, mod.factory);
        env = mod.id;
      }
      const result = await benchEnv({ ...opts, env, progress: process.stderr.isTTY });
      emitResult(result, opts, (r: EnvBenchResult) => `${r.env}: ${Math.round(r.stepsPerSecond).toLocaleString('en')} env steps/s over ${r.numEnvs} envs (${r.episodes} episodes, mean return ${r.meanEpisodeReturn?.toFixed(2) ?? 'n/a'})`);
    });
}
