/**
 * `rewardlab bench train`: how fast PPO runs on the selected backend, against that backend's own large
 * matmul rate measured in the same run (REFERENCES.md §8 explains why the ratio, not the raw figure,
 * shows whether the update is well written):
 * - agentStepsPerSec: end-to-end training throughput on the env, measured by running `train()` as
 *   `rewardlab train --env ID` runs it (the env's preset: network, rollout, minibatches, epochs, reward
 *   spec, self-play), after its first iteration;
 * - updateSamplesPerSec / updateGflops: PPO minibatch updates (forward, backward, Adam) of an MLP on
 *   synthetic data, FLOPs counted as 3 × 2 × MACs per sample (forward + two backward matmuls);
 * - matmulGflops: an n³ matmul; efficiency = updateGflops / matmulGflops.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng, type AnyEnv, makeEnv } from '@rewardlab/sim';
import { selectBackend, type BackendPreference } from './backend';
import type { PpoConfig } from './config';
import { ActorCritic, clipByGlobalNorm, ppoLoss, type MinibatchTensors } from './ppo';
import { actionWidth } from './distributions';
import { train, type TrainOptions } from './train';
import type { WorkerStats } from './remote';
import type { RolloutMode } from './ppo';

export interface TrainBenchOptions {
  env: string;
  backend?: BackendPreference;
  /** Hidden widths of the timed updates (default 256, 256) and, when given, of the end-to-end run (default: the preset's). */
  hiddenSizes?: number[];
  /** Rows of the timed minibatches (default 4096; 262,144 on webgpu, whose throughput still rises with the batch). */
  minibatchSize?: number;
  /** Timed minibatch updates. */
  updates?: number;
  /** Agent steps of the end-to-end measurement. */
  trainSteps?: number;
  numEnvs?: number;
  matmulSize?: number;
  seed?: number;
}

export interface TrainBenchResult {
  bench: 'train';
  env: string;
  backend: string;
  hiddenSizes: number[];
  minibatchSize: number;
  agentStepsPerSec: number;
  updateSamplesPerSec: number;
  updateMsPerMinibatch: number;
  updateGflops: number;
  matmulGflops: number;
  matmulSize: number;
  efficiency: number;
  /** The settings of the end-to-end measurement (the env's training preset unless overridden). */
  e2e: { numEnvs: number; numSteps: number; minibatchSize: number; epochs: number; hiddenSizes: number[]; steps: number; seconds: number };
  numTensorsAfter: number;
}

async function timeMatmul(n: number): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  // Read back one element, not the n² product: the download would be timed as if it were compute.
  const run = async (): Promise<void> => {
    const c = tf.matMul(a, b);
    const corner = tf.slice(c, [0, 0], [1, 1]);
    await corner.data();
    c.dispose();
    corner.dispose();
  };
  await run(); // warm-up (kernel compilation on webgpu)
  const reps = 5;
  const start = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const seconds = (performance.now() - start) / 1000 / reps;
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / seconds / 1e9;
}

export async function benchTrain(options: TrainBenchOptions): Promise<TrainBenchResult> {
  const backend = await selectBackend(options.backend ?? 'auto');
  const hiddenSizes = options.hiddenSizes ?? [256, 256];
  if (options.trainSteps !== undefined && (!Number.isSafeInteger(options.trainSteps) || options.trainSteps <= 0)) throw new RangeError(`trainSteps must be a positive integer, got ${options.trainSteps}`);
  const minibatchSize = options.minibatchSize ?? (backend.name === 'webgpu' ? 262_144 : 4096);
  const updates = options.updates ?? 5;
  const seed = options.seed ?? 0;
  const probe = await makeEnv<AnyEnv>(options.env);
  const obsSpace = probe.observationSpace;
  const actionSpace = probe.actionSpace;
  if (obsSpace.kind !== 'box') throw new TypeError(`bench train needs a box observation space; ${options.env} has ${obsSpace.kind}`);
  const obsSize = obsSpace.shape.reduce((a, b) => a * b, 1);

  // --- PPO update throughput on synthetic minibatches ------------------------------------------------
  const rng = new Rng(seed);
  const policy = new ActorCritic(obsSize, actionSpace, hiddenSizes, 'tanh', rng);
  const optimizer = tf.train.adam(3e-4, 0.9, 0.999, 1e-5);
  const width = actionWidth(policy.dist);
  const obs = new Float32Array(minibatchSize * obsSize).map(() => rng.normal());
  const actions = new Float32Array(minibatchSize * width);
  for (let i = 0; i < minibatchSize; i++) {
    if (policy.dist.kind === 'categorical') actions[i] = rng.integer(policy.dist.n);
    else if (policy.dist.kind === 'multi-categorical') policy.dist.nvec.forEach((n, k) => (actions[i * width + k] = rng.integer(n)));
    else for (let k = 0; k < width; k++) actions[i * width + k] = rng.normal();
  }
  const mb: MinibatchTensors = {
    obs: tf.tensor2d(obs, [minibatchSize, obsSize]),
    actions: tf.tensor2d(actions, [minibatchSize, width]),
    oldLogProbs: tf.tensor1d(new Float32Array(minibatchSize).map(() => -1 - rng.random())),
    advantages: tf.tensor1d(new Float32Array(minibatchSize).map(() => rng.normal())),
    returns: tf.tensor1d(new Float32Array(minibatchSize).map(() => rng.normal())),
    oldValues: tf.tensor1d(new Float32Array(minibatchSize).map(() => rng.normal())),
  };
  const update = async (): Promise<void> => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => ppoLoss(policy, mb, 0.2, null, 0.01, 0.5).loss, policy.variables);
      optimizer.applyGradients(clipByGlobalNorm(grads, 0.5).clipped as never);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  await update(); // warm-up
  const updStart = performance.now();
  for (let i = 0; i < updates; i++) await update();
  const updateSeconds = (performance.now() - updStart) / 1000 / updates;
  const macs = policy.actor.macsPerSample() + policy.critic.macsPerSample();
  const updateGflops = (3 * 2 * macs * minibatchSize) / updateSeconds / 1e9;
  Object.values(mb).forEach((t) => (t as tf.Tensor).dispose());
  policy.dispose();
  optimizer.dispose();

  const matmulSize = options.matmulSize ?? (backend.name === 'webgpu' ? 4096 : 1024);
  const matmulGflops = await timeMatmul(matmulSize);

  // --- end-to-end training throughput ----------------------------------------------------------------
  await probe.close();
  const e2e = await measureTraining({ env: options.env, seed, backend: backend.name as BackendPreference, ...(options.numEnvs !== undefined ? { numEnvs: options.numEnvs } : {}), ...(options.hiddenSizes ? { ppo: { hiddenSizes: options.hiddenSizes } } : {}) }, options.trainSteps);
  const agentStepsPerSec = e2e.agentStepsPerSec;
  const c = e2e.config;
  return {
    bench: 'train',
    env: options.env,
    backend: backend.name,
    hiddenSizes,
    minibatchSize,
    agentStepsPerSec,
    updateSamplesPerSec: minibatchSize / updateSeconds,
    updateMsPerMinibatch: updateSeconds * 1000,
    updateGflops,
    matmulGflops,
    matmulSize,
    efficiency: updateGflops / matmulGflops,
    e2e: { numEnvs: e2e.numEnvs, numSteps: c.numSteps, minibatchSize: c.minibatchSize, epochs: c.epochs, hiddenSizes: [...c.hiddenSizes], steps: e2e.steps, seconds: e2e.seconds },
    numTensorsAfter: tf.memory().numTensors,
  };
}

export interface TrainingThroughput {
  /** Agent steps per second of `train()` from the end of its first iteration to the end of its last. */
  agentStepsPerSec: number;
  /** The same steps over the rollouts' time alone (simulation and inference, without the updates). */
  rolloutStepsPerSec: number;
  /** Share of the measured time spent in PPO updates. */
  updateShare: number;
  numEnvs: number;
  steps: number;
  seconds: number;
  iterations: number;
  config: PpoConfig;
  /** Over sim workers: what the run saw of them. */
  workers?: WorkerStats;
}

/**
 * End-to-end training throughput: `train()` with these options (as `rewardlab train` runs it), timed
 * from the end of its first `warmupIterations` iterations (kernel compilation, JIT, connections; over
 * sim workers with `rollout: 'auto'` also the rollouts that time both modes) to the end of the
 * iteration that reaches `trainSteps` more steps (default: four more iterations, at least 16,384
 * steps); a throwaway run directory.
 */
export async function measureTraining(options: Omit<TrainOptions, 'steps' | 'out' | 'onStart' | 'onIteration' | 'signal'>, trainSteps?: number, warmupIterations = 1): Promise<TrainingThroughput> {
  const dir = await mkdtemp(join(tmpdir(), 'rewardlab-bench-train-'));
  let config: PpoConfig | null = null;
  let numEnvs = 0;
  const marks: { t: number; step: number; rollout: number; update: number }[] = [];
  const abort = new AbortController();
  let workers: WorkerStats | undefined;
  try {
    let perIteration = 0;
    const result = await train({
      ...options,
      out: dir,
      steps: Number.MAX_SAFE_INTEGER,
      onStart: (info) => {
        config = info.config;
        numEnvs = info.numEnvs;
      },
      onIteration: (m) => {
        if (m.iteration < warmupIterations) return;
        marks.push({ t: performance.now(), step: m.step, rollout: m.rolloutSeconds, update: m.updateSeconds });
        perIteration = perIteration || m.step;
        const wanted = trainSteps ?? Math.max(4 * perIteration, 16_384);
        if (m.step - marks[0]!.step >= wanted) abort.abort();
      },
      signal: abort.signal,
    });
    workers = result.workers;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const first = marks[0]!;
  const last = marks.at(-1)!;
  const seconds = (last.t - first.t) / 1000;
  const measured = marks.slice(1);
  const rolloutSeconds = measured.reduce((a, m) => a + m.rollout, 0);
  const updateSeconds = measured.reduce((a, m) => a + m.update, 0);
  return { agentStepsPerSec: (last.step - first.step) / seconds, rolloutStepsPerSec: (last.step - first.step) / rolloutSeconds, updateShare: updateSeconds / seconds, numEnvs, steps: last.step - first.step, seconds, iterations: marks.length - 1, config: config! as PpoConfig, ...(workers ? { workers } : {}) };
}

export interface WorkersBenchOptions {
  env: string;
  backend?: BackendPreference;
  /** Sim workers for the one-worker figure (e.g. the first of the cluster). */
  oneWorker: string[];
  /** Sim workers for the all-workers figure. */
  allWorkers: string[];
  /** Envs of the local baseline (set it to what one worker hosts). */
  numEnvs: number;
  /** Agent steps of each measurement, after five warm-up iterations (default 40,000). */
  trainSteps?: number;
  /** Measurements alternate local, one, all for this many rounds; medians are reported (default 2). */
  rounds?: number;
  /** Rollouts over the workers (default auto). */
  rollout?: RolloutMode;
  seed?: number;
  log?: (line: string) => void;
}

export interface WorkersBenchResult {
  bench: 'train-workers';
  env: string;
  backend: string;
  numEnvs: number;
  rounds: number;
  localStepsPerSec: number;
  oneWorkerStepsPerSec: number;
  allWorkersStepsPerSec: number;
  /** One worker against local training of the same number of envs. */
  oneWorkerRatio: number;
  /** All the workers against one. */
  allWorkersSpeedup: number;
  /** The rollouts alone (agent steps over rollout seconds): where more workers can help. */
  rollout: { localStepsPerSec: number; oneWorkerStepsPerSec: number; allWorkersStepsPerSec: number; oneWorkerRatio: number; allWorkersSpeedup: number };
  rolloutMode: RolloutMode;
  /** Share of the time in PPO updates (medians), which no number of workers shortens. */
  updateShare: { local: number; one: number; all: number };
  workers: number;
  samples: { local: number[]; one: number[]; all: number[] };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Training throughput over sim workers against local training, in one run: the env's preset trained
 * locally with `numEnvs` envs, over one worker, and over all of them (each hosting its own envs), with
 * the measurements alternated over rounds so that drift on a shared machine hits all three alike.
 */
export async function benchTrainWorkers(options: WorkersBenchOptions): Promise<WorkersBenchResult> {
  const backend = await selectBackend(options.backend ?? 'auto');
  const rounds = options.rounds ?? 2;
  const seed = options.seed ?? 0;
  const FIGURES = ['local', 'one', 'all'] as const;
  const series = () => ({ local: [] as number[], one: [] as number[], all: [] as number[] });
  const samples = series();
  const rollouts = series();
  const shares = series();
  let workers = 0;
  const common = { env: options.env, seed, backend: backend.name as BackendPreference };
  const overWorkers = options.rollout ? { rollout: options.rollout } : {};
  // Long enough that self-play's alternation of opponents (and so of update sizes) averages out.
  const trainSteps = options.trainSteps ?? 40_000;
  // With auto rollouts the first five iterations warm up and time both modes: every figure is taken
  // over the same iterations after them (self-play's mix of opponents differs from one to the next).
  const warmup = 5;
  for (let round = 0; round < rounds; round++) {
    const measured = {
      local: await measureTraining({ ...common, numEnvs: options.numEnvs }, trainSteps, warmup),
      one: await measureTraining({ ...common, workers: options.oneWorker, ...overWorkers }, trainSteps, warmup),
      all: await measureTraining({ ...common, workers: options.allWorkers, ...overWorkers }, trainSteps, warmup),
    };
    for (const k of FIGURES) {
      samples[k].push(measured[k].agentStepsPerSec);
      rollouts[k].push(measured[k].rolloutStepsPerSec);
      shares[k].push(measured[k].updateShare);
    }
    const { local, one, all } = measured;
    workers = all.workers?.parts ?? 0;
    options.log?.(`round ${round + 1}/${rounds}: local ${Math.round(local.agentStepsPerSec)} (${local.numEnvs} envs), one worker ${Math.round(one.agentStepsPerSec)} (${one.numEnvs} envs), ${workers} workers ${Math.round(all.agentStepsPerSec)} (${all.numEnvs} envs) agent steps/s`);
  }
  const localStepsPerSec = median(samples.local);
  const oneWorkerStepsPerSec = median(samples.one);
  const allWorkersStepsPerSec = median(samples.all);
  return {
    bench: 'train-workers',
    env: options.env,
    backend: backend.name,
    numEnvs: options.numEnvs,
    rounds,
    localStepsPerSec,
    oneWorkerStepsPerSec,
    allWorkersStepsPerSec,
    oneWorkerRatio: oneWorkerStepsPerSec / localStepsPerSec,
    allWorkersSpeedup: allWorkersStepsPerSec / oneWorkerStepsPerSec,
    rollout: {
      localStepsPerSec: median(rollouts.local),
      oneWorkerStepsPerSec: median(rollouts.one),
      allWorkersStepsPerSec: median(rollouts.all),
      oneWorkerRatio: median(rollouts.one) / median(rollouts.local),
      allWorkersSpeedup: median(rollouts.all) / median(rollouts.one),
    },
    updateShare: { local: median(shares.local), one: median(shares.one), all: median(shares.all) },
    rolloutMode: options.rollout ?? 'auto',
    workers,
    samples,
  };
}
