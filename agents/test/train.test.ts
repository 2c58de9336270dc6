import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { box, discrete, registerEnv, Rng, BaseEnv, VecEnv, makeEnv, type ResetParams, type StepResult } from '@rewardlab/sim';
import {
  ActorCritic,
  BackendError,
  CheckpointError,
  ConfigError,
  loadPolicyWeights,
  parsePpoConfig,
  PpoTrainer,
  readPolicyFile,
  savePolicy,
  selectBackend,
  train,
  TrainingDivergedError,
  type IterationMetrics,
} from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'rl-agents-'));

/** Pays NaN from the 40th step on: a reward bug the trainer must stop on, naming the step. */
class NaNRewardEnv extends BaseEnv<number> {
  readonly id = 'NaNReward-test';
  readonly observationSpace = box([2], -10, 10);
  readonly actionSpace = discrete(2);
  private t = 0;
  private total = 0;
  reset(params?: ResetParams) {
    this.beginReset(params);
    this.t = 0;
    return { obs: Float32Array.of(this.random.uniform(-1, 1), 0), info: {} };
  }
  step(action: number): StepResult {
    this.checkAction(action);
    this.t += 1;
    this.total += 1;
    return { obs: Float32Array.of(action, this.t / 10), reward: this.total > 40 ? NaN : 1, terminated: this.t >= 10, truncated: false, info: {} };
  }
}

beforeAll(async () => {
  registerEnv('NaNReward-test', () => new NaNRewardEnv());
  await selectBackend('wasm');
});

describe('backend selection', () => {
  it('auto falls back past tensorflow (not installed) and webgpu (no adapter here) to wasm, saying why', async () => {
    const selected = await selectBackend('auto', { webgpu: async () => { throw new BackendError('Dawn found no usable WebGPU adapter'); } });
    expect(selected.name).toBe('wasm');
    expect(selected.attempts.map((a) => a.backend)).toEqual(['tensorflow', 'webgpu', 'wasm']);
    expect(selected.attempts[0]!.reason).toMatch(/tfjs-node(-gpu)? is not installed/);
    expect(selected.attempts[1]!.reason).toBe('Dawn found no usable WebGPU adapter');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('the real WebGPU probe on this CPU-only machine reports no adapter, and auto still ends on wasm', async () => {
    await expect(selectBackend('webgpu')).rejects.toThrow(/the webgpu backend cannot start: .*(adapter|webgpu)/i);
    const auto = await selectBackend('auto');
    expect(auto.name).toBe('wasm');
    expect(auto.attempts[1]!.backend).toBe('webgpu');
    expect(auto.attempts[1]!.ok).toBe(false);
  });

  it('a forced backend is used, and an unknown one is refused', async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await expect(selectBackend('cuda' as never)).rejects.toThrow('unknown backend "cuda" (expected auto, tensorflow, webgpu, wasm, cpu)');
    await selectBackend('wasm');
  });
});

describe('hyperparameters and bad input', () => {
  it('rejects out-of-range hyperparameters naming the field', () => {
    expect(() => parsePpoConfig({ learningRate: -1 })).toThrow(/learningRate/);
    expect(() => parsePpoConfig({ gamma: 1.5 })).toThrow(/gamma/);
    expect(() => parsePpoConfig({ bogus: 1 })).toThrow(ConfigError);
  });

  it('rejects a minibatch larger than the rollout, an unknown algorithm and an unknown env', async () => {
    await expect(train({ env: 'CartPole-v1', steps: 64, numEnvs: 1, ppo: { numSteps: 16, minibatchSize: 64 }, out: join(tmp, 'bad'), usePreset: false })).rejects.toThrow('minibatchSize 64 is larger than the rollout (16 steps × 1 slots = 16 samples)');
    await expect(train({ env: 'CartPole-v1', algo: 'dqn' })).rejects.toThrow('unknown algorithm "dqn" (available: ppo)');
    await expect(train({ env: 'CartPoel-v1', out: join(tmp, 'bad2') })).rejects.toThrow(/unknown env id "CartPoel-v1"/);
  });

  it('stops on a NaN reward naming the step and the quantity, keeping the last good checkpoint', async () => {
    const out = join(tmp, 'nan');
    let err: unknown;
    try {
      await train({ env: 'NaNReward-test', steps: 200, numEnvs: 1, ppo: { numSteps: 16, minibatchSize: 16, epochs: 1 }, checkpointEvery: 1, out, seed: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingDivergedError);
    // steps 1–40 pay 1: iteration 3 (steps 33–48) meets the first NaN.
    expect((err as TrainingDivergedError).step).toBe(48);
    expect((err as Error).message).toMatch(/training diverged at step 48: .* is not finite \(the last good checkpoint is .*step-32\)/);
    expect(existsSync(join(out, 'checkpoints', 'step-32', 'policy.json'))).toBe(true);
  });
});

describe('checkpoints', () => {
  it('a saved policy loads into a fresh one with identical outputs and metadata', async () => {
    const rng = new Rng(4);
    const policy = new ActorCritic(3, box([1], -2, 2), [16, 16], 'tanh', rng, -0.5);
    const dir = join(tmp, 'policy-a');
    await savePolicy(dir, policy, { algo: 'ppo', envId: 'Pendulum-v1', observationSpace: box([3], -8, 8), actionSpace: box([1], -2, 2), numAgents: 1, obsNormalization: { mean: [0, 0, 0], var: [1, 1, 1], count: 5, clip: 10 }, step: 123, backend: 'wasm' });
    const meta = await readPolicyFile(dir);
    expect(meta).toMatchObject({ envId: 'Pendulum-v1', step: 123, hiddenSizes: [16, 16], logStd: [-0.5] });
    const fresh = new ActorCritic(3, box([1], -2, 2), [16, 16], 'tanh', new Rng(99), 0);
    await loadPolicyWeights(dir, fresh, meta);
    const obs = Float32Array.of(0.1, -0.4, 2.5, 1, 0, -1);
    const a = await policy.act(obs, 2);
    const b = await fresh.act(obs, 2);
    expect(Array.from(b.head)).toEqual(Array.from(a.head));
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
    expect(Array.from((await fresh.logStdValues())!)).toEqual([-0.5]);
    // the saved model.json is a standard tfjs layers model with both heads
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.modelTopology.config.output_layers.map((o: unknown[]) => o[0])).toEqual(['actor_dense_2', 'critic_dense_2']);
    policy.dispose();
    fresh.dispose();
  });

  it('refuses corrupt and mismatched checkpoints with clear errors', async () => {
    const policy = new ActorCritic(4, discrete(2), [8], 'tanh', new Rng(1));
    const dir = join(tmp, 'policy-b');
    await savePolicy(dir, policy, { algo: 'ppo', envId: 'CartPole-v1', observationSpace: box([4], -5, 5), actionSpace: discrete(2), numAgents: 1, obsNormalization: null, step: 0, backend: 'wasm' });
    const weights = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'weights.bin'), weights.subarray(0, weights.length - 8));
    await expect(loadPolicyWeights(dir, policy)).rejects.toThrow(/weights\.bin .* has \d+ bytes, model\.json describes \d+: the checkpoint is corrupt or truncated/);
    writeFileSync(join(dir, 'policy.json'), '{"format": "rewardlab-policy", ');
    await expect(readPolicyFile(dir)).rejects.toThrow(CheckpointError);
    await expect(readPolicyFile(join(tmp, 'nowhere'))).rejects.toThrow(/policy\.json is missing/);
    const wider = new ActorCritic(4, discrete(2), [16], 'tanh', new Rng(1));
    await savePolicy(dir, policy, { algo: 'ppo', envId: 'CartPole-v1', observationSpace: box([4], -5, 5), actionSpace: discrete(2), numAgents: 1, obsNormalization: null, step: 0, backend: 'wasm' });
    await expect(loadPolicyWeights(dir, wider)).rejects.toThrow(/has shape \[4,8\] in the checkpoint, \[4,16\] in this policy/);
    await expect(train({ env: 'Pendulum-v1', resume: dir, steps: 10, out: join(tmp, 'other') })).rejects.toThrow(`the checkpoint ${dir} was trained on CartPole-v1, not Pendulum-v1`);
    policy.dispose();
    wider.dispose();
  });

  it('resuming from a checkpoint gives the same subsequent metrics as the uninterrupted run', async () => {
    const common = { env: 'Pendulum-v1', steps: 6 * 64 * 2, numEnvs: 2, seed: 7, ppo: { numSteps: 64, minibatchSize: 32, epochs: 2, hiddenSizes: [16, 16], normalizeObservation: true, annealLr: true }, usePreset: false, reward: { components: { native: { term: 'native' } }, transforms: [{ type: 'normalize' }] } };
    const full: IterationMetrics[] = [];
    await train({ ...common, out: join(tmp, 'full'), checkpointEvery: 3, onIteration: (m) => full.push(m) });
    const resumed: IterationMetrics[] = [];
    const result = await train({ ...common, out: join(tmp, 'resumed'), resume: join(tmp, 'full', 'checkpoints', `step-${3 * 64 * 2}`), onIteration: (m) => resumed.push(m) });
    expect(resumed.map((m) => m.iteration)).toEqual([4, 5, 6]);
    const pick = (m: IterationMetrics) => [m.step, m.meanReturn, m.policyLoss, m.valueLoss, m.entropy, m.approxKl, m.learningRate];
    expect(resumed.map(pick)).toEqual(full.slice(3).map(pick));
    expect(result.curve.length).toBe(full.filter((m) => m.meanReturn !== null).length);
    // The run directory logs each iteration's metrics as one JSON line.
    const logged = (dir: string) => readFileSync(join(tmp, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as IterationMetrics);
    expect(logged('full').map(pick)).toEqual(full.map(pick));
    expect(logged('resumed').map((m) => m.iteration)).toEqual([4, 5, 6]);
  });
});

describe('memory', () => {
  it('keeps the tensor count flat across 20 iterations', async () => {
    const vec = await VecEnv.make('CartPole-v1', 2, { autoreset: 'same-step' });
    const trainer = new PpoTrainer(vec, { config: parsePpoConfig({ numSteps: 16, minibatchSize: 16, epochs: 2, hiddenSizes: [8] }), seed: 0, totalSteps: 1000 });
    await trainer.iterate();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await trainer.iterate();
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    await vec.close();
  });
});

afterAll(async () => {
  void makeEnv;
});
