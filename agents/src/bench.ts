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
import { train } from './train';

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
  // `train()` itself, as `rewardlab train --env ID` runs it, timed from the end of its first iteration
  // (kernel compilation, JIT) to the end of its last; a throwaway run directory.
  await probe.close();
  const dir = await mkdtemp(join(tmpdir(), 'rewardlab-bench-train-'));
  let config: PpoConfig | null = null;
  let numEnvs = 0;
  const marks: { t: number; step: number }[] = [];
  const abort = new AbortController();
  try {
    let perIteration = 0;
    await train({
      env: options.env,
      seed,
      backend: backend.name as BackendPreference,
      out: dir,
      ...(options.numEnvs !== undefined ? { numEnvs: options.numEnvs } : {}),
      ...(options.hiddenSizes ? { ppo: { hiddenSizes: options.hiddenSizes } } : {}),
      // Enough for the warm-up iteration and `trainSteps` more (default: four more iterations, at least 16,384 steps).
      steps: Number.MAX_SAFE_INTEGER,
      onStart: (info) => {
        config = info.config;
        numEnvs = info.numEnvs;
      },
      onIteration: (m) => {
        marks.push({ t: performance.now(), step: m.step });
        perIteration = perIteration || m.step;
        const wanted = options.trainSteps ?? Math.max(4 * perIteration, 16_384);
        if (m.step - marks[0]!.step >= wanted) abort.abort();
      },
      signal: abort.signal,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const first = marks[0]!;
  const last = marks.at(-1)!;
  const agentStepsPerSec = (last.step - first.step) / ((last.t - first.t) / 1000);
  const c = config! as PpoConfig;
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
    e2e: { numEnvs, numSteps: c.numSteps, minibatchSize: c.minibatchSize, epochs: c.epochs, hiddenSizes: [...c.hiddenSizes], steps: last.step - first.step, seconds: (last.t - first.t) / 1000 },
    numTensorsAfter: tf.memory().numTensors,
  };
}
