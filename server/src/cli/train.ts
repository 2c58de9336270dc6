import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { MultiVecEnv } from '@rewardlab/sim';
import { PRESET_NAMES } from '@rewardlab/rewards';
import { BACKEND_NAMES, latestCheckpoint, benchTrain, benchTrainWorkers, PPO_PRESETS, resolveWorkerUrls, type WorkersBenchResult, type RolloutMode, evaluate, evaluateCarball, evaluationEnvOptions, loadPolicy, parseWorkerUrls, selectBackend, train, type BackendPreference, type IterationMetrics, type TrainBenchResult, type TrainResult, type EvalResult, type PpoConfigInput, type CarballOpponent, type CarballEvalResult } from '@rewardlab/agents';
import { CliError, emitResult } from './output';
import { backendOption, nonNegativeInt, positiveInt, setting } from './parse';
import { progressBar } from './progress';

function sizes(value: string): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (!parts.length || parts.some((n) => !Number.isInteger(n) || n <= 0)) throw new InvalidArgumentError(`expected comma-separated positive integers such as 64,64; got "${value}"`);
  return parts;
}

function formatReturn(x: number | null): string {
  return x === null ? '—' : x.toFixed(1);
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train a policy with PPO on a registered env or an env module')
    .option('--env <id>', 'registered env id (see `rewardlab envs`)')
    .option('--env-module <file>', "module whose default export builds the env")
    .option('--algo <name>', 'algorithm', 'ppo')
    .option('--reward <spec>', `reward spec: a preset name (${PRESET_NAMES.join(', ')}) or a JSON file`)
    .option('--steps <n>', 'agent steps to train (default: the env preset, else 1e6)', positiveInt)
    .option('--seed <n>', 'seed', nonNegativeInt, 0)
    .option('--num-envs <n>', 'envs in the vector (default: the env preset, else 8)', positiveInt)
    .option('--backend <name>', `tfjs backend: auto, ${BACKEND_NAMES.join(', ')}`, backendOption, 'auto' as BackendPreference)
    .option('--out <dir>', 'run directory (checkpoints, final policy)')
    .option('--hidden <sizes>', 'hidden layer widths, e.g. 64,64', sizes)
    .option('--lr <rate>', 'learning rate', (v) => Number(v))
    .option('--set <key=value>', 'any PPO hyperparameter (repeatable), e.g. --set gamma=0.995 --set entCoef=0.01', setting, {})
    .option('--env-option <key=value>', "an env option (repeatable), over the preset's, e.g. --env-option obsBuilder=advanced --env-option noTouchTimeoutSeconds=45", setting, {})
    .option('--checkpoint-every <iterations>', 'save a checkpoint every N iterations', nonNegativeInt, 0)
    .option('--resume <dir>', 'continue from a checkpoint directory')
    .option('--resume-latest', "continue from the --out directory's latest checkpoint when it has one, else start fresh (a retried Job or container picks up where it stopped)")
    .option('--no-preset', "ignore RL Zoo's tuned hyperparameters for the env")
    .option('--workers <urls>', 'sim workers, comma-separated: ws://host:9100 URLs, or dns://name:9100 for every address of a name (re-resolved at each rollout); token from $REWARDLAB_WORKER_TOKEN', (v: string) => parseWorkerUrls(v))
    .option('--discovery-timeout <seconds>', 'dns:// workers: how long to wait for the first one to answer', positiveInt, 60)
    .option('--rollout <mode>', 'over sim workers: auto (time both, use the faster), pipelined or synchronous', rolloutMode, 'auto' as RolloutMode)
    .option('--rescale-actions', 'act in [-1, 1] on bounded box action spaces, rescaled onto the env bounds')
    .option('--opponent <name>', 'carball: train against a scripted opponent (random or ball-chaser) instead of self-play', (v: string) => {
      if (v !== 'random' && v !== 'ball-chaser') throw new InvalidArgumentError(`expected random or ball-chaser, got "${v}"`);
      return v as CarballOpponent;
    })
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env?: string; envModule?: string; algo: string; reward?: string; steps?: number; seed: number; numEnvs?: number; backend: BackendPreference; out?: string; hidden?: number[]; lr?: number; set: Record<string, unknown>; envOption: Record<string, unknown>; checkpointEvery: number; resume?: string; resumeLatest?: boolean; preset: boolean; rescaleActions?: boolean; workers?: string[]; discoveryTimeout: number; rollout: RolloutMode; opponent?: CarballOpponent; json?: boolean }) => {
      const ppo: PpoConfigInput = { ...(opts.set as PpoConfigInput), ...(opts.hidden ? { hiddenSizes: opts.hidden } : {}), ...(opts.lr !== undefined ? { learningRate: opts.lr } : {}) };
      if (opts.resumeLatest) {
        if (!opts.out) throw new CliError('--resume-latest needs --out (the run directory to continue)');
        if (opts.resume) throw new CliError('give --resume DIR or --resume-latest, not both');
        if (existsSync(join(opts.out, 'latest'))) {
          opts.resume = await latestCheckpoint(opts.out);
          process.stderr.write(`rewardlab: continuing from ${opts.resume}\n`);
        }
      }
      let bar: ReturnType<typeof progressBar> | null = null;
      // SIGTERM (docker stop, a Kubernetes eviction) or SIGINT: finish the iteration, write a checkpoint
      // and the policy, report the run as stopped, and exit 128 + the signal's number (143, 130) so that
      // an orchestrator sees an interrupted run; `--resume` or `--resume-latest` continues it.
      const abort = new AbortController();
      let stoppedBy: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (abort.signal.aborted) return;
        stoppedBy = signal;
        process.stderr.write(`\nrewardlab: ${signal}: stopping after this iteration and writing a checkpoint (continue with --resume)\n`);
        abort.abort();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      const result = await train({
        signal: abort.signal,
        discoveryTimeoutMs: opts.discoveryTimeout * 1000,
        rollout: opts.rollout,
        env: opts.env,
        envModule: opts.envModule,
        algo: opts.algo,
        steps: opts.steps,
        seed: opts.seed,
        numEnvs: opts.numEnvs,
        backend: opts.backend,
        out: opts.out,
        ppo,
        checkpointEvery: opts.checkpointEvery,
        resume: opts.resume,
        usePreset: opts.preset,
        rescaleActions: opts.rescaleActions,
        ...(opts.workers ? { workers: opts.workers } : {}),
        ...(opts.opponent ? { opponent: opts.opponent } : {}),
        ...(opts.reward ? { reward: opts.reward } : {}),
        ...(Object.keys(opts.envOption).length ? { envOptions: opts.envOption } : {}),
        onStart: (info) => {
          process.stderr.write(`rewardlab: training ${info.env} for ${info.totalSteps} steps on ${info.backend} (${info.numEnvs} envs), run directory ${info.runDir}\n`);
          bar = progressBar('train', info.totalSteps);
        },
        onIteration: (m: IterationMetrics) => {
          if (!bar) return;
          if (m.step > bar.getTotal()) bar.setTotal(m.step);
          const games = m.opponent && m.opponent.games > 0 ? ` | ${m.opponent.games} games, ${(m.opponent.touches / m.opponent.games).toFixed(3)} touches/game` : '';
          const workers = m.workers ? ` | ${m.workers.live}/${m.workers.parts} workers` : '';
          bar.update(m.step, { info: `${Math.round(m.stepsPerSecond)} steps/s | mean return ${formatReturn(m.meanReturn)} | entropy ${m.entropy.toFixed(3)}${games}${workers}` });
        },
      }).finally(() => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      if (stoppedBy) process.exitCode = stoppedBy === 'SIGINT' ? 130 : 143;
      emitResult(result, opts, (r: TrainResult) => `${r.env}: ${r.stopped ? 'stopped after ' : ''}${r.steps} steps in ${r.wallSeconds.toFixed(1)} s on ${r.backend}; final mean return ${formatReturn(r.finalMeanReturn)}; policy in ${r.policyDir}${r.workers ? `; ${r.workers.parts} sim worker(s) at the end (${r.workers.losses} lost, ${r.workers.joined} joined, ${r.workers.left} left)` : ''}`);
    });

  program
    .command('eval')
    .description('run a saved policy for some episodes')
    .requiredOption('--policy <dir>', 'policy directory (policy.json, model.json, weights.bin)')
    .option('--env <id>', 'env id (default: the one the policy was trained on)')
    .option('--env-module <file>', 'module whose default export builds the env (for policies trained with --env-module)')
    .option('--episodes <n>', 'episodes', positiveInt, 10)
    .option('--seed <n>', 'seed', nonNegativeInt, 0)
    .option('--stochastic', 'sample actions instead of taking the most likely one')
    .option('--opponent <name>', 'carball: the other team is the scripted ball-chaser or a random policy; reports touches, goals and ball velocity, beside a random policy in the same seats')
    .option('--backend <name>', 'tfjs backend', backendOption, 'auto' as BackendPreference)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { policy: string; env?: string; envModule?: string; episodes: number; seed: number; stochastic?: boolean; opponent?: string; backend: BackendPreference; json?: boolean }) => {
      if (opts.opponent !== undefined) {
        if (opts.opponent !== 'ball-chaser' && opts.opponent !== 'random') throw new InvalidArgumentError(`--opponent: expected ball-chaser or random, got "${opts.opponent}"`);
        await selectBackend(opts.backend);
        const { policy, meta, normalize } = await loadPolicy(opts.policy);
        const env = opts.env ?? meta.envId;
        if (!env.startsWith('carball')) throw new CliError(`--opponent is for carball envs; the policy was trained on ${meta.envId}`);
        const envOptions = evaluationEnvOptions(meta);
        let trained: CarballEvalResult;
        try {
          trained = await evaluateCarball({ env, policy, opponent: opts.opponent, episodes: opts.episodes, seed: opts.seed, normalize, stochastic: Boolean(opts.stochastic), envOptions });
        } finally {
          policy.dispose();
        }
        const random = await evaluateCarball({ env, policy: 'random', opponent: opts.opponent, episodes: opts.episodes, seed: opts.seed, envOptions });
        const result = { env, opponent: opts.opponent, policy: trained, random, touchRatio: random.touchesPerEpisode > 0 ? trained.touchesPerEpisode / random.touchesPerEpisode : null };
        emitResult(result, opts, (r: typeof result) => `${r.env} vs ${r.opponent}: ${r.policy.touchesPerEpisode.toFixed(2)} touches/episode (random ${r.random.touchesPerEpisode.toFixed(2)}), ball velocity to goal ${r.policy.meanBallVelocityToGoal.toFixed(1)} uu/s (random ${r.random.meanBallVelocityToGoal.toFixed(1)}), W/D/L ${r.policy.wins}/${r.policy.draws}/${r.policy.losses}`);
        return;
      }
      const result = await evaluate({ policy: opts.policy, env: opts.env, envModule: opts.envModule, episodes: opts.episodes, seed: opts.seed, deterministic: !opts.stochastic, backend: opts.backend });
      emitResult(result, opts, (r: EvalResult) => `${r.env}: mean return ${r.meanReturn.toFixed(2)} ± ${r.stdReturn.toFixed(2)} over ${r.episodes} episodes (mean length ${r.meanLength.toFixed(1)})`);
    });
}

/** `rewardlab bench train`, attached to the `bench` command group. */
export function registerTrainBench(bench: Command): void {
  bench
    .command('train')
    .description('PPO throughput: end-to-end agent steps/s, update samples/s and GFLOP/s against the same backend’s matmul rate')
    .option('--env <id>', 'env id', 'CartPole-v1')
    .option('--backend <name>', 'tfjs backend', backendOption, 'auto' as BackendPreference)
    .option('--hidden <sizes>', "hidden layer widths of the timed updates (default 256,256) and of the end-to-end run (default: the env preset's)", sizes)
    .option('--minibatch <n>', 'minibatch size of the timed updates (default 4096; 262144 on webgpu, where throughput still rises with the batch)', positiveInt)
    .option('--updates <n>', 'timed minibatch updates', positiveInt, 5)
    .option('--train-steps <n>', 'agent steps of the end-to-end measurement after its first iteration (default: four iterations, at least 16,384)', positiveInt)
    .option('--num-envs <n>', 'envs in the vector (with --spawn-workers: envs per worker and of the local baseline)', positiveInt)
    .option('--workers <urls>', "compare training over these sim workers (ws:// or dns://) with local training: one worker against local with the first worker's env count, all of them against one", (v: string) => parseWorkerUrls(v))
    .option('--spawn-workers <n>', 'compare training over N sim workers started on loopback (each with --num-envs envs, the preset by default) with local training', positiveInt)
    .option('--rounds <n>', 'with workers: alternate local / one worker / all workers this many times (medians)', positiveInt, 2)
    .option('--rollout <mode>', 'with workers: auto, pipelined or synchronous rollouts', rolloutMode, 'auto' as RolloutMode)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string; backend: BackendPreference; hidden?: number[]; minibatch?: number; updates: number; trainSteps?: number; numEnvs?: number; workers?: string[]; spawnWorkers?: number; rounds: number; rollout: RolloutMode; json?: boolean }) => {
      if (opts.workers || opts.spawnWorkers) {
        const result = await benchOverWorkers(opts);
        emitResult(result, opts, (r: WorkersBenchResult) =>
          `${r.env} on ${r.backend}: local ${Math.round(r.localStepsPerSec)} agent steps/s (${r.numEnvs} envs); one worker ${Math.round(r.oneWorkerStepsPerSec)} (${r.oneWorkerRatio.toFixed(2)}× local); ${r.workers} workers ${Math.round(r.allWorkersStepsPerSec)} (${r.allWorkersSpeedup.toFixed(2)}× one); medians of ${r.rounds} rounds`,
        );
        return;
      }
      const result = await benchTrain({ env: opts.env, backend: opts.backend, hiddenSizes: opts.hidden, minibatchSize: opts.minibatch, updates: opts.updates, trainSteps: opts.trainSteps, numEnvs: opts.numEnvs });
      emitResult(result, opts, (r: TrainBenchResult) =>
        `${r.env} on ${r.backend}: ${Math.round(r.agentStepsPerSec)} agent steps/s end to end; update ${Math.round(r.updateSamplesPerSec)} samples/s = ${r.updateGflops.toFixed(1)} GFLOP/s, matmul ${r.matmulGflops.toFixed(1)} GFLOP/s, efficiency ${r.efficiency.toFixed(2)}`,
      );
    });
}

/** `rewardlab sim-worker --preset` on a free loopback port, as a child process; resolves with its URL. */
function spawnSimWorker(env: string, numEnvs: number): Promise<{ child: ChildProcess; url: string }> {
  const bin = join(__dirname, '..', '..', '..', 'bin', 'rewardlab.js');
  const child = spawn(process.execPath, [bin, 'sim-worker', '--env', env, '--num-envs', String(numEnvs), '--preset', '--port', '0', '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, url: (JSON.parse(line) as { url: string }).url }));
    child.once('exit', (code) => reject(new CliError(`the sim worker for ${env} exited with code ${code} before listening`)));
  });
}

/** `bench train --workers … | --spawn-workers N`: training over workers against local training. */
async function benchOverWorkers(opts: { env: string; backend: BackendPreference; trainSteps?: number; numEnvs?: number; workers?: string[]; spawnWorkers?: number; rounds: number; rollout: RolloutMode }): Promise<WorkersBenchResult> {
  const log = (line: string): void => void process.stderr.write(`rewardlab bench train: ${line}\n`);
  const spawned: ChildProcess[] = [];
  try {
    let urls: string[];
    let numEnvs: number;
    if (opts.spawnWorkers) {
      if (opts.workers) throw new CliError('give --workers or --spawn-workers, not both');
      numEnvs = opts.numEnvs ?? PPO_PRESETS[opts.env]?.numEnvs ?? 8;
      const started = await Promise.all(Array.from({ length: opts.spawnWorkers }, () => spawnSimWorker(opts.env, numEnvs)));
      spawned.push(...started.map((w) => w.child));
      urls = started.map((w) => w.url);
    } else {
      const resolved = await resolveWorkerUrls(opts.workers!);
      if (!resolved.urls.length) throw new CliError(resolved.failures.join('; '));
      urls = resolved.urls;
      // The local baseline simulates as many envs as the first worker hosts.
      const probe = await MultiVecEnv.connect([urls[0]!], process.env.REWARDLAB_WORKER_TOKEN ? { token: process.env.REWARDLAB_WORKER_TOKEN } : {});
      numEnvs = probe.numEnvs;
      await probe.close();
    }
    log(`local training with ${numEnvs} envs, over ${urls[0]}, and over ${urls.length} workers`);
    return await benchTrainWorkers({ env: opts.env, backend: opts.backend, oneWorker: [urls[0]!], allWorkers: urls, numEnvs, rounds: opts.rounds, rollout: opts.rollout, ...(opts.trainSteps ? { trainSteps: opts.trainSteps } : {}), log });
  } finally {
    for (const child of spawned) child.kill('SIGTERM');
  }
}

function rolloutMode(value: string): RolloutMode {
  if (value !== 'auto' && value !== 'pipelined' && value !== 'synchronous') throw new InvalidArgumentError(`expected auto, pipelined or synchronous; got "${value}"`);
  return value;
}
