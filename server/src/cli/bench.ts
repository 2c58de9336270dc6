import { InvalidArgumentError, type Command } from 'commander';
import { CarballVecEnv, carballTeamSize, Rng, sampleSpace, VecEnv, registerEnv, loadEnvModule, registeredEnvIds, type RapierFlavor, type VecEnvLike } from '@rewardlab/sim';
import { CliError, emitResult } from './output';
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

export interface CarballBenchResult {
  bench: 'env';
  env: string;
  /** Matches stepped at once. */
  arenas: number;
  /** `one-world`: all arenas in one Rapier world (CarballVecEnv); `world-per-arena`: a VecEnv of CarballEnvs. */
  layout: CarballLayout;
  rapier: RapierFlavor;
  numAgents: number;
  actionRepeat: number;
  /** Vector steps timed. */
  steps: number;
  seconds: number;
  /** Physics ticks × arenas per wall-clock second, in this one process. */
  ticksPerSec: number;
  /** Agent decisions (one per agent per env step) per second. */
  agentStepsPerSec: number;
  /** CPU time (user + system) this process used while timed: below `seconds` when other work shared the core. */
  cpuSeconds: number;
  /** Physics ticks × arenas per CPU second of this process: steadier than ticksPerSec on a busy machine. */
  ticksPerCpuSec: number;
  episodes: number;
}

export type CarballLayout = 'one-world' | 'world-per-arena';

/**
 * Times carball with uniformly random lookup actions for `seconds` of wall-clock time (after a short
 * warm-up), through the chosen vector layout.
 */
export async function benchCarball(opts: { env: string; arenas: number; seconds: number; seed: number; layout: CarballLayout; rapier: RapierFlavor }): Promise<CarballBenchResult> {
  const teamSize = carballTeamSize(opts.env);
  if (teamSize === null) throw new CliError(`not a carball env id: ${opts.env} (expected carball-1v1, carball-2v2 or carball-3v3)`);
  const vec: VecEnvLike =
    opts.layout === 'one-world'
      ? await CarballVecEnv.make(teamSize, opts.arenas, { rapier: opts.rapier })
      : await VecEnv.make(opts.env, opts.arenas, { rapier: opts.rapier, maxEpisodeSteps: null });
  try {
    const rng = new Rng(opts.seed);
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
    for (let t = 0; t < 30; t++) await vec.step(pool[t % pool.length]!); // warm-up (JIT)
    let episodes = 0;
    let steps = 0;
    const limitMs = opts.seconds * 1000;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < limitMs) {
      const r = await vec.step(pool[steps % pool.length]!);
      episodes += r.info.episodes.length / vec.numAgents;
      steps += 1;
      elapsed = performance.now() - start;
    }
    const seconds = elapsed / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const actionRepeat = 8;
    return {
      bench: 'env',
      env: opts.env,
      arenas: opts.arenas,
      layout: opts.layout,
      rapier: opts.rapier,
      numAgents: vec.numAgents,
      actionRepeat,
      steps,
      seconds,
      ticksPerSec: (steps * actionRepeat * opts.arenas) / seconds,
      agentStepsPerSec: (steps * opts.arenas * vec.numAgents) / seconds,
      cpuSeconds,
      ticksPerCpuSec: (steps * actionRepeat * opts.arenas) / cpuSeconds,
      episodes,
    };
  } finally {
    await vec.close();
  }
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('benchmarks, each printing JSON with --json');
  bench
    .command('env')
    .description('env steps per second under uniformly random actions, through a VecEnv (carball: physics ticks per second over many arenas)')
    .argument('[id]', 'registered env id (the same as --env)')
    .option('--env <id>', 'registered env id', 'CartPole-v1')
    .option('--env-module <file>', 'module whose default export builds the env')
    .option('--num-envs <n>', 'envs in the vector', positiveInt, 8)
    .option('--steps <n>', 'vector steps to time', positiveInt, 20000)
    .option('--seconds <s>', 'carball: wall-clock seconds to time', positiveNumber, 5)
    .option('--arenas <n>', 'carball: arenas stepped at once (16–64 measured fastest in one world)', positiveInt, 32)
    .option('--layout <layout>', 'carball: one-world (all arenas in one Rapier world) or world-per-arena', oneOf(['one-world', 'world-per-arena'] as const), 'one-world')
    .option('--rapier <build>', 'carball: simd or compat build of Rapier', oneOf(['simd', 'compat'] as const), 'simd')
    .option('--seed <n>', 'seed', nonNegativeInt, 0)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(
      async (
        id: string | undefined,
        opts: { env: string; envModule?: string; numEnvs: number; steps: number; seconds: number; arenas: number; layout: CarballLayout; rapier: RapierFlavor; seed: number; json?: boolean },
      ) => {
        let env = id ?? opts.env;
        if (opts.envModule) {
          const mod = await loadEnvModule(opts.envModule);
          if (!registeredEnvIds().includes(mod.id)) registerEnv(mod.id, mod.factory);
          env = mod.id;
        }
        if (env.startsWith('carball-')) {
          const result = await benchCarball({ env, arenas: opts.arenas, seconds: opts.seconds, seed: opts.seed, layout: opts.layout, rapier: opts.rapier });
          emitResult(result, opts, (r: CarballBenchResult) => `${r.env}: ${Math.round(r.ticksPerSec).toLocaleString('en')} ticks/s, ${Math.round(r.agentStepsPerSec).toLocaleString('en')} agent steps/s over ${r.arenas} arenas (${r.layout}, rapier ${r.rapier})`);
          return;
        }
        const result = await benchEnv({ ...opts, env, progress: process.stderr.isTTY });
        emitResult(result, opts, (r: EnvBenchResult) => `${r.env}: ${Math.round(r.stepsPerSecond).toLocaleString('en')} env steps/s over ${r.numEnvs} envs (${r.episodes} episodes, mean return ${r.meanEpisodeReturn?.toFixed(2) ?? 'n/a'})`);
      },
    );
}
